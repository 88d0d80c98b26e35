import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { RegistryClient, sha256 } from '../helpers/http.ts';

const ociIndex = 'application/vnd.oci.image.index.v1+json';
const ociManifest = 'application/vnd.oci.image.manifest.v1+json';

let berth: TestBerth;
let client: RegistryClient;
let image: { digest: string; bytes: Buffer };
before(async () => {
  berth = await startTestBerth();
  client = new RegistryClient(berth.url);
  image = await client.pushImage('list/app', 'base');
  for (const tag of ['v1', 'v2', 'v10', 'latest', 'V3', '_first']) {
    await client.putManifest('list/app', tag, image.bytes, ociManifest);
  }
});
after(() => berth.destroy());

describe('tags list', () => {
  it('lists every tag in byte order without pagination', async () => {
    const response = await client.request('GET', '/v2/list/app/tags/list');
    assert.equal(response.status, 200);
    assert.match(response.header('content-type') ?? '', /^application\/json/);
    assert.deepEqual(response.json(), {
      name: 'list/app',
      tags: ['V3', '_first', 'base', 'latest', 'v1', 'v10', 'v2'],
    });
    assert.equal(response.header('link'), undefined);
  });

  it('pages with n and last, linking to the next page', async () => {
    const first = await client.request('GET', '/v2/list/app/tags/list?n=3');
    assert.deepEqual(first.json<{ tags: string[] }>().tags, ['V3', '_first', 'base']);
    assert.equal(first.header('link'), '</v2/list/app/tags/list?last=base&n=3>; rel="next"');
    const second = await client.request('GET', '/v2/list/app/tags/list?last=base&n=3');
    assert.deepEqual(second.json<{ tags: string[] }>().tags, ['latest', 'v1', 'v10']);
    const third = await client.request('GET', '/v2/list/app/tags/list?last=v10&n=3');
    assert.deepEqual(third.json<{ tags: string[] }>().tags, ['v2']);
    assert.equal(third.header('link'), undefined);
    const exact = await client.request('GET', '/v2/list/app/tags/list?n=7');
    assert.equal(exact.json<{ tags: string[] }>().tags.length, 7);
    assert.equal(exact.header('link'), undefined, 'no link when nothing follows');
    const lastOnly = await client.request('GET', '/v2/list/app/tags/list?last=v1');
    assert.deepEqual(lastOnly.json<{ tags: string[] }>().tags, ['v10', 'v2']);
  });

  it('answers n=0 with an empty list and no link', async () => {
    const response = await client.request('GET', '/v2/list/app/tags/list?n=0');
    assert.deepEqual(response.json(), { name: 'list/app', tags: [] });
    assert.equal(response.header('link'), undefined);
  });

  it('refuses bad page sizes and unknown repositories', async () => {
    for (const n of ['-1', 'abc', '1.5', '99999999999']) {
      const response = await client.request('GET', `/v2/list/app/tags/list?n=${n}`);
      assert.equal(response.status, 400, n);
      assert.equal(response.errorCode(), 'PAGINATION_NUMBER_INVALID');
    }
    const unknown = await client.request('GET', '/v2/list/nothing/tags/list');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.errorCode(), 'NAME_UNKNOWN');
  });
});

describe('catalog', () => {
  it('lists repositories with manifests, paged', async () => {
    await client.pushImage('list/b', 'x');
    await client.pushImage('list/a/deep', 'x');
    await client.pushBlob('list/blobs-only', 'no manifest here');
    const all = await client.request('GET', '/v2/_catalog');
    assert.deepEqual(all.json(), { repositories: ['list/a/deep', 'list/app', 'list/b'] });
    const page = await client.request('GET', '/v2/_catalog?n=2');
    assert.deepEqual(page.json(), { repositories: ['list/a/deep', 'list/app'] });
    assert.equal(page.header('link'), '</v2/_catalog?last=list%2Fapp&n=2>; rel="next"');
    const next = await client.request('GET', '/v2/_catalog?n=2&last=list/app');
    assert.deepEqual(next.json(), { repositories: ['list/b'] });
    assert.equal((await client.request('POST', '/v2/_catalog')).status, 405);
  });
});

describe('referrers', () => {
  let signature: { digest: string; size: number };
  let sbom: { digest: string; size: number };
  let indexReferrer: Buffer;

  before(async () => {
    const subject = { mediaType: ociManifest, digest: image.digest, size: image.bytes.length };
    signature = await client.pushImage('list/app', 'sig', {
      artifactType: 'application/vnd.example.signature',
      annotations: { 'org.example.signer': 'alice' },
      subject,
    });
    // No artifactType: the config media type stands in for it.
    sbom = await client.pushImage('list/app', 'sbom', {
      configMediaType: 'application/vnd.example.sbom',
      subject,
    });
    indexReferrer = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: ociIndex, manifests: [], subject }),
    );
    assert.equal(
      (await client.putManifest('list/app', sha256(indexReferrer), indexReferrer, ociIndex)).status,
      201,
    );
  });

  it('lists every manifest whose subject is the digest, as an image index', async () => {
    const response = await client.request('GET', `/v2/list/app/referrers/${image.digest}`);
    assert.equal(response.status, 200);
    assert.equal(response.header('content-type'), ociIndex);
    const index = response.json<{
      schemaVersion: number;
      mediaType: string;
      manifests: Record<string, unknown>[];
    }>();
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, ociIndex);
    const byDigest = new Map(index.manifests.map((descriptor) => [descriptor.digest, descriptor]));
    assert.deepEqual(byDigest.get(signature.digest), {
      mediaType: ociManifest,
      digest: signature.digest,
      size: signature.size,
      artifactType: 'application/vnd.example.signature',
      annotations: { 'org.example.signer': 'alice' },
    });
    assert.equal(byDigest.get(sbom.digest)?.artifactType, 'application/vnd.example.sbom');
    assert.deepEqual(byDigest.get(sha256(indexReferrer)), {
      mediaType: ociIndex,
      digest: sha256(indexReferrer),
      size: indexReferrer.length,
    });
    assert.equal(index.manifests.length, 3);
  });

  it('filters by artifactType and says so', async () => {
    const response = await client.request(
      'GET',
      `/v2/list/app/referrers/${image.digest}?artifactType=application/vnd.example.sbom`,
    );
    assert.equal(response.header('oci-filters-applied'), 'artifactType');
    assert.deepEqual(
      response.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest),
      [sbom.digest],
    );
  });

  it('answers an empty index for unknown subjects and repositories, 400 for bad digests', async () => {
    for (const path of [
      `/v2/list/app/referrers/${sha256('unknown')}`,
      `/v2/list/none/referrers/${sha256('unknown')}`,
    ]) {
      const response = await client.request('GET', path);
      assert.equal(response.status, 200);
      assert.deepEqual(response.json(), { schemaVersion: 2, mediaType: ociIndex, manifests: [] });
    }
    const bad = await client.request('GET', '/v2/list/app/referrers/sha256:nope');
    assert.equal(bad.status, 400);
    assert.equal(bad.errorCode(), 'DIGEST_INVALID');
  });
});
