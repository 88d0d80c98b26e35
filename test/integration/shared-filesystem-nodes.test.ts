import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { basicAuth, RegistryClient, sha256 } from '../helpers/http.ts';
import {
  createTestPostgresDatabase,
  postgresUnavailable,
  type TestPostgresDatabase,
} from '../helpers/postgres.ts';

/**
 * Two Berth nodes in this process on one PostgreSQL database and ONE filesystem blob directory
 * (as on NFS): upload sessions are rows in the database and bytes in the shared uploads/
 * directory, so a chunked push may move between nodes; commits are atomic renames, so nodes
 * committing the same blob at once cannot leave a torn file.
 */

const octets = { 'content-type': 'application/octet-stream' };

async function within(ms: number, probe: () => Promise<boolean>): Promise<void> {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > ms) assert.fail(`not true within ${ms} ms`);
    await sleep(25);
  }
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 512 * 1024 })) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

describe('nodes sharing one filesystem blob directory', { skip: await postgresUnavailable() }, () => {
  let database: TestPostgresDatabase;
  let sharedDir: string;
  let storageRoot: string;
  let nodeA: TestBerth;
  let nodeB: TestBerth;
  let onA: RegistryClient;
  let onB: RegistryClient;

  const blobPath = (digest: string) => {
    const hex = digest.slice('sha256:'.length);
    return join(storageRoot, 'blobs', 'sha256', hex.slice(0, 2), hex);
  };
  const uploadFiles = async () => readdir(join(storageRoot, 'uploads'));

  async function startUpload(client: RegistryClient, repository: string): Promise<string> {
    const response = await client.request('POST', `/v2/${repository}/blobs/uploads/`);
    assert.equal(response.status, 202, response.body.toString());
    return response.header('location')!;
  }

  function patch(client: RegistryClient, location: string, chunk: Buffer, start: number) {
    return client.request('PATCH', location, {
      headers: {
        ...octets,
        'content-length': chunk.length,
        'content-range': `${start}-${start + chunk.length - 1}`,
      },
      body: chunk,
    });
  }

  before(async () => {
    database = await createTestPostgresDatabase();
    sharedDir = await makeTempDir('berth-shared-fs-');
    storageRoot = join(sharedDir, 'storage');
    const shared = {
      'database.url': database.url,
      'database.poolSize': 4,
      'auth.secretKeyFile': join(sharedDir, 'secret.key'),
      'storage.filesystem.root': storageRoot,
    };
    nodeA = await startTestBerth(shared);
    nodeB = await startTestBerth(shared);
    onA = new RegistryClient(nodeA.url);
    onB = new RegistryClient(nodeB.url);
  });

  after(async () => {
    await nodeA?.destroy();
    await nodeB?.destroy();
    await database?.drop();
    await rm(sharedDir, { recursive: true, force: true });
  });

  it('moves a chunked upload from A to B: POST and PATCH on A, PATCH and PUT on B', async () => {
    const blob = randomBytes(3 * 1024 * 1024 + 17);
    const digest = sha256(blob);
    const [first, second, last] = [
      blob.subarray(0, 1024 * 1024),
      blob.subarray(1024 * 1024, 2 * 1024 * 1024),
      blob.subarray(2 * 1024 * 1024),
    ] as [Buffer, Buffer, Buffer];

    const location = await startUpload(onA, 'shared/moving');
    assert.equal((await patch(onA, location, first, 0)).status, 202);
    const status = await onB.request('GET', location);
    assert.equal(status.status, 204);
    assert.equal(status.header('range'), `0-${first.length - 1}`);
    const moved = await patch(onB, location, second, first.length);
    assert.equal(moved.status, 202, moved.body.toString());
    assert.equal(moved.header('range'), `0-${2 * 1024 * 1024 - 1}`);
    const done = await onB.request('PUT', `${location}?digest=${digest}`, {
      headers: {
        ...octets,
        'content-length': last.length,
        'content-range': `${2 * 1024 * 1024}-${blob.length - 1}`,
      },
      body: last,
    });
    assert.equal(done.status, 201, done.body.toString());
    assert.equal(done.header('docker-content-digest'), digest);

    const pulled = await onA.request('GET', `/v2/shared/moving/blobs/${digest}`);
    assert.equal(pulled.status, 200);
    assert.ok(pulled.body.equals(blob));
    assert.equal(await sha256OfFile(blobPath(digest)), digest);
    assert.ok(!(await uploadFiles()).includes(location.split('/').pop()!));
  });

  it('a wrong digest after the move is refused on B and the upload is gone on A too', async () => {
    const blob = randomBytes(512 * 1024);
    const location = await startUpload(onA, 'shared/wrong');
    assert.equal((await patch(onA, location, blob, 0)).status, 202);
    const wrong = sha256(Buffer.concat([blob, Buffer.from('x')]));
    const refused = await onB.request('PUT', `${location}?digest=${wrong}`, {
      headers: { 'content-length': 0 },
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.errorCode(), 'DIGEST_INVALID');
    assert.equal((await onA.request('GET', location)).status, 404);
    assert.equal((await onA.request('HEAD', `/v2/shared/wrong/blobs/${wrong}`)).status, 404);
  });

  it('two nodes completing uploads of the same blob at once both succeed, the file intact', async () => {
    for (let round = 0; round < 3; round++) {
      const blob = randomBytes(8 * 1024 * 1024);
      const digest = sha256(blob);
      const [locationA, locationB] = await Promise.all([
        startUpload(onA, 'shared/same-a'),
        startUpload(onB, 'shared/same-b'),
      ]);
      const put = (client: RegistryClient, location: string) =>
        client.request('PUT', `${location}?digest=${digest}`, {
          headers: { ...octets, 'content-length': blob.length },
          body: blob,
        });
      const [doneA, doneB] = await Promise.all([put(onA, locationA), put(onB, locationB)]);
      assert.equal(doneA.status, 201, doneA.body.toString());
      assert.equal(doneB.status, 201, doneB.body.toString());

      assert.equal((await stat(blobPath(digest))).size, blob.length);
      assert.equal(await sha256OfFile(blobPath(digest)), digest);
      for (const [client, repository] of [
        [onB, 'shared/same-a'],
        [onA, 'shared/same-b'],
      ] as const) {
        const pulled = await client.request('GET', `/v2/${repository}/blobs/${digest}`);
        assert.equal(pulled.status, 200);
        assert.ok(pulled.body.equals(blob));
      }
    }
    assert.deepEqual(await uploadFiles(), []);
  });

  it('a monolithic upload cut off mid-body leaves no blob; the retry on the other node succeeds', async () => {
    const blob = randomBytes(4 * 1024 * 1024);
    const digest = sha256(blob);
    const half = blob.subarray(0, 2 * 1024 * 1024);
    const req = httpRequest(new URL(`/v2/shared/cut/blobs/uploads/?digest=${digest}`, nodeA.url), {
      method: 'POST',
      headers: { ...octets, authorization: basicAuth(testAdmin), 'content-length': blob.length },
    });
    let answered = false;
    req.on('response', () => {
      answered = true;
    });
    const ended = new Promise<void>((resolve) => req.on('close', resolve));
    req.on('error', () => {});
    req.write(half);
    try {
      // Cut the socket only once A has stored part of the body, so it really was mid-upload.
      await within(10_000, async () => {
        for (const name of await uploadFiles()) {
          const info = await stat(join(storageRoot, 'uploads', name)).catch(() => undefined);
          if (info && info.size > 0) return true;
        }
        return false;
      });
    } finally {
      req.destroy();
      await ended;
    }
    assert.equal(answered, false, 'the server answered a request whose body never ended');
    // A removes the partial bytes once it sees the request aborted.
    await within(5_000, async () => (await uploadFiles()).length === 0);
    await assert.rejects(stat(blobPath(digest)), { code: 'ENOENT' });
    for (const client of [onA, onB]) {
      assert.equal((await client.request('HEAD', `/v2/shared/cut/blobs/${digest}`)).status, 404);
    }

    const retry = await onB.request('POST', `/v2/shared/cut/blobs/uploads/?digest=${digest}`, {
      headers: { ...octets, 'content-length': blob.length },
      body: blob,
    });
    assert.equal(retry.status, 201, retry.body.toString());
    const pulled = await onA.request('GET', `/v2/shared/cut/blobs/${digest}`);
    assert.equal(pulled.status, 200);
    assert.ok(pulled.body.equals(blob));
  });

  it('measures what resuming the SHA-256 on another node costs (re-hash from the upload file)', async (t) => {
    const mib = 64;
    const blob = randomBytes(mib * 1024 * 1024);
    const tail = randomBytes(1024);
    const location = await startUpload(onA, 'shared/measured');
    assert.equal((await patch(onA, location, blob, 0)).status, 202);
    const id = location.split('/').pop()!;

    // The same re-hash B does (node:crypto cannot export a Hash's state, so it reads the bytes back).
    const readStarted = performance.now();
    const rehashed = await sha256OfFile(join(storageRoot, 'uploads', id));
    const rehashMs = performance.now() - readStarted;
    assert.equal(rehashed, sha256(blob));

    const timed = async (client: RegistryClient, chunk: Buffer, start: number) => {
      const started = performance.now();
      const response = await patch(client, location, chunk, start);
      assert.equal(response.status, 202, response.body.toString());
      return performance.now() - started;
    };
    const onAWarm = await timed(onA, tail, blob.length); // A holds the running hash
    const onBMoved = await timed(onB, tail, blob.length + tail.length); // B re-hashes 64 MiB
    const onBWarm = await timed(onB, tail, blob.length + 2 * tail.length); // B holds it now
    const all = Buffer.concat([blob, tail, tail, tail]);
    const done = await onA.request('PUT', `${location}?digest=${sha256(all)}`, {
      headers: { 'content-length': 0 },
    });
    assert.equal(done.status, 201, done.body.toString());
    assert.ok(onBMoved > onBWarm, 'the first PATCH on B pays for the re-hash');

    const rate = (ms: number) => `${((mib / ms) * 1000).toFixed(0)} MiB/s`;
    t.diagnostic(
      `re-hash of ${mib} MiB from the upload file: ${rehashMs.toFixed(0)} ms (${rate(rehashMs)}); ` +
        `1 KiB PATCH with the hash in memory ${onAWarm.toFixed(1)} ms (A), ${onBWarm.toFixed(1)} ms (B); ` +
        `first 1 KiB PATCH after the move to B ${onBMoved.toFixed(0)} ms`,
    );
    assert.equal((await stat(blobPath(sha256(all)))).size, all.length);
  });
});
