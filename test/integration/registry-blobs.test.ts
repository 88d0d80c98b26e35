import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { basicAuth, RegistryClient, sha256 } from '../helpers/http.ts';

let berth: TestBerth;
let client: RegistryClient;
before(async () => {
  berth = await startTestBerth();
  client = new RegistryClient(berth.url);
});
after(() => berth.destroy());

describe('GET /v2/', () => {
  it('answers 200 {} with the API version header', async () => {
    const response = await client.request('GET', '/v2/');
    assert.equal(response.status, 200);
    assert.equal(response.header('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(response.json(), {});
    assert.equal((await client.request('GET', '/v2')).status, 200);
    assert.equal((await client.request('HEAD', '/v2/')).status, 200);
  });

  it('answers unsupported methods and unknown paths with JSON errors', async () => {
    const post = await client.request('POST', '/v2/');
    assert.equal(post.status, 405);
    assert.equal(post.errorCode(), 'UNSUPPORTED');
    const unknown = await client.request('GET', '/v2/repo/nothing-here');
    assert.equal(unknown.status, 404);
    assert.ok(unknown.errorCode());
    const wrongMethod = await client.request('PATCH', '/v2/repo/manifests/latest');
    assert.equal(wrongMethod.status, 405);
    assert.match(wrongMethod.header('allow') ?? '', /GET/);
  });

  it('serves Prometheus metrics and a health check', async () => {
    const metrics = await client.request('GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(
      metrics.body.toString(),
      /berth_http_requests_total\{method="GET",route="base",status="200"\}/,
    );
    assert.equal((await client.request('GET', '/healthz')).status, 200);
  });
});

describe('blobs', () => {
  const content = randomBytes(2048);
  const digest = sha256(content);

  it('takes a monolithic upload (POST ?digest=) and serves it back with its headers', async () => {
    const pushed = await client.request('POST', `/v2/blobs/one/blobs/uploads/?digest=${digest}`, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': content.length },
      body: content,
    });
    assert.equal(pushed.status, 201);
    assert.equal(pushed.header('location'), `/v2/blobs/one/blobs/${digest}`);
    assert.equal(pushed.header('docker-content-digest'), digest);

    const head = await client.request('HEAD', `/v2/blobs/one/blobs/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.header('content-length'), '2048');
    assert.equal(head.header('docker-content-digest'), digest);
    assert.equal(head.header('etag'), `"${digest}"`);
    assert.equal(head.body.length, 0);

    const get = await client.request('GET', `/v2/blobs/one/blobs/${digest}`);
    assert.equal(get.status, 200);
    assert.deepEqual(get.body, content);
    assert.equal(get.header('content-type'), 'application/octet-stream');
    assert.equal(get.header('accept-ranges'), 'bytes');
  });

  it('serves byte ranges with 206 and refuses unsatisfiable ones with 416', async () => {
    const cases: [string, number, number][] = [
      ['bytes=500-1499', 500, 1499],
      ['bytes=500-', 500, 2047],
      ['bytes=-500', 1548, 2047],
      ['bytes=2000-5000', 2000, 2047],
    ];
    for (const [range, start, end] of cases) {
      const response = await client.request('GET', `/v2/blobs/one/blobs/${digest}`, { headers: { range } });
      assert.equal(response.status, 206, range);
      assert.equal(response.header('content-range'), `bytes ${start}-${end}/2048`);
      assert.equal(response.header('content-length'), String(end - start + 1));
      assert.deepEqual(response.body, content.subarray(start, end + 1));
    }
    for (const range of ['bytes=500-0', 'bytes=5000-10000']) {
      const response = await client.request('GET', `/v2/blobs/one/blobs/${digest}`, { headers: { range } });
      assert.equal(response.status, 416, range);
      assert.equal(response.header('content-range'), 'bytes */2048');
    }
  });

  it('survives a client that hangs up mid-body, and serves the next one', async () => {
    const big = randomBytes(8 * 1024 * 1024);
    const bigDigest = await client.pushBlob('blobs/big', big);
    await new Promise<void>((resolve) => {
      const url = new URL(`/v2/blobs/big/blobs/${bigDigest}`, berth.url);
      const req = httpRequest(url, { headers: { authorization: basicAuth(testAdmin) } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => resolve());
      req.end();
    });
    const again = await client.request('GET', `/v2/blobs/big/blobs/${bigDigest}`);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, big);
  });

  it('answers If-None-Match with 304', async () => {
    const response = await client.request('GET', `/v2/blobs/one/blobs/${digest}`, {
      headers: { 'if-none-match': `"${digest}"` },
    });
    assert.equal(response.status, 304);
    assert.equal(response.body.length, 0);
  });

  it('keeps blobs to the repositories they were pushed to', async () => {
    const other = await client.request('GET', `/v2/blobs/other/blobs/${digest}`);
    assert.equal(other.status, 404);
    assert.equal(other.errorCode(), 'BLOB_UNKNOWN');
    assert.equal((await client.request('HEAD', `/v2/blobs/other/blobs/${digest}`)).status, 404);
  });

  it('rejects malformed digests with DIGEST_INVALID', async () => {
    for (const bad of ['sha256:xyz', 'md5:abc', 'nocolon']) {
      const response = await client.request('GET', `/v2/blobs/one/blobs/${bad}`);
      assert.equal(response.status, 400, bad);
      assert.equal(response.errorCode(), 'DIGEST_INVALID');
    }
  });

  it('rejects a monolithic upload whose content does not match, leaving nothing behind', async () => {
    const wrong = sha256('something else');
    const response = await client.request('POST', `/v2/blobs/one/blobs/uploads/?digest=${wrong}`, {
      headers: { 'content-length': content.length },
      body: content,
    });
    assert.equal(response.status, 400);
    assert.equal(response.errorCode(), 'DIGEST_INVALID');
    assert.equal((await client.request('HEAD', `/v2/blobs/one/blobs/${wrong}`)).status, 404);
  });

  it('accepts sha512 digests', async () => {
    const bytes = Buffer.from('sha512 content');
    const digest512 = `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
    const pushed = await client.request('POST', `/v2/blobs/one/blobs/uploads/?digest=${digest512}`, {
      headers: { 'content-length': bytes.length },
      body: bytes,
    });
    assert.equal(pushed.status, 201);
    const get = await client.request('GET', `/v2/blobs/one/blobs/${digest512}`);
    assert.deepEqual(get.body, bytes);
    assert.equal(get.header('docker-content-digest'), digest512);
  });

  it('stores an empty blob', async () => {
    const empty = sha256('');
    const pushed = await client.request('POST', `/v2/blobs/one/blobs/uploads/?digest=${empty}`, {
      headers: { 'content-length': 0 },
    });
    assert.equal(pushed.status, 201);
    const get = await client.request('GET', `/v2/blobs/one/blobs/${empty}`);
    assert.equal(get.status, 200);
    assert.equal(get.header('content-length'), '0');
  });

  it('deletes a blob from one repository at once, and 404s the second time', async () => {
    const bytes = Buffer.from('to delete');
    const blob = await client.pushBlob('blobs/del', bytes);
    await client.pushBlob('blobs/keep', bytes);
    const deleted = await client.request('DELETE', `/v2/blobs/del/blobs/${blob}`);
    assert.equal(deleted.status, 202);
    assert.equal((await client.request('HEAD', `/v2/blobs/del/blobs/${blob}`)).status, 404);
    assert.equal((await client.request('GET', `/v2/blobs/keep/blobs/${blob}`)).status, 200);
    const again = await client.request('DELETE', `/v2/blobs/del/blobs/${blob}`);
    assert.equal(again.status, 404);
    assert.equal(again.errorCode(), 'BLOB_UNKNOWN');
  });
});

describe('cross-repository mount', () => {
  it('mounts a blob the source repository holds (201)', async () => {
    const blob = await client.pushBlob('mount/source', 'mountable');
    const response = await client.request(
      'POST',
      `/v2/mount/target/blobs/uploads/?mount=${blob}&from=mount/source`,
    );
    assert.equal(response.status, 201);
    assert.equal(response.header('location'), `/v2/mount/target/blobs/${blob}`);
    assert.equal(response.header('docker-content-digest'), blob);
    assert.equal(
      (await client.request('GET', `/v2/mount/target/blobs/${blob}`)).body.toString(),
      'mountable',
    );
  });

  it('starts an ordinary upload (202) when the source does not hold the blob, or there is no source', async () => {
    const missing = sha256('not anywhere');
    for (const query of [
      `mount=${missing}&from=mount/source`,
      `mount=${missing}&from=Not_Valid`,
      `mount=${missing}`,
    ]) {
      const response = await client.request('POST', `/v2/mount/target/blobs/uploads/?${query}`);
      assert.equal(response.status, 202, query);
      assert.match(response.header('location') ?? '', /^\/v2\/mount\/target\/blobs\/uploads\/[0-9a-f-]{36}$/);
    }
  });

  it('does not reveal a blob that exists only in another repository than `from`', async () => {
    const blob = await client.pushBlob('mount/secret', 'only in secret');
    const response = await client.request(
      'POST',
      `/v2/mount/target/blobs/uploads/?mount=${blob}&from=mount/source`,
    );
    assert.equal(response.status, 202);
  });
});
