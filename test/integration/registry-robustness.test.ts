import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { RegistryClient, sha256 } from '../helpers/http.ts';

let berth: TestBerth;
let client: RegistryClient;
before(async () => {
  berth = await startTestBerth();
  client = new RegistryClient(berth.url);
  await client.pushImage('robust/app', 'latest');
});
after(() => berth.destroy());

const digest = `sha256:${'a'.repeat(64)}`;
const paths = [
  '/v2/robust/app/blobs/uploads/',
  `/v2/robust/app/blobs/uploads/?digest=sha256:abc`,
  `/v2/robust/app/blobs/uploads/?mount=${digest}&from=..`,
  '/v2/robust/app/blobs/uploads/00000000-0000-0000-0000-000000000000?digest=sha256:abc',
  `/v2/robust/app/blobs/${digest}`,
  '/v2/robust/app/blobs/sha256:',
  '/v2/robust/app/manifests/no-such-tag',
  '/v2/robust/app/manifests/%zz',
  '/v2/robust/app/manifests/sha256:zz',
  '/v2/robust/app/tags/list?n=abc&last=%ff',
  '/v2/robust/app/referrers/sha256:zz?artifactType=',
  '/v2/%00/manifests/latest',
  `/v2/${'x/'.repeat(200)}manifests/latest`,
  '/v2/_catalog?n=-5',
];
const requests: [string, Record<string, string>, string | undefined][] = [
  ['GET', { range: 'bytes=99999999-' }, undefined],
  ['HEAD', { accept: ',,;q=x' }, undefined],
  ['POST', { 'content-type': 'application/json' }, '{'],
  ['PUT', { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, '{"schemaVersion":2}'],
  [
    'PUT',
    { 'content-type': 'application/vnd.oci.image.index.v1+json' },
    '{"schemaVersion":2,"manifests":[{"mediaType":"x/y","digest":"sha256:1","size":1}]}',
  ],
  ['PATCH', { 'content-range': 'bytes=abc' }, 'garbage'],
  ['DELETE', {}, undefined],
  ['OPTIONS', {}, undefined],
];

describe('garbage in', () => {
  it(`answers ${paths.length * requests.length} malformed requests with 4xx JSON errors, never 5xx`, async () => {
    for (const path of paths) {
      for (const [method, headers, body] of requests) {
        const response = await client.request(method, path, { headers, body });
        assert.ok(
          response.status < 500,
          `${method} ${path} -> ${response.status} ${response.body.toString().slice(0, 200)}`,
        );
        if (response.status >= 400 && method !== 'HEAD') {
          assert.ok(response.errorCode(), `${method} ${path} -> ${response.status} without an error code`);
        }
      }
    }
    const intact = await client.request('GET', '/v2/robust/app/manifests/latest');
    assert.equal(intact.status, 200, 'the repository is untouched');
  });
});

describe('large inputs', () => {
  it('checks a manifest listing 36,000 layers without tripping over statement limits', async () => {
    const layers = Array.from({ length: 36_000 }, (_, index) => ({
      mediaType: 'a/b',
      digest: `sha256:${index.toString(16).padStart(64, '0')}`,
      size: 1,
    }));
    const config = await client.pushBlob('robust/huge', '{}');
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 2 },
      layers,
    };
    const response = await client.putManifest('robust/huge', 'many', manifest);
    assert.equal(response.status, 400);
    assert.equal(response.errorCode(), 'MANIFEST_BLOB_UNKNOWN');
  });

  it('pages referrers so no response grows past a few megabytes', async () => {
    const subject = await client.pushImage('robust/refs', 'subject');
    const empty = await client.pushBlob('robust/refs', '{}');
    const pushed: string[] = [];
    for (const seed of ['a', 'b', 'c']) {
      const referrer = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.example.big',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
        layers: [],
        subject: {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: subject.digest,
          size: subject.size,
        },
        annotations: { padding: seed.repeat(1_500_000) },
      };
      const bytes = Buffer.from(JSON.stringify(referrer));
      assert.equal((await client.putManifest('robust/refs', sha256(bytes), bytes)).status, 201);
      pushed.push(sha256(bytes));
    }
    const seen: string[] = [];
    let path: string | undefined =
      `/v2/robust/refs/referrers/${subject.digest}?artifactType=application/vnd.example.big`;
    let pages = 0;
    while (path) {
      const response = await client.request('GET', path);
      assert.equal(response.status, 200);
      assert.ok(response.body.length < 5 * 1024 * 1024, `page of ${response.body.length} bytes`);
      assert.equal(response.header('oci-filters-applied'), 'artifactType');
      seen.push(...response.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest));
      path = /^<([^>]+)>; rel="next"$/.exec(response.header('link') ?? '')?.[1];
      pages++;
    }
    assert.ok(pages >= 2, `${pages} pages`);
    assert.deepEqual(seen.sort(), pushed.sort());
  });
});
