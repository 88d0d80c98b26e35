import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SqliteDriver from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { KyselyDatabase } from '../../src/db/database.ts';
import { migrationProvider } from '../../src/db/migrations/index.ts';
import type { Schema } from '../../src/db/schema.ts';
import { type ApiCaller, apiRequest } from '../helpers/api.ts';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { alpineLayout, alpineManifestDigest } from '../helpers/fixtures.ts';
import { RegistryClient, sha256, type TestResponse } from '../helpers/http.ts';
import { readLayoutBlob } from '../helpers/oci-layout.ts';

/**
 * Project storage quotas over real HTTP: limits on blob uploads, mounts and manifest pushes,
 * usage as Harbor counts it (each digest once per project, in every project holding it), the
 * /quotas API, and exactness under concurrent pushers.
 */

interface Quota {
  id: number;
  ref: { id: number; name: string; owner_name: string };
  hard: { storage: number };
  used: { storage: number };
  creation_time: string;
  update_time: string;
}

/** The real alpine:3.17.2 image (see ../shared/fixtures/oci/README.md). */
interface Alpine {
  manifest: Buffer;
  config: { digest: string; bytes: Buffer };
  layer: { digest: string; bytes: Buffer };
  total: number;
}

async function loadAlpine(): Promise<Alpine> {
  const manifest = await readLayoutBlob(alpineLayout(), alpineManifestDigest);
  const parsed = JSON.parse(manifest.toString()) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  const config = {
    digest: parsed.config.digest,
    bytes: await readLayoutBlob(alpineLayout(), parsed.config.digest),
  };
  const layerDigest = parsed.layers[0]!.digest;
  const layer = { digest: layerDigest, bytes: await readLayoutBlob(alpineLayout(), layerDigest) };
  return { manifest, config, layer, total: manifest.length + config.bytes.length + layer.bytes.length };
}

const manifestType = 'application/vnd.oci.image.manifest.v1+json';

describe('project storage quotas', () => {
  let berth: TestBerth;
  let registry: RegistryClient;
  let alpine: Alpine;
  const user = { username: 'quinn', password: 'Quinn-Pass-123' };
  const api = (caller: ApiCaller, method: string, path: string, body?: unknown) =>
    apiRequest(berth, caller, method, path, body);

  async function createProject(name: string, storageLimit?: number, caller: ApiCaller = testAdmin) {
    const response = await api(caller, 'POST', '/projects', {
      project_name: name,
      metadata: { public: 'false' },
      ...(storageLimit === undefined ? {} : { storage_limit: storageLimit }),
    });
    assert.equal(response.status, 201, response.body.toString());
    return Number(response.header('location')?.split('/').at(-1));
  }

  async function quotaOf(projectId: number): Promise<Quota> {
    const response = await api(testAdmin, 'GET', `/quotas?reference=project&reference_id=${projectId}`);
    assert.equal(response.status, 200, response.body.toString());
    const quotas = response.json<Quota[]>();
    assert.equal(quotas.length, 1);
    return quotas[0]!;
  }

  async function usageOf(projectId: number): Promise<number> {
    return (await quotaOf(projectId)).used.storage;
  }

  async function setLimit(projectId: number, storage: number): Promise<void> {
    const quota = await quotaOf(projectId);
    const response = await api(testAdmin, 'PUT', `/quotas/${quota.id}`, { hard: { storage } });
    assert.equal(response.status, 200, response.body.toString());
  }

  function pushMonolithic(repository: string, bytes: Buffer): Promise<TestResponse> {
    return registry.request('POST', `/v2/${repository}/blobs/uploads/?digest=${sha256(bytes)}`, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': bytes.length },
      body: bytes,
    });
  }

  /** POST, one PATCH with all the bytes, then PUT with the digest. */
  async function pushChunked(repository: string, bytes: Buffer): Promise<TestResponse> {
    const start = await registry.request('POST', `/v2/${repository}/blobs/uploads/`);
    assert.equal(start.status, 202);
    const patched = await registry.request('PATCH', start.header('location')!, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `0-${bytes.length - 1}`,
        'content-length': bytes.length,
      },
      body: bytes,
    });
    assert.equal(patched.status, 202, patched.body.toString());
    const location = patched.header('location')!;
    const separator = location.includes('?') ? '&' : '?';
    return registry.request('PUT', `${location}${separator}digest=${sha256(bytes)}`);
  }

  async function pushAlpine(repository: string, tag: string): Promise<TestResponse> {
    for (const blob of [alpine.config.bytes, alpine.layer.bytes]) {
      const head = await registry.request('HEAD', `/v2/${repository}/blobs/${sha256(blob)}`);
      if (head.status === 200) continue;
      const pushed = await pushMonolithic(repository, blob);
      if (pushed.status !== 201) return pushed;
    }
    return registry.putManifest(repository, tag, alpine.manifest, manifestType);
  }

  function assertDenied(response: TestResponse, pattern: RegExp): void {
    assert.equal(response.status, 403, response.body.toString());
    assert.equal(response.errorCode(), 'DENIED');
    const message = response.json<{ errors: { message: string }[] }>().errors[0]!.message;
    assert.match(message, pattern);
  }

  before(async () => {
    berth = await startTestBerth();
    registry = new RegistryClient(berth.url);
    alpine = await loadAlpine();
    const created = await api(testAdmin, 'POST', '/users', {
      username: user.username,
      email: 'quinn@example.com',
      realname: 'Quinn',
      password: user.password,
    });
    assert.equal(created.status, 201);
  });
  after(() => berth?.destroy());

  test('the limit holds for the real alpine image: layer, config and manifest each count', async () => {
    const project = await createProject('tight', alpine.total - 1);
    const quota = await quotaOf(project);
    assert.deepEqual(quota.hard, { storage: alpine.total - 1 });
    assert.deepEqual(quota.used, { storage: 0 });

    const refused = await pushAlpine('tight/alpine', 'v1');
    const configAndLayer = alpine.config.bytes.length + alpine.layer.bytes.length;
    assertDenied(
      refused,
      new RegExp(
        `^quota exceeded: project tight uses ${configAndLayer} of ${alpine.total - 1} bytes, this push needs ${alpine.manifest.length} more$`,
      ),
    );
    assert.equal(await usageOf(project), configAndLayer);
    const manifest = await registry.request('GET', `/v2/tight/alpine/manifests/${alpineManifestDigest}`, {
      headers: { accept: manifestType },
    });
    assert.equal(manifest.status, 404, 'a refused manifest is not visible');

    await setLimit(project, alpine.total);
    const accepted = await pushAlpine('tight/alpine', 'v1');
    assert.equal(accepted.status, 201, accepted.body.toString());
    assert.equal(await usageOf(project), alpine.total);

    // Full: a blob upload of one more byte is refused whichever way it comes, and leaves nothing.
    const extra = Buffer.from('one more blob');
    assertDenied(await pushMonolithic('tight/alpine', extra), /needs 13 more$/);
    assertDenied(await pushChunked('tight/alpine', extra), /needs 13 more$/);
    assert.equal((await registry.request('HEAD', `/v2/tight/alpine/blobs/${sha256(extra)}`)).status, 404);
    assert.equal(await usageOf(project), alpine.total);

    // The same image again, under a tag or in another repository of the project, needs nothing.
    assert.equal(
      (await registry.putManifest('tight/alpine', 'again', alpine.manifest, manifestType)).status,
      201,
    );
    const mounted = await registry.request(
      'POST',
      `/v2/tight/copy/blobs/uploads/?mount=${alpine.layer.digest}&from=tight/alpine`,
    );
    assert.equal(mounted.status, 201, mounted.body.toString());
    assert.equal((await pushAlpine('tight/copy', 'v1')).status, 201);
    assert.equal(await usageOf(project), alpine.total);
  });

  test('a blob shared by two repositories counts once in a project, and in each project holding it', async () => {
    const first = await createProject('shared-a');
    const second = await createProject('shared-b');
    assert.equal((await pushAlpine('shared-a/one', 'v1')).status, 201);
    assert.equal((await pushAlpine('shared-a/two', 'v1')).status, 201);
    assert.equal(await usageOf(first), alpine.total);

    // A mount into another project charges that project; the first stays as it was.
    const mounted = await registry.request(
      'POST',
      `/v2/shared-b/x/blobs/uploads/?mount=${alpine.layer.digest}&from=shared-a/one`,
    );
    assert.equal(mounted.status, 201);
    assert.equal(await usageOf(second), alpine.layer.bytes.length);
    assert.equal((await pushAlpine('shared-b/x', 'v1')).status, 201);
    assert.equal(await usageOf(second), alpine.total);
    assert.equal(await usageOf(first), alpine.total);

    // A mount the target project's limit cannot take is refused, and links nothing.
    const small = await createProject('shared-c', 1000);
    const refused = await registry.request(
      'POST',
      `/v2/shared-c/y/blobs/uploads/?mount=${alpine.layer.digest}&from=shared-a/one`,
    );
    assertDenied(
      refused,
      /^quota exceeded: project shared-c uses 0 of 1000 bytes, this push needs 3374446 more$/,
    );
    assert.equal((await registry.request('HEAD', `/v2/shared-c/y/blobs/${alpine.layer.digest}`)).status, 404);
    assert.equal(await usageOf(small), 0);

    // Deletes: the image stays counted while one repository of the project still holds it.
    const deleteOne = await registry.request('DELETE', `/v2/shared-a/one/manifests/${alpineManifestDigest}`);
    assert.equal(deleteOne.status, 202);
    assert.equal(await usageOf(first), alpine.total);
    const deleteTwo = await registry.request('DELETE', `/v2/shared-a/two/manifests/${alpineManifestDigest}`);
    assert.equal(deleteTwo.status, 202);
    assert.equal(await usageOf(first), 0, 'no manifest of the project references the blobs any more');
    assert.equal(await usageOf(second), alpine.total, 'the other project still holds its copy');

    // The blobs stay linked until garbage collection; a manifest pushed with them charges them again.
    assert.equal(
      (await registry.putManifest('shared-a/two', 'back', alpine.manifest, manifestType)).status,
      201,
    );
    assert.equal(await usageOf(first), alpine.total);
  });

  test('a blob deleted from one repository still counts while another repository of the project holds it', async () => {
    const project = await createProject('quota-unlink');
    const blob = randomBytes(4096);
    for (const repository of ['quota-unlink/a', 'quota-unlink/b']) {
      assert.equal((await pushMonolithic(repository, blob)).status, 201);
    }
    assert.equal(await usageOf(project), blob.length);
    const fromA = await registry.request('DELETE', `/v2/quota-unlink/a/blobs/${sha256(blob)}`);
    assert.equal(fromA.status, 202, fromA.body.toString());
    assert.equal(await usageOf(project), blob.length, 'b still holds the bytes');
    const fromB = await registry.request('DELETE', `/v2/quota-unlink/b/blobs/${sha256(blob)}`);
    assert.equal(fromB.status, 202, fromB.body.toString());
    assert.equal(await usageOf(project), 0);
  });

  test('GET/PUT /quotas: Harbor shape, filters, sorting, paging and permissions', async () => {
    const project = await createProject('shape', 5000);
    const quota = await quotaOf(project);
    assert.deepEqual(Object.keys(quota).sort(), [
      'creation_time',
      'hard',
      'id',
      'ref',
      'update_time',
      'used',
    ]);
    assert.deepEqual(quota.ref, { id: project, name: 'shape', owner_name: 'admin' });
    assert.match(quota.creation_time, /^\d{4}-\d\d-\d\dT/);

    const one = await api(testAdmin, 'GET', `/quotas/${quota.id}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.json(), quota);
    assert.equal((await api(testAdmin, 'GET', '/quotas/999999')).status, 404);

    const all = await api(testAdmin, 'GET', '/quotas?page_size=100');
    const quotas = all.json<Quota[]>();
    assert.equal(Number(all.header('x-total-count')), quotas.length);
    assert.ok(quotas.length >= 5);
    const byUsage = (await api(testAdmin, 'GET', '/quotas?sort=-used.storage&page_size=100')).json<Quota[]>();
    const usages = byUsage.map((entry) => entry.used.storage);
    assert.deepEqual(
      usages,
      [...usages].sort((a, b) => b - a),
    );
    const page = await api(testAdmin, 'GET', '/quotas?page=1&page_size=1');
    assert.equal(page.json<Quota[]>().length, 1);
    assert.match(page.header('link') ?? '', /rel="next"/);
    assert.deepEqual((await api(testAdmin, 'GET', '/quotas?reference=robot')).json(), []);
    assert.equal((await api(testAdmin, 'GET', '/quotas?sort=color')).status, 400);

    // Only system administrators read or change quotas.
    assert.equal((await api(user, 'GET', '/quotas')).status, 403);
    assert.equal((await api(user, 'GET', `/quotas/${quota.id}`)).status, 403);
    assert.equal((await api(user, 'PUT', `/quotas/${quota.id}`, { hard: { storage: -1 } })).status, 403);
    assert.equal((await api(null, 'GET', '/quotas')).status, 401);

    for (const hard of [{ storage: 0 }, { storage: -2 }, { count: 5 }, {}]) {
      const response = await api(testAdmin, 'PUT', `/quotas/${quota.id}`, { hard });
      assert.equal(response.status, 400, JSON.stringify(hard));
    }
    assert.equal((await api(testAdmin, 'PUT', `/quotas/${quota.id}`, { hard: { storage: -1 } })).status, 200);
    assert.deepEqual((await quotaOf(project)).hard, { storage: -1 });

    // The project API: storage_limit on update (administrators), the quota in the summary.
    const updated = await api(testAdmin, 'PUT', `/projects/${project}`, { storage_limit: 7777 });
    assert.equal(updated.status, 200);
    assert.deepEqual((await quotaOf(project)).hard, { storage: 7777 });
    assert.equal((await api(testAdmin, 'PUT', `/projects/${project}`, { storage_limit: -5 })).status, 400);
    const summary = await api(testAdmin, 'GET', `/projects/${project}/summary`);
    assert.deepEqual(summary.json<{ quota: unknown }>().quota, {
      hard: { storage: 7777 },
      used: { storage: 0 },
    });

    // A user's own project: the storage_limit they ask for is ignored (the default applies),
    // and its members see the quota in the summary.
    const own = await createProject('quinns', 10, user);
    assert.deepEqual((await quotaOf(own)).hard, { storage: -1 });
    const ownSummary = await api(user, 'GET', `/projects/${own}/summary`);
    assert.deepEqual(ownSummary.json<{ quota: unknown }>().quota, {
      hard: { storage: -1 },
      used: { storage: 0 },
    });
    assert.equal(
      (await api(testAdmin, 'POST', '/projects', { project_name: 'bad-limit', storage_limit: -3 })).status,
      400,
    );
  });

  test('quotas hold exactly under 16 concurrent pushers (no over-admission)', async () => {
    const size = 64 * 1024;
    const admits = 5;
    // Room for exactly `admits` blobs, and most of another.
    const limit = admits * size + size - 1;
    const project = await createProject('race', limit);
    const blobs = Array.from({ length: 16 }, (_, index) => {
      const bytes = Buffer.alloc(size);
      for (let offset = 0; offset < size; offset += 4)
        bytes.writeUInt32BE((index * 2654435761 + offset) >>> 0, offset);
      return bytes;
    });
    const results = await Promise.all(
      blobs.map((bytes, index) =>
        index % 2 === 0 ? pushMonolithic(`race/r${index}`, bytes) : pushChunked(`race/r${index}`, bytes),
      ),
    );
    const admitted = results.flatMap((response, index) => (response.status === 201 ? [index] : []));
    const refused = results.filter((response) => response.status === 403);
    assert.equal(admitted.length, admits, results.map((response) => response.status).join(','));
    assert.equal(refused.length, 16 - admits);
    for (const response of refused) assert.equal(response.errorCode(), 'DENIED');
    assert.equal(await usageOf(project), admits * size);
    for (const [index, bytes] of blobs.entries()) {
      const head = await registry.request('HEAD', `/v2/race/r${index}/blobs/${sha256(bytes)}`);
      assert.equal(head.status, admitted.includes(index) ? 200 : 404);
    }

    // Manifests for the admitted blobs, concurrently, against room for exactly two of them.
    const config = Buffer.from(
      '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}',
    );
    await setLimit(project, -1);
    for (const index of admitted) assert.equal((await pushMonolithic(`race/r${index}`, config)).status, 201);
    const withConfig = admits * size + config.length;
    assert.equal(await usageOf(project), withConfig);
    const manifests = admitted.map((index) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: manifestType,
          config: {
            mediaType: 'application/vnd.oci.image.config.v1+json',
            digest: sha256(config),
            size: config.length,
          },
          layers: [
            { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(blobs[index]!), size },
          ],
        }),
      ),
    );
    const manifestSize = manifests[0]!.length;
    assert.ok(manifests.every((manifest) => manifest.length === manifestSize));
    await setLimit(project, withConfig + 2 * manifestSize + manifestSize - 1);
    const pushed = await Promise.all(
      admitted.map((index, position) =>
        registry.putManifest(`race/r${index}`, 'v1', manifests[position]!, manifestType),
      ),
    );
    assert.equal(pushed.filter((response) => response.status === 201).length, 2);
    assert.equal(pushed.filter((response) => response.errorCode() === 'DENIED').length, admits - 2);
    assert.equal(await usageOf(project), withConfig + 2 * manifestSize);

    // Deleting brings usage back: a manifest takes itself and its layer with it (the config is
    // still referenced by the other), a blob no manifest references goes on its own.
    const tagged = admitted.filter((_, position) => pushed[position]!.status === 201);
    const untagged = admitted.filter((_, position) => pushed[position]!.status !== 201);
    const removed = await registry.request(
      'DELETE',
      `/v2/race/r${tagged[0]}/manifests/${sha256(manifests[admitted.indexOf(tagged[0]!)]!)}`,
    );
    assert.equal(removed.status, 202);
    assert.equal(await usageOf(project), withConfig + manifestSize - size);
    const blobGone = await registry.request(
      'DELETE',
      `/v2/race/r${untagged[0]}/blobs/${sha256(blobs[untagged[0]!]!)}`,
    );
    assert.equal(blobGone.status, 202);
    assert.equal(await usageOf(project), withConfig + manifestSize - 2 * size);
    const last = await registry.request(
      'DELETE',
      `/v2/race/r${tagged[1]}/manifests/${sha256(manifests[admitted.indexOf(tagged[1]!)]!)}`,
    );
    assert.equal(last.status, 202);
    // Left: the layers of the repositories whose manifest was refused. The config goes with
    // the last manifest that referenced it, though those repositories still link it (it
    // counts again when a manifest of theirs is pushed with it), as in Harbor.
    assert.equal(await usageOf(project), (admits - 3) * size);
  });
});

describe('migration 0012-quotas', () => {
  test('backfills each existing project: its manifests and the blobs they reference, once each', async () => {
    const dir = await makeTempDir('berth-quota-migration-');
    const kysely = new Kysely<Schema>({
      dialect: new SqliteDialect({ database: new SqliteDriver(join(dir, 'berth.db')) }),
    });
    try {
      const migrator = new Migrator({ db: kysely, provider: migrationProvider });
      const names = Object.keys(await migrationProvider.getMigrations()).sort();
      const before = names[names.indexOf('0012-quotas') - 1]!;
      const first = await migrator.migrateTo(before);
      assert.equal(first.error, undefined);
      const db = new KyselyDatabase(kysely);
      const old = await db.projects.insert({ name: 'old', owner_id: 0, now: 1 }, {});
      const other = await db.projects.insert({ name: 'other', owner_id: 0, now: 1 }, {});
      const blob = async (repository: string, digest: string, size: number) => {
        await db.repositories.ensure(repository, 1);
        await db.blobs.insert(digest, size, 1);
        await db.blobs.link(repository, digest, 1);
      };
      const manifest = async (repository: string, digest: string, size: number, blobs: string[]) => {
        await db.repositories.ensure(repository, 1);
        await db.blobs.insert(digest, size, 1);
        await db.manifests.insert(
          {
            repository,
            digest,
            media_type: manifestType,
            size,
            artifact_type: null,
            subject: null,
            annotations: null,
            created_at: 1,
          },
          blobs.map((child) => ({ child, kind: 'blob' as const })),
        );
      };
      const [config, layer, layer2, pending] = ['c', 'l', 'l2', 'p'].map((name) => sha256(name));
      await blob('old/a', config!, 100);
      await blob('old/a', layer!, 1000);
      await blob('old/a', pending!, 7);
      await manifest('old/a', sha256('m1'), 10, [config!, layer!]);
      await blob('old/b', config!, 100);
      await blob('old/b', layer2!, 2000);
      await manifest('old/b', sha256('m2'), 20, [config!, layer2!]);
      await blob('other/x', config!, 100);
      await blob('other/x', layer!, 1000);
      await manifest('other/x', sha256('m1'), 10, [config!, layer!]);

      const rest = await migrator.migrateToLatest();
      assert.equal(rest.error, undefined);
      assert.deepEqual(await db.quotas.findByProject(old), { hard: -1, used: 10 + 20 + 100 + 1000 + 2000 });
      assert.deepEqual(await db.quotas.findByProject(other), { hard: -1, used: 10 + 100 + 1000 });
    } finally {
      await kysely.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
