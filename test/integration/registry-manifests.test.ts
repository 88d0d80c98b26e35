import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { RegistryClient, sha256 } from '../helpers/http.ts';

const oci = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};
const docker = {
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  list: 'application/vnd.docker.distribution.manifest.list.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
  layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
};

let berth: TestBerth;
let client: RegistryClient;
before(async () => {
  berth = await startTestBerth({ 'registry.manifestMaxBytes': 64 * 1024 });
  client = new RegistryClient(berth.url);
});
after(() => berth.destroy());

async function imageManifest(
  repository: string,
  seed: string,
  mediaTypes: { manifest: string; config: string; layer: string } = oci,
) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const layer = Buffer.from(`layer ${seed}`);
  return {
    schemaVersion: 2,
    mediaType: mediaTypes.manifest,
    config: {
      mediaType: mediaTypes.config,
      digest: await client.pushBlob(repository, config),
      size: config.length,
    },
    layers: [
      { mediaType: mediaTypes.layer, digest: await client.pushBlob(repository, layer), size: layer.length },
    ],
  };
}

describe('manifest push and pull', () => {
  it('stores an image manifest by tag and returns the exact bytes by tag and digest', async () => {
    const manifest = await imageManifest('m/app', 'exact');
    // Odd whitespace and key order must survive: the registry never re-serialises.
    const bytes = Buffer.from(
      `{ "schemaVersion":2,\n  "layers": ${JSON.stringify(manifest.layers)}, "config":${JSON.stringify(manifest.config)},"mediaType":"${oci.manifest}" }\n`,
    );
    const digest = sha256(bytes);
    const put = await client.putManifest('m/app', 'v1', bytes, oci.manifest);
    assert.equal(put.status, 201);
    assert.equal(put.header('location'), `/v2/m/app/manifests/${digest}`);
    assert.equal(put.header('docker-content-digest'), digest);
    assert.equal(put.header('oci-subject'), undefined);

    for (const reference of ['v1', digest]) {
      const get = await client.request('GET', `/v2/m/app/manifests/${reference}`, {
        headers: { accept: oci.manifest },
      });
      assert.equal(get.status, 200);
      assert.deepEqual(get.body, bytes);
      assert.equal(get.header('content-type'), oci.manifest);
      assert.equal(get.header('content-length'), String(bytes.length));
      assert.equal(get.header('docker-content-digest'), digest);
      assert.equal(get.header('etag'), `"${digest}"`);
      const head = await client.request('HEAD', `/v2/m/app/manifests/${reference}`, {
        headers: { accept: oci.manifest },
      });
      assert.equal(head.status, 200);
      assert.equal(head.header('content-length'), String(bytes.length));
      assert.equal(head.body.length, 0);
    }
    const cached = await client.request('GET', '/v2/m/app/manifests/v1', {
      headers: { 'if-none-match': `"${digest}"` },
    });
    assert.equal(cached.status, 304);
  });

  it('pushes by digest without a tag, and moves tags on re-push', async () => {
    const first = Buffer.from(JSON.stringify(await imageManifest('m/app', 'a')));
    const second = Buffer.from(JSON.stringify(await imageManifest('m/app', 'b')));
    assert.equal((await client.putManifest('m/app', sha256(first), first)).status, 201);
    assert.equal((await client.request('GET', `/v2/m/app/manifests/${sha256(first)}`)).status, 200);
    await client.putManifest('m/app', 'moving', first, oci.manifest);
    await client.putManifest('m/app', 'moving', second, oci.manifest);
    assert.equal(
      (await client.request('HEAD', '/v2/m/app/manifests/moving')).header('docker-content-digest'),
      sha256(second),
    );
  });

  it('stores Docker schema 2 manifests and manifest lists', async () => {
    const manifest = Buffer.from(JSON.stringify(await imageManifest('m/docker', 'docker', docker)));
    assert.equal((await client.putManifest('m/docker', 'amd64', manifest, docker.manifest)).status, 201);
    const list = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: docker.list,
        manifests: [
          {
            mediaType: docker.manifest,
            digest: sha256(manifest),
            size: manifest.length,
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      }),
    );
    assert.equal((await client.putManifest('m/docker', 'latest', list, docker.list)).status, 201);
    const get = await client.request('GET', '/v2/m/docker/manifests/latest', {
      headers: { accept: `${docker.list}, ${docker.manifest}` },
    });
    assert.equal(get.header('content-type'), docker.list);
    assert.deepEqual(get.body, list);
  });

  it('serves the linux/amd64 image of an index to clients that cannot read indexes, by tag only', async () => {
    const amd64 = Buffer.from(JSON.stringify(await imageManifest('m/multi', 'amd64')));
    const arm64 = Buffer.from(JSON.stringify(await imageManifest('m/multi', 'arm64')));
    await client.putManifest('m/multi', sha256(amd64), amd64);
    await client.putManifest('m/multi', sha256(arm64), arm64);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: oci.index,
        manifests: [
          {
            mediaType: oci.manifest,
            digest: sha256(arm64),
            size: arm64.length,
            platform: { architecture: 'arm64', os: 'linux' },
          },
          {
            mediaType: oci.manifest,
            digest: sha256(amd64),
            size: amd64.length,
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      }),
    );
    assert.equal((await client.putManifest('m/multi', 'latest', index, oci.index)).status, 201);
    const asIndex = await client.request('GET', '/v2/m/multi/manifests/latest', {
      headers: { accept: `${oci.index}, ${oci.manifest}` },
    });
    assert.deepEqual(asIndex.body, index);
    const asImage = await client.request('GET', '/v2/m/multi/manifests/latest', {
      headers: { accept: oci.manifest },
    });
    assert.equal(asImage.status, 200);
    assert.deepEqual(asImage.body, amd64);
    assert.equal(asImage.header('docker-content-digest'), sha256(amd64));
    const byDigest = await client.request('GET', `/v2/m/multi/manifests/${sha256(index)}`, {
      headers: { accept: oci.manifest },
    });
    assert.deepEqual(byDigest.body, index, 'a digest names exact content');
    const refused = await client.request('GET', '/v2/m/multi/manifests/latest', {
      headers: { accept: docker.manifest },
    });
    assert.equal(refused.status, 404);
    assert.equal(refused.errorCode(), 'MANIFEST_UNKNOWN');
  });

  it('stores artifacts: Helm charts, custom artifact types, empty configs, nested and empty indexes', async () => {
    const chart = Buffer.from('chart tarball bytes');
    const chartConfig = Buffer.from('{"name":"mychart","version":"0.1.0"}');
    const helm = {
      schemaVersion: 2,
      config: {
        mediaType: 'application/vnd.cncf.helm.config.v1+json',
        digest: await client.pushBlob('m/art', chartConfig),
        size: chartConfig.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
          digest: await client.pushBlob('m/art', chart),
          size: chart.length,
        },
      ],
    };
    assert.equal((await client.putManifest('m/art', '0.1.0', helm, oci.manifest)).status, 201);
    const empty = await client.pushBlob('m/art', '{}');
    const artifact = {
      schemaVersion: 2,
      mediaType: oci.manifest,
      artifactType: 'application/vnd.example.thing',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2, data: 'e30=' },
      layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 }],
      newUnspecifiedField: 'kept',
    };
    assert.equal((await client.putManifest('m/art', 'thing', artifact)).status, 201);
    const emptyIndex = { schemaVersion: 2, mediaType: oci.index, manifests: [] };
    assert.equal((await client.putManifest('m/art', 'empty-index', emptyIndex)).status, 201);
    const emptyIndexBytes = Buffer.from(JSON.stringify(emptyIndex));
    const nested = {
      schemaVersion: 2,
      mediaType: oci.index,
      manifests: [{ mediaType: oci.index, digest: sha256(emptyIndexBytes), size: emptyIndexBytes.length }],
    };
    assert.equal((await client.putManifest('m/art', 'nested', nested)).status, 201);
  });

  it("accepts an index listing blobs, as BuildKit's registry cache does", async () => {
    const layer = Buffer.from('cached layer');
    const layerDigest = await client.pushBlob('m/cache', layer);
    const cache = {
      schemaVersion: 2,
      mediaType: oci.index,
      manifests: [
        { mediaType: 'application/vnd.buildkit.cacheconfig.v0', digest: layerDigest, size: layer.length },
      ],
    };
    assert.equal((await client.putManifest('m/cache', 'buildcache', cache)).status, 201);
  });

  it('accepts a dangling subject and answers OCI-Subject', async () => {
    const subject = { mediaType: oci.manifest, digest: sha256('never pushed'), size: 12 };
    const empty = await client.pushBlob('m/sub', '{}');
    const referrer = {
      schemaVersion: 2,
      mediaType: oci.manifest,
      artifactType: 'application/vnd.example.sig',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
      layers: [],
      subject,
    };
    const put = await client.putManifest('m/sub', sha256(JSON.stringify(referrer)), referrer);
    assert.equal(put.status, 201);
    assert.equal(put.header('oci-subject'), subject.digest);
  });
});

describe('manifest errors', () => {
  it('refuses manifests that reference blobs or manifests missing from the repository', async () => {
    const manifest = await imageManifest('m/err', 'missing');
    manifest.layers.push({ mediaType: oci.layer, digest: sha256('not pushed'), size: 10 });
    const missingBlob = await client.putManifest('m/err', 'x', manifest);
    assert.equal(missingBlob.status, 400);
    assert.equal(missingBlob.errorCode(), 'MANIFEST_BLOB_UNKNOWN');
    const elsewhere = await imageManifest('m/elsewhere', 'elsewhere');
    assert.equal((await client.putManifest('m/err', 'y', elsewhere)).errorCode(), 'MANIFEST_BLOB_UNKNOWN');
    const index = {
      schemaVersion: 2,
      mediaType: oci.index,
      manifests: [{ mediaType: oci.manifest, digest: sha256('no such manifest'), size: 5 }],
    };
    assert.equal((await client.putManifest('m/err', 'z', index)).errorCode(), 'MANIFEST_BLOB_UNKNOWN');
    for (const tag of ['x', 'y', 'z'])
      assert.equal((await client.request('HEAD', `/v2/m/err/manifests/${tag}`)).status, 404);
  });

  it('refuses descriptors whose size disagrees with the blob', async () => {
    const manifest = await imageManifest('m/err', 'size');
    manifest.layers[0]!.size += 1;
    const response = await client.putManifest('m/err', 'bad-size', manifest);
    assert.equal(response.status, 400);
    assert.equal(response.errorCode(), 'MANIFEST_INVALID');
  });

  it('refuses a body that does not match the digest in the URL', async () => {
    const manifest = await imageManifest('m/err', 'digest');
    const response = await client.putManifest('m/err', sha256('other bytes'), manifest);
    assert.equal(response.status, 400);
    assert.equal(response.errorCode(), 'DIGEST_INVALID');
    assert.equal((await client.putManifest('m/err', 'sha256:baddigeststring', manifest)).status, 400);
  });

  it('refuses invalid JSON, unknown media types, schema 1, and empty bodies', async () => {
    const cases: [Buffer | string, string][] = [
      ['{not json', oci.manifest],
      ['', oci.manifest],
      [JSON.stringify({ schemaVersion: 2, manifests: [] }), 'application/vnd.example.unknown'],
      [
        JSON.stringify({ schemaVersion: 1, name: 'm/err', tag: 'x', fsLayers: [] }),
        'application/vnd.docker.distribution.manifest.v1+prettyjws',
      ],
      [JSON.stringify({ schemaVersion: 2, mediaType: oci.index, manifests: [] }), oci.manifest],
    ];
    for (const [body, type] of cases) {
      const response = await client.request('PUT', '/v2/m/err/manifests/bad', {
        headers: { 'content-type': type },
        body,
      });
      assert.equal(response.status, 400, `${type}: ${body}`);
      assert.equal(response.errorCode(), 'MANIFEST_INVALID');
    }
  });

  it('refuses manifests over the size limit with 413', async () => {
    const huge = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: oci.index,
        manifests: [],
        annotations: { pad: 'x'.repeat(70 * 1024) },
      }),
    );
    const declared = await client.putManifest('m/err', 'huge', huge);
    assert.equal(declared.status, 413);
    assert.equal(declared.errorCode(), 'MANIFEST_INVALID');
    async function* chunked() {
      yield huge;
    }
    const streamed = await client.request('PUT', '/v2/m/err/manifests/huge', {
      headers: { 'content-type': oci.index },
      body: chunked(),
    });
    assert.equal(streamed.status, 413);
    assert.equal((await client.request('HEAD', '/v2/m/err/manifests/huge')).status, 404);
  });

  it('refuses invalid tags on push with TAG_INVALID, and knows no invalid tag on pull', async () => {
    const manifest = await imageManifest('m/err', 'tag');
    const push = await client.putManifest('m/err', '.INVALID_MANIFEST_NAME', manifest);
    assert.equal(push.status, 400);
    assert.equal(push.errorCode(), 'TAG_INVALID');
    const pull = await client.request('GET', '/v2/m/err/manifests/.INVALID_MANIFEST_NAME');
    assert.equal(pull.status, 404);
    assert.equal(pull.errorCode(), 'MANIFEST_UNKNOWN');
    const unknown = await client.request('GET', '/v2/m/err/manifests/missing-tag');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.errorCode(), 'MANIFEST_UNKNOWN');
    assert.equal((await client.request('GET', `/v2/m/err/manifests/${sha256('nothing')}`)).status, 404);
  });

  it('refuses invalid repository names', async () => {
    for (const path of [
      '/v2/Upper/manifests/latest',
      '/v2/a//b/manifests/latest',
      '/v2/-a/tags/list',
      `/v2/${'a'.repeat(256)}/manifests/x`,
    ]) {
      const response = await client.request('GET', path);
      assert.equal(response.status, 400, path);
      assert.equal(response.errorCode(), 'NAME_INVALID');
    }
    for (const path of [
      '/v2/../../etc/manifests/latest',
      '/v2/%2e%2e/x/manifests/latest',
      '/v2/a/%2e%2e/b/blobs/uploads/',
    ]) {
      const response = await client.request('GET', path);
      assert.ok([400, 404, 405].includes(response.status), `${path}: ${response.status}`);
    }
  });
});

describe('manifest deletion', () => {
  it('deletes a tag only (by tag), then the manifest and its tags (by digest)', async () => {
    const bytes = Buffer.from(JSON.stringify(await imageManifest('m/del', 'del')));
    const digest = sha256(bytes);
    await client.putManifest('m/del', 'one', bytes, oci.manifest);
    await client.putManifest('m/del', 'two', bytes, oci.manifest);
    assert.equal((await client.request('DELETE', '/v2/m/del/manifests/one')).status, 202);
    assert.equal((await client.request('HEAD', '/v2/m/del/manifests/one')).status, 404);
    assert.equal((await client.request('HEAD', `/v2/m/del/manifests/${digest}`)).status, 200);
    assert.equal((await client.request('DELETE', `/v2/m/del/manifests/${digest}`)).status, 202);
    assert.equal((await client.request('HEAD', `/v2/m/del/manifests/${digest}`)).status, 404);
    assert.equal((await client.request('HEAD', '/v2/m/del/manifests/two')).status, 404);
    assert.deepEqual((await client.request('GET', '/v2/m/del/tags/list')).json(), {
      name: 'm/del',
      tags: [],
    });
    const again = await client.request('DELETE', `/v2/m/del/manifests/${digest}`);
    assert.equal(again.status, 404);
    assert.equal(again.errorCode(), 'MANIFEST_UNKNOWN');
    assert.equal((await client.request('DELETE', '/v2/m/del/manifests/no-such-tag')).status, 404);
  });
});
