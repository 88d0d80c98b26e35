import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { RegistryClient, sha256 } from '../helpers/http.ts';
import { auditBlobFiles } from '../helpers/store-check.ts';
import { storedRows } from '../helpers/stored-rows.ts';

const clients = 16;
let berth: TestBerth;
let client: RegistryClient;
before(async () => {
  berth = await startTestBerth();
  client = new RegistryClient(berth.url);
});
after(() => berth.destroy());

/** Pushes a blob in three chunks, as docker and skopeo do for layers. */
async function pushChunked(repository: string, blob: Buffer): Promise<string> {
  const start = await client.request('POST', `/v2/${repository}/blobs/uploads/`);
  const location = start.header('location')!;
  const third = Math.ceil(blob.length / 3);
  for (let offset = 0; offset < blob.length; offset += third) {
    const chunk = blob.subarray(offset, offset + third);
    const response = await client.request('PATCH', location, {
      headers: { 'content-range': `${offset}-${offset + chunk.length - 1}`, 'content-length': chunk.length },
      body: chunk,
    });
    assert.equal(response.status, 202);
  }
  const digest = sha256(blob);
  const done = await client.request('PUT', `${location}?digest=${digest}`, {
    headers: { 'content-length': 0 },
  });
  assert.equal(done.status, 201, done.body.toString());
  return digest;
}

describe(`${clients} clients pushing at once`, () => {
  it('loses nothing, duplicates nothing and corrupts nothing', async () => {
    const shared = randomBytes(512 * 1024);
    const sharedConfig = Buffer.from('{"architecture":"amd64","os":"linux","shared":true}');
    const unique = Array.from({ length: clients }, () =>
      randomBytes(64 * 1024 + Math.floor(Math.random() * 4096)),
    );

    const pushed = await Promise.all(
      unique.map(async (own, worker) => {
        const repository = worker % 2 === 0 ? 'conc/shared' : `conc/own-${worker}`;
        const [sharedDigest, ownDigest, configDigest] = await Promise.all([
          pushChunked(repository, shared),
          pushChunked(repository, own),
          client.pushBlob(repository, sharedConfig),
        ]);
        const manifest = {
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: {
            mediaType: 'application/vnd.oci.image.config.v1+json',
            digest: configDigest,
            size: sharedConfig.length,
          },
          layers: [
            {
              mediaType: 'application/vnd.oci.image.layer.v1.tar',
              digest: sharedDigest,
              size: shared.length,
            },
            { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: ownDigest, size: own.length },
          ],
        };
        const bytes = Buffer.from(JSON.stringify(manifest));
        const [own_, same] = await Promise.all([
          client.putManifest(repository, `worker-${worker}`, bytes),
          client.putManifest(repository, 'contended', bytes),
        ]);
        assert.equal(own_.status, 201);
        assert.equal(same.status, 201);
        return { repository, worker, manifest: bytes, ownDigest, own };
      }),
    );

    for (const { repository, worker, manifest, ownDigest, own } of pushed) {
      const get = await client.request('GET', `/v2/${repository}/manifests/worker-${worker}`);
      assert.deepEqual(get.body, manifest);
      assert.deepEqual((await client.request('GET', `/v2/${repository}/blobs/${ownDigest}`)).body, own);
      assert.deepEqual(
        (await client.request('GET', `/v2/${repository}/blobs/${sha256(shared)}`)).body,
        shared,
      );
    }
    const contended = await client.request('GET', '/v2/conc/shared/manifests/contended');
    assert.ok(
      pushed.some(({ manifest }) => manifest.equals(contended.body)),
      'the contended tag names one of the pushed manifests',
    );
    const tags = (await client.request('GET', '/v2/conc/shared/tags/list')).json<{ tags: string[] }>().tags;
    assert.equal(tags.length, clients / 2 + 1);

    const storage = join(berth.dataDir, 'storage');
    const files = await auditBlobFiles(storage);
    assert.ok(
      files.every((file) => file.intact),
      'every stored blob matches its digest',
    );
    const expected = new Set([
      sha256(shared),
      sha256(sharedConfig),
      ...pushed.flatMap((p) => [p.ownDigest, sha256(p.manifest)]),
    ]);
    assert.deepEqual(new Set(files.map((file) => file.digest)), expected, 'one file per distinct content');
    assert.deepEqual(await readdir(join(storage, 'uploads')), [], 'no upload left behind');

    const count = async (sql: string) => (await storedRows<{ n: number }>(berth, sql))[0]!.n;
    assert.equal(await count('select count(*) as n from blobs'), expected.size);
    assert.equal(await count('select count(*) as n from uploads'), 0);
    assert.equal(
      await count("select count(*) as n from repository_blobs where repository = 'conc/shared'"),
      2 + clients / 2,
    );
  });
});
