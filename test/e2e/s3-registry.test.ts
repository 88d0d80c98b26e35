import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/storage/s3/s3-client.ts';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { ContainersSandbox } from '../helpers/containers.ts';
import { alpineLayout, alpineManifestDigest } from '../helpers/fixtures.ts';
import { RegistryClient, sha256 } from '../helpers/http.ts';
import { layoutTagDigest, readLayoutBlob } from '../helpers/oci-layout.ts';
import { createTestBucket, type S3Endpoint, testS3 } from '../helpers/s3.ts';
import { missingTools } from '../helpers/tools.ts';

const s3 = await testS3();
const skip = typeof s3 === 'string' ? s3 : missingTools('skopeo');
const endpoint = s3 as S3Endpoint;
const alpine = alpineLayout();
const mib = 1024 * 1024;

function s3Flags(bucket: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'storage.driver': 's3',
    'storage.s3.endpoint': endpoint.endpoint,
    'storage.s3.region': endpoint.region,
    'storage.s3.bucket': bucket,
    'storage.s3.prefix': 'registry',
    'storage.s3.forcePathStyle': true,
    'storage.s3.accessKeyId': endpoint.accessKeyId,
    'storage.s3.secretAccessKey': endpoint.secretAccessKey,
    ...extra,
  };
}

/** Pushes `bytes` in PATCH chunks of `chunk` bytes and a closing PUT; returns seconds taken. */
async function pushChunked(registry: RegistryClient, repository: string, bytes: Buffer, chunk: number) {
  const digest = sha256(bytes);
  const started = performance.now();
  const start = await registry.request('POST', `/v2/${repository}/blobs/uploads/`);
  assert.equal(start.status, 202);
  let location = start.header('location')!;
  for (let at = 0; at < bytes.length; at += chunk) {
    const piece = bytes.subarray(at, at + chunk);
    const patched = await registry.request('PATCH', location, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': piece.length,
        'content-range': `${at}-${at + piece.length - 1}`,
      },
      body: piece,
    });
    assert.equal(patched.status, 202, patched.body.toString());
    location = patched.header('location')!;
  }
  const separator = location.includes('?') ? '&' : '?';
  const done = await registry.request('PUT', `${location}${separator}digest=${digest}`);
  assert.equal(done.status, 201, done.body.toString());
  return { digest, seconds: (performance.now() - started) / 1000 };
}

async function timedPull(registry: RegistryClient, repository: string, digest: string) {
  const started = performance.now();
  const pulled = await registry.request('GET', `/v2/${repository}/blobs/${digest}`);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(pulled.status, 200);
  assert.equal(sha256(pulled.body), digest);
  return seconds;
}

describe('Berth with storage.driver s3 on Ceph RGW', { skip }, () => {
  let bucket: string;
  let berth: TestBerth;
  let work: string;
  let box: ContainersSandbox;
  const client = () => createS3Client({ ...endpoint, forcePathStyle: true });

  before(async () => {
    bucket = await createTestBucket(endpoint, 'registry');
    berth = await startTestBerth(s3Flags(bucket));
    work = await makeTempDir('berth-s3-e2e-');
    box = await ContainersSandbox.create(join(work, 'containers'));
  });
  after(async () => {
    await berth?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('takes the real alpine image from skopeo and gives it back byte-identical, blobs in the bucket', async () => {
    const pushed = await box.pushTo(`oci:${alpine}:v2`, berth.url, 'library/alpine:3.17.2', testAdmin);
    assert.equal(pushed, alpineManifestDigest);
    const out = join(work, 'alpine-out');
    await box.skopeo(
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      `${testAdmin.username}:${testAdmin.password}`,
      `docker://${new URL(berth.url).host}/library/alpine:3.17.2`,
      `oci:${out}:copy`,
    );
    assert.equal(await layoutTagDigest(out, 'copy'), alpineManifestDigest);
    const s3Client = client();
    try {
      for (const hex of await readdir(join(alpine, 'blobs', 'sha256'))) {
        const original = await readFile(join(alpine, 'blobs', 'sha256', hex));
        assert.deepEqual(await readLayoutBlob(out, `sha256:${hex}`), original, hex);
        const head = await s3Client.send(
          new HeadObjectCommand({ Bucket: bucket, Key: `registry/blobs/sha256/${hex.slice(0, 2)}/${hex}` }),
        );
        assert.equal(head.ContentLength, original.length);
      }
    } finally {
      s3Client.destroy();
    }
  });

  it('pushes 100 MiB in chunks onto a multipart object and serves it whole and by range; S3 vs filesystem', async () => {
    const bytes = randomBytes(100 * mib);
    const registry = new RegistryClient(berth.url);
    const probe = await registry.request('POST', '/v2/library/big/blobs/uploads/');
    assert.equal(probe.header('oci-chunk-min-length'), String(8 * mib), 'whole parts, as clients are told');
    const onS3 = await pushChunked(registry, 'library/big', bytes, 10 * mib);
    const s3Pull = await timedPull(registry, 'library/big', onS3.digest);
    const ranged = await registry.request('GET', `/v2/library/big/blobs/${onS3.digest}`, {
      headers: { range: `bytes=${50 * mib}-${50 * mib + 99}` },
    });
    assert.equal(ranged.status, 206);
    assert.deepEqual(ranged.body, bytes.subarray(50 * mib, 50 * mib + 100));

    const filesystem = await startTestBerth();
    try {
      const fsRegistry = new RegistryClient(filesystem.url);
      const onFs = await pushChunked(fsRegistry, 'library/big', bytes, 10 * mib);
      const fsPull = await timedPull(fsRegistry, 'library/big', onFs.digest);
      const rate = (seconds: number) => `${(100 / seconds).toFixed(0)} MiB/s`;
      process.stderr.write(
        `100 MiB blob, 10 MiB chunks: push S3 ${rate(onS3.seconds)} vs filesystem ${rate(onFs.seconds)}; ` +
          `pull S3 ${rate(s3Pull)} vs filesystem ${rate(fsPull)}\n`,
      );
    } finally {
      await filesystem.destroy();
    }
  });

  it('redirects blob GETs to presigned S3 URLs when configured, and skopeo follows them', async () => {
    const redirecting = await startTestBerth(
      s3Flags(bucket, { 'storage.s3.prefix': 'redirect', 'storage.s3.presignedRedirect': true }),
    );
    try {
      const registry = new RegistryClient(redirecting.url);
      const bytes = randomBytes(2 * mib);
      const digest = await registry.pushBlob('library/direct', bytes);
      const answer = await registry.request('GET', `/v2/library/direct/blobs/${digest}`);
      assert.equal(answer.status, 307);
      const location = answer.header('location')!;
      assert.ok(location.startsWith(`${endpoint.endpoint}/${bucket}/redirect/blobs/sha256/`), location);
      assert.equal(answer.header('cache-control'), 'no-store');
      const fetched = await fetch(location, { headers: { range: 'bytes=0-1023' } });
      assert.equal(fetched.status, 206);
      assert.deepEqual(Buffer.from(await fetched.arrayBuffer()), bytes.subarray(0, 1024));

      const unknown = await registry.request('GET', `/v2/library/direct/blobs/${sha256('absent')}`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.errorCode(), 'BLOB_UNKNOWN');
      const elsewhere = await registry.request('GET', `/v2/library/other/blobs/${digest}`);
      assert.equal(elsewhere.status, 404, 'a blob of another repository is not redirected to');

      await box.pushTo(`oci:${alpine}:v2`, redirecting.url, 'library/alpine:3.17.2', testAdmin);
      const out = join(work, 'alpine-redirected');
      await box.skopeo(
        'copy',
        '--src-tls-verify=false',
        '--src-creds',
        `${testAdmin.username}:${testAdmin.password}`,
        `docker://${new URL(redirecting.url).host}/library/alpine:3.17.2`,
        `oci:${out}:copy`,
      );
      assert.equal(await layoutTagDigest(out, 'copy'), alpineManifestDigest);
    } finally {
      await redirecting.destroy();
    }
  });
});
