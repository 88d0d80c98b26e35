import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { startBerth } from '../../src/main.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { basicAuth, RegistryClient, sha256 } from '../helpers/http.ts';

let berth: TestBerth;
let client: RegistryClient;
before(async () => {
  berth = await startTestBerth();
  client = new RegistryClient(berth.url);
});
after(() => berth.destroy());

async function startUpload(repository: string): Promise<string> {
  const response = await client.request('POST', `/v2/${repository}/blobs/uploads/`);
  assert.equal(response.status, 202);
  return response.header('location')!;
}

function patch(location: string, chunk: Buffer, start?: number) {
  const headers: Record<string, string | number> = {
    'content-type': 'application/octet-stream',
    'content-length': chunk.length,
  };
  if (start !== undefined) headers['content-range'] = `${start}-${start + chunk.length - 1}`;
  return client.request('PATCH', location, { headers, body: chunk });
}

describe('chunked uploads', () => {
  const blob = randomBytes(300_000);
  const digest = sha256(blob);

  it('starts with 202, a Location, Range 0-0 and the upload id', async () => {
    const response = await client.request('POST', '/v2/up/chunked/blobs/uploads/');
    assert.equal(response.status, 202);
    const location = response.header('location')!;
    assert.match(location, /^\/v2\/up\/chunked\/blobs\/uploads\/[0-9a-f-]{36}$/);
    assert.equal(response.header('range'), '0-0');
    assert.equal(response.header('docker-upload-uuid'), location.split('/').pop());
    assert.equal(response.header('oci-chunk-min-length'), undefined, 'the filesystem store needs no minimum');
  });

  it('takes ordered chunks, reports progress, refuses out-of-order chunks with 416 and the real Range', async () => {
    const location = await startUpload('up/chunked');
    const first = await patch(location, blob.subarray(0, 100_000), 0);
    assert.equal(first.status, 202);
    assert.equal(first.header('range'), '0-99999');
    assert.equal(first.header('location'), location);

    const replay = await patch(location, blob.subarray(0, 100_000), 0);
    assert.equal(replay.status, 416);
    assert.equal(replay.header('range'), '0-99999');
    const skip = await patch(location, blob.subarray(200_000), 200_000);
    assert.equal(skip.status, 416);
    assert.equal(skip.header('range'), '0-99999');

    const status = await client.request('GET', location);
    assert.equal(status.status, 204);
    assert.equal(status.header('range'), '0-99999');
    assert.equal(status.header('location'), location);

    const second = await patch(location, blob.subarray(100_000, 200_000), 100_000);
    assert.equal(second.header('range'), '0-199999');
    const done = await client.request('PUT', `${location}?digest=${digest}`, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': 100_000,
        'content-range': '200000-299999',
      },
      body: blob.subarray(200_000),
    });
    assert.equal(done.status, 201);
    assert.equal(done.header('location'), `/v2/up/chunked/blobs/${digest}`);
    assert.deepEqual((await client.request('GET', `/v2/up/chunked/blobs/${digest}`)).body, blob);
    const gone = await client.request('GET', location);
    assert.equal(gone.status, 404);
    assert.equal(gone.errorCode(), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('takes streamed PATCHes without Content-Range and a zero-length closing PUT', async () => {
    const location = await startUpload('up/streamed');
    async function* stream() {
      for (let offset = 0; offset < blob.length; offset += 65_536)
        yield blob.subarray(offset, offset + 65_536);
    }
    const streamed = await client.request('PATCH', location, {
      headers: { 'content-type': 'application/octet-stream' },
      body: stream(),
    });
    assert.equal(streamed.status, 202);
    assert.equal(streamed.header('range'), `0-${blob.length - 1}`);
    const done = await client.request('PUT', `${location}?digest=${digest}`, {
      headers: { 'content-length': 0 },
    });
    assert.equal(done.status, 201);
    assert.equal(done.header('docker-content-digest'), digest);
  });

  it('takes the whole blob in the closing PUT (POST then PUT)', async () => {
    const location = await startUpload('up/put');
    const done = await client.request('PUT', `${location}?digest=${digest}`, {
      headers: { 'content-length': blob.length },
      body: blob,
    });
    assert.equal(done.status, 201);
  });

  it('completes an upload that never received a byte as the empty blob', async () => {
    const location = await startUpload('up/empty');
    const empty = sha256('');
    const done = await client.request('PUT', `${location}?digest=${empty}`);
    assert.equal(done.status, 201);
    const get = await client.request('GET', `/v2/up/empty/blobs/${empty}`);
    assert.equal(get.status, 200);
    assert.equal(get.body.length, 0);
  });

  it('completes sha512 uploads', async () => {
    const location = await startUpload('up/sha512');
    await patch(location, blob.subarray(0, 1000), 0);
    const digest512 = `sha512:${createHash('sha512').update(blob.subarray(0, 1000)).digest('hex')}`;
    const done = await client.request('PUT', `${location}?digest=${digest512}`, {
      headers: { 'content-length': 0 },
    });
    assert.equal(done.status, 201);
    assert.deepEqual(
      (await client.request('GET', `/v2/up/sha512/blobs/${digest512}`)).body,
      blob.subarray(0, 1000),
    );
  });
});

describe('upload errors', () => {
  it('refuses a digest mismatch and cancels the upload, nothing visible', async () => {
    const location = await startUpload('up/err');
    await patch(location, Buffer.from('actual content'), 0);
    const wrong = sha256('claimed content');
    const response = await client.request('PUT', `${location}?digest=${wrong}`, {
      headers: { 'content-length': 0 },
    });
    assert.equal(response.status, 400);
    assert.equal(response.errorCode(), 'DIGEST_INVALID');
    assert.equal((await client.request('HEAD', `/v2/up/err/blobs/${wrong}`)).status, 404);
    assert.equal((await client.request('HEAD', `/v2/up/err/blobs/${sha256('actual content')}`)).status, 404);
    assert.equal((await client.request('GET', location)).status, 404);
  });

  it('needs a valid digest to complete', async () => {
    const location = await startUpload('up/err');
    const missing = await client.request('PUT', location, { headers: { 'content-length': 0 } });
    assert.equal(missing.status, 400);
    assert.equal(missing.errorCode(), 'DIGEST_INVALID');
    const malformed = await client.request('PUT', `${location}?digest=sha256:short`, {
      headers: { 'content-length': 0 },
    });
    assert.equal(malformed.errorCode(), 'DIGEST_INVALID');
    assert.equal(
      (await client.request('GET', location)).status,
      204,
      'a refused PUT leaves the upload usable',
    );
  });

  it('refuses malformed ranges and lengths that contradict them', async () => {
    const location = await startUpload('up/err');
    const malformed = await client.request('PATCH', location, {
      headers: { 'content-range': 'abc', 'content-length': 3 },
      body: 'abc',
    });
    assert.equal(malformed.status, 416);
    const contradicting = await client.request('PATCH', location, {
      headers: { 'content-range': '0-9', 'content-length': 3 },
      body: 'abc',
    });
    assert.equal(contradicting.status, 400);
    assert.equal(contradicting.errorCode(), 'SIZE_INVALID');
    assert.equal((await client.request('GET', location)).header('range'), '0-0');
  });

  it('cancels uploads with DELETE (204), then knows them no more', async () => {
    const location = await startUpload('up/err');
    await patch(location, Buffer.from('some bytes'), 0);
    const cancelled = await client.request('DELETE', location);
    assert.equal(cancelled.status, 204);
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const response = await client.request(method, location, method === 'PATCH' ? { body: 'x' } : {});
      assert.equal(response.status, 404, method);
      assert.equal(response.errorCode(), 'BLOB_UPLOAD_UNKNOWN');
    }
  });

  it('does not let another repository touch an upload', async () => {
    const location = await startUpload('up/mine');
    const id = location.split('/').pop();
    const response = await client.request('GET', `/v2/up/theirs/blobs/uploads/${id}`);
    assert.equal(response.status, 404);
    assert.equal(response.errorCode(), 'BLOB_UPLOAD_UNKNOWN');
    const traversal = await client.request('GET', '/v2/up/mine/blobs/uploads/..%2F..%2Fberth.db');
    assert.equal(traversal.status, 404);
  });

  it('keeps an interrupted chunk from counting, and resumes from the acknowledged offset', async () => {
    const location = await startUpload('up/interrupted');
    const first = Buffer.from('first chunk;');
    await patch(location, first, 0);
    await new Promise<void>((resolve) => {
      const url = new URL(location, berth.url);
      const req = httpRequest(url, {
        method: 'PATCH',
        headers: {
          authorization: basicAuth(testAdmin),
          'content-length': 1_000_000,
          'content-range': `${first.length}-${first.length + 999_999}`,
        },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(300_000, 7), () =>
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50),
      );
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const status = await client.request('GET', location);
    assert.equal(status.header('range'), `0-${first.length - 1}`);
    const rest = Buffer.from('second chunk');
    const resumed = await patch(location, rest, first.length);
    assert.equal(resumed.status, 202);
    const digest = sha256(Buffer.concat([first, rest]));
    const done = await client.request('PUT', `${location}?digest=${digest}`, {
      headers: { 'content-length': 0 },
    });
    assert.equal(done.status, 201);
    assert.equal(
      (await client.request('GET', `/v2/up/interrupted/blobs/${digest}`)).body.toString(),
      'first chunk;second chunk',
    );
  });
});

describe('uploads across a restart', () => {
  it('resumes a chunked upload after the server restarts on the same data', async () => {
    const local = await startTestBerth();
    let restarted: Awaited<ReturnType<typeof startBerth>> | undefined;
    try {
      const before = new RegistryClient(local.url);
      const start = await before.request('POST', '/v2/up/restart/blobs/uploads/');
      const location = start.header('location')!;
      const blob = randomBytes(50_000);
      await before.request('PATCH', location, {
        headers: { 'content-range': '0-24999', 'content-length': 25_000 },
        body: blob.subarray(0, 25_000),
      });
      await local.close();

      restarted = await startBerth(
        loadConfig({
          env: {},
          flags: { listen: '127.0.0.1:0', data: local.dataDir, 'database.url': local.config.database.url },
        }),
        createLogger('silent'),
      );
      const after = new RegistryClient(restarted.url);
      assert.equal((await after.request('GET', location)).header('range'), '0-24999');
      await after.request('PATCH', location, {
        headers: { 'content-range': '25000-49999', 'content-length': 25_000 },
        body: blob.subarray(25_000),
      });
      const digest = sha256(blob);
      const done = await after.request('PUT', `${location}?digest=${digest}`, {
        headers: { 'content-length': 0 },
      });
      assert.equal(done.status, 201);
      assert.deepEqual((await after.request('GET', `/v2/up/restart/blobs/${digest}`)).body, blob);
      assert.deepEqual(await readdir(join(local.dataDir, 'storage', 'uploads')), []);
    } finally {
      await restarted?.close();
      await local.destroy().catch(() => {});
    }
  });
});

describe('a stalled upload', () => {
  it('is cut off after the idle timeout, so the upload can be cancelled or resumed', async () => {
    const local = await startTestBerth({ 'http.idleTimeoutSeconds': 1 });
    try {
      const localClient = new RegistryClient(local.url);
      const start = await localClient.request('POST', '/v2/up/stalled/blobs/uploads/');
      const location = start.header('location')!;
      const stalled = new Promise<void>((resolve) => {
        const req = httpRequest(new URL(location, local.url), {
          method: 'PATCH',
          headers: { authorization: basicAuth(testAdmin), 'content-length': 100, 'content-range': '0-99' },
        });
        req.on('error', () => resolve());
        req.on('close', () => resolve());
        req.write('abc');
      });
      const began = Date.now();
      await stalled;
      assert.ok(Date.now() - began < 5_000, 'the server closed the silent connection');
      const status = await localClient.request('GET', location);
      assert.equal(status.header('range'), '0-0', 'the partial chunk did not count');
      assert.equal((await localClient.request('DELETE', location)).status, 204);
    } finally {
      await local.destroy();
    }
  });
});
