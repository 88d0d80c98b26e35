import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { makeTempDir, testAdmin } from '../helpers/berth.ts';
import { ContainersSandbox } from '../helpers/containers.ts';
import { alpineLayout, alpineManifestDigest } from '../helpers/fixtures.ts';
import { basicAuth, RegistryClient, send, sha256 } from '../helpers/http.ts';
import { tarOf } from '../helpers/layer-tars.ts';
import { layoutTagDigest, readLayoutBlob } from '../helpers/oci-layout.ts';
import {
  createTestPostgresDatabase,
  postgresUnavailable,
  type TestPostgresDatabase,
} from '../helpers/postgres.ts';
import { type BerthProcess, spawnBerth } from '../helpers/process.ts';
import { createTestBucket, type S3Endpoint, testS3 } from '../helpers/s3.ts';
import { inCi, missingTools } from '../helpers/tools.ts';

/**
 * Three Berth processes on different ports over one PostgreSQL database and one S3 bucket (the
 * test run's Ceph RGW), sharing one secret key file: what a load balancer in front of a
 * scaled-out installation sees. Node 1 serves HTTP only (role api); nodes 2 and 3 do both, so
 * every background job runs on them.
 */
const s3 = await testS3();
const postgresMissing = await postgresUnavailable();
const skopeoMissing = missingTools('skopeo');
if (skopeoMissing && inCi) throw new Error(`${skopeoMissing}; CI=true forbids skipping`);
const skip = typeof s3 === 'string' ? s3 : postgresMissing || skopeoMissing;

const MiB = 1024 * 1024;

/** Deterministic bytes (a SHA-256 counter stream), so a blob can be produced twice without holding it. */
function* pseudoRandom(seed: string, totalBytes: number, chunkBytes = MiB): Generator<Buffer> {
  let counter = 0;
  for (let done = 0; done < totalBytes; done += chunkBytes) {
    const length = Math.min(chunkBytes, totalBytes - done);
    const chunk = Buffer.alloc(length);
    for (let offset = 0; offset < length; offset += 32) {
      createHash('sha256').update(`${seed}:${counter++}`).digest().copy(chunk, offset);
    }
    yield chunk;
  }
}

function digestOf(seed: string, totalBytes: number): string {
  const hash = createHash('sha256');
  for (const chunk of pseudoRandom(seed, totalBytes)) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

/** The path and query of an upload Location, relative or absolute. */
function uploadPath(location: string, base: string): string {
  const url = new URL(location, base);
  return `${url.pathname}${url.search}`;
}

function withDigest(path: string, digest: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}digest=${digest}`;
}

describe('three Berth nodes over one PostgreSQL and one S3 bucket', { skip }, () => {
  const endpoint = s3 as S3Endpoint;
  let work: string;
  let database: TestPostgresDatabase;
  let bucket: string;
  let nodeEnv: (role: string, overrides?: Record<string, string>) => Record<string, string>;
  const nodes: BerthProcess[] = [];
  const extra: BerthProcess[] = [];
  let box: ContainersSandbox;

  before(async () => {
    work = await makeTempDir('berth-multi-node-');
    database = await createTestPostgresDatabase();
    bucket = await createTestBucket(endpoint, 'multi-node');
    const secretKeyFile = join(work, 'secret.key');
    nodeEnv = (role, overrides = {}) => ({
      BERTH_NODE_ROLE: role,
      BERTH_DATABASE_URL: database.url,
      BERTH_AUTH_SECRET_KEY_FILE: secretKeyFile,
      BERTH_STORAGE_DRIVER: 's3',
      BERTH_STORAGE_S3_ENDPOINT: endpoint.endpoint,
      BERTH_STORAGE_S3_REGION: endpoint.region,
      BERTH_STORAGE_S3_BUCKET: bucket,
      BERTH_STORAGE_S3_FORCE_PATH_STYLE: 'true',
      BERTH_STORAGE_S3_ACCESS_KEY_ID: endpoint.accessKeyId,
      BERTH_STORAGE_S3_SECRET_ACCESS_KEY: endpoint.secretAccessKey,
      BERTH_JOBS_POLL_INTERVAL_MS: '100',
      BERTH_JOBS_WORKERS: '4',
      ...overrides,
    });
    const started = performance.now();
    // The first node creates the shared secret key file and migrates; the others then start together.
    nodes.push(await spawnBerth(join(work, 'node1'), { env: nodeEnv('api') }));
    nodes.push(
      ...(await Promise.all([
        spawnBerth(join(work, 'node2'), { env: nodeEnv('all') }),
        spawnBerth(join(work, 'node3'), { env: nodeEnv('all') }),
      ])),
    );
    if (process.env.TEST_LOG === '1')
      process.stderr.write(`three nodes ready in ${Math.round(performance.now() - started)} ms\n`);
    box = await ContainersSandbox.create(join(work, 'containers'));
  });

  after(async () => {
    await Promise.all([...nodes, ...extra].map((node) => node.stop()));
    await database?.drop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('answers /readyz on every node, without credentials', async () => {
    for (const node of nodes) {
      const response = await send(node.url, 'GET', '/readyz');
      assert.equal(response.status, 200, response.body.toString());
      assert.deepEqual(response.json(), { status: 'ready' });
      assert.equal((await send(node.url, 'GET', '/healthz')).status, 200);
    }
  });

  it('pulls through node 2 exactly what skopeo pushed through node 1', async () => {
    const alpine = alpineLayout();
    const pushed = await box.pushTo(`oci:${alpine}:v2`, nodes[0]!.url, 'library/alpine:3.17.2', testAdmin);
    assert.equal(pushed, alpineManifestDigest);
    const out = join(work, 'alpine-out');
    await box.skopeo(
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      `${testAdmin.username}:${testAdmin.password}`,
      `docker://${new URL(nodes[1]!.url).host}/library/alpine:3.17.2`,
      `oci:${out}:copy`,
    );
    assert.equal(await layoutTagDigest(out, 'copy'), alpineManifestDigest);
    for (const blob of await readdir(join(alpine, 'blobs', 'sha256'))) {
      assert.deepEqual(
        await readLayoutBlob(out, `sha256:${blob}`),
        await readLayoutBlob(alpine, `sha256:${blob}`),
      );
    }
  });

  it('accepts on node 2 a token node 1 issued', async () => {
    const issued = await send(
      nodes[0]!.url,
      'GET',
      '/service/token?service=berth&scope=repository:library/alpine:pull',
      { headers: { authorization: basicAuth(testAdmin) } },
    );
    assert.equal(issued.status, 200, issued.body.toString());
    const { token } = issued.json<{ token: string }>();
    const manifest = await send(nodes[1]!.url, 'GET', '/v2/library/alpine/manifests/3.17.2', {
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json',
      },
    });
    assert.equal(manifest.status, 200, manifest.body.toString());
    assert.equal(manifest.header('docker-content-digest'), alpineManifestDigest);
    const refused = await send(nodes[1]!.url, 'GET', '/v2/library/alpine/manifests/3.17.2', {
      headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` },
    });
    assert.equal(refused.status, 401);
  });

  it('finishes on node 3 a chunked upload started on node 1', async () => {
    const chunks = [...pseudoRandom('chunked', 17 * MiB, 8 * MiB)];
    const whole = Buffer.concat(chunks);
    const digest = sha256(whole);
    const one = new RegistryClient(nodes[0]!.url);
    const three = new RegistryClient(nodes[2]!.url);
    const started = await one.request('POST', '/v2/team/chunked/blobs/uploads/');
    assert.equal(started.status, 202);
    let path = uploadPath(started.header('location')!, nodes[0]!.url);
    let offset = 0;
    for (const [client, chunk] of [
      [one, chunks[0]!],
      [three, chunks[1]!],
    ] as const) {
      const patched = await client.request('PATCH', path, {
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': chunk.length,
          'content-range': `${offset}-${offset + chunk.length - 1}`,
        },
        body: chunk,
      });
      assert.equal(patched.status, 202, patched.body.toString());
      offset += chunk.length;
      assert.equal(patched.header('range'), `0-${offset - 1}`);
      path = uploadPath(patched.header('location')!, client.base);
    }
    const last = chunks[2]!;
    const done = await three.request('PUT', withDigest(path, digest), {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': last.length,
        'content-range': `${offset}-${offset + last.length - 1}`,
      },
      body: last,
    });
    assert.equal(done.status, 201, done.body.toString());
    assert.equal(done.header('docker-content-digest'), digest);
    const fetched = await new RegistryClient(nodes[1]!.url).request(
      'GET',
      `/v2/team/chunked/blobs/${digest}`,
    );
    assert.equal(fetched.status, 200);
    assert.equal(sha256(fetched.body), digest);
  });

  it('runs 100 scan jobs requested through node 1 (role api) exactly once each', async () => {
    const client = new RegistryClient(nodes[0]!.url);
    const layer = gzipSync(await tarOf([{ name: 'etc/motd', content: 'multi-node scan test\n' }]));
    const digests: string[] = [];
    for (let index = 0; index < 100; index++) {
      digests.push((await client.pushImage('scans/many', `v${index}`, { layers: [layer] })).digest);
    }
    const requested = performance.now();
    for (const digest of digests) {
      const response = await send(
        nodes[0]!.url,
        'POST',
        `/api/v2.0/projects/scans/repositories/many/artifacts/${digest}/scan`,
        { headers: { authorization: basicAuth(testAdmin) } },
      );
      assert.equal(response.status, 202, response.body.toString());
    }
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      let rows: { status: string; attempts: number; payload: string }[] = [];
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        ({ rows } = await db.query("select status, attempts, payload from jobs where type = 'scan'"));
        if (rows.length >= 100 && rows.every((row) => row.status === 'succeeded' || row.status === 'error'))
          break;
        await sleep(200);
      }
      if (process.env.TEST_LOG === '1')
        process.stderr.write(`100 scans done in ${Math.round(performance.now() - requested)} ms\n`);
      const ours = rows.filter((row) => digests.some((digest) => row.payload.includes(digest)));
      assert.equal(ours.length, 100, 'one job per requested scan');
      assert.deepEqual(
        ours.filter((row) => row.status !== 'succeeded' || row.attempts !== 1),
        [],
        'every job succeeded on its first and only attempt',
      );
      const reports = await db.query(
        "select count(*)::int as n from scan_reports where status = 'Success' and digest = any($1)",
        [digests],
      );
      assert.equal(reports.rows[0].n, 100);
    } finally {
      await db.end();
    }
  });

  it('serves only health on a worker node, and /readyz says 503 and why when the store refuses', async () => {
    const worker = await spawnBerth(join(work, 'node4'), { env: nodeEnv('worker') });
    extra.push(worker);
    assert.equal((await send(worker.url, 'GET', '/readyz')).status, 200);
    assert.equal((await send(worker.url, 'GET', '/healthz')).status, 200);
    assert.equal(
      (await send(worker.url, 'GET', '/v2/', { headers: { authorization: basicAuth(testAdmin) } })).status,
      404,
    );
    assert.equal((await send(worker.url, 'GET', '/api/v2.0/health')).status, 404);

    const broken = await spawnBerth(join(work, 'node5'), {
      env: nodeEnv('api', { BERTH_STORAGE_S3_SECRET_ACCESS_KEY: 'not-the-secret' }),
    });
    extra.push(broken);
    const refused = await send(broken.url, 'GET', '/readyz');
    assert.equal(refused.status, 503);
    const body = refused.json<{ status: string; reason: string }>();
    assert.equal(body.status, 'not ready');
    assert.match(body.reason, /^blob store: /);
    assert.doesNotMatch(refused.body.toString(), /not-the-secret/);
  });

  it('loses no committed data when node 1 dies mid-push, and the retry on node 2 succeeds', async () => {
    const size = 64 * MiB;
    const digest = digestOf('killed', size);
    const one = new RegistryClient(nodes[0]!.url);
    const started = await one.request('POST', '/v2/team/big/blobs/uploads/');
    assert.equal(started.status, 202);
    const path = uploadPath(started.header('location')!, nodes[0]!.url);
    async function* dying(): AsyncGenerator<Buffer> {
      let sent = 0;
      for (const chunk of pseudoRandom('killed', size)) {
        if (sent === 24 * MiB) await nodes[0]!.kill();
        yield chunk;
        sent += chunk.length;
      }
    }
    const interrupted = await one
      .request('PUT', withDigest(path, digest), {
        headers: { 'content-type': 'application/octet-stream', 'content-length': size },
        body: dying(),
      })
      .then(
        (response) => `status ${response.status}`,
        (error: Error) => error.message,
      );
    assert.notEqual(interrupted, 'status 201');
    // The connection drops before the process's exit is reported: wait for that too.
    await nodes[0]!.kill();
    assert.equal(nodes[0]!.child.signalCode, 'SIGKILL');

    const two = new RegistryClient(nodes[1]!.url);
    assert.equal((await two.request('HEAD', `/v2/team/big/blobs/${digest}`)).status, 404);
    // Everything committed before the kill is intact.
    const manifest = await two.request('GET', '/v2/library/alpine/manifests/3.17.2', {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(manifest.status, 200);
    assert.equal(sha256(manifest.body), alpineManifestDigest);
    const image = manifest.json<{ config: { digest: string }; layers: { digest: string }[] }>();
    for (const { digest: blob } of [image.config, ...image.layers]) {
      const fetched = await two.request('GET', `/v2/library/alpine/blobs/${blob}`);
      assert.equal(fetched.status, 200);
      assert.equal(sha256(fetched.body), blob);
    }

    const retried = await two.request('POST', '/v2/team/big/blobs/uploads/');
    assert.equal(retried.status, 202);
    const done = await two.request(
      'PUT',
      withDigest(uploadPath(retried.header('location')!, nodes[1]!.url), digest),
      {
        headers: { 'content-type': 'application/octet-stream', 'content-length': size },
        body: (async function* () {
          yield* pseudoRandom('killed', size);
        })(),
      },
    );
    assert.equal(done.status, 201, done.body.toString());
    const head = await new RegistryClient(nodes[2]!.url).request('HEAD', `/v2/team/big/blobs/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.header('content-length'), String(size));
  });
});
