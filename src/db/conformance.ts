import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Database } from './database.ts';
import type { ManifestRow } from './manifests.ts';

const digest = (c: string) => `sha256:${c.repeat(64)}`;

function manifestRow(repository: string, d: string, extra: Partial<ManifestRow> = {}): ManifestRow {
  return {
    repository,
    digest: d,
    media_type: 'application/vnd.oci.image.manifest.v1+json',
    size: 100,
    artifact_type: null,
    subject: null,
    annotations: null,
    created_at: 1,
    ...extra,
  };
}

/**
 * The behaviour every Database backend must have. A backend's test file calls this with a
 * factory for a fresh, migrated, empty database.
 */
export function databaseConformance(backend: string, create: () => Promise<Database>): void {
  describe(`${backend} database conformance`, () => {
    it('migrates idempotently', async () => {
      const db = await create();
      assert.deepEqual(await db.migrate(), []);
      await db.close();
    });

    it('links blobs into repositories and finds them only there', async () => {
      const db = await create();
      await db.repositories.ensure('a/b', 1);
      await db.repositories.ensure('a/b', 2);
      await db.blobs.insert(digest('1'), 5_000_000_000, 1);
      await db.blobs.insert(digest('1'), 5_000_000_000, 1);
      await db.blobs.link('a/b', digest('1'), 1);
      await db.blobs.link('a/b', digest('1'), 2);
      assert.equal(Number((await db.blobs.findInRepository('a/b', digest('1')))?.size), 5_000_000_000);
      await db.repositories.ensure('other', 1);
      assert.equal(await db.blobs.findInRepository('other', digest('1')), undefined);
      assert.deepEqual(
        [...(await db.blobs.findManyInRepository('a/b', [digest('1'), digest('2')]))],
        [[digest('1'), 5_000_000_000]],
      );
      assert.equal(await db.blobs.unlink('a/b', digest('1')), true);
      assert.equal(await db.blobs.unlink('a/b', digest('1')), false);
      await db.blobs.link('a/b', digest('1'), 3);
      assert.equal(
        Number((await db.blobs.findInRepository('a/b', digest('1')))?.size),
        5_000_000_000,
        'content stays for GC',
      );
      await db.close();
    });

    it('stores manifests, moves tags, and cascades tag removal with the manifest', async () => {
      const db = await create();
      await db.repositories.ensure('r', 1);
      await db.manifests.insert(manifestRow('r', digest('a')), [{ child: digest('c'), kind: 'blob' }]);
      await db.manifests.insert(manifestRow('r', digest('a')), [{ child: digest('c'), kind: 'blob' }]);
      await db.manifests.insert(manifestRow('r', digest('b')), []);
      await db.tags.upsert('r', 'latest', digest('a'), 1);
      assert.equal((await db.manifests.findByTag('r', 'latest'))?.digest, digest('a'));
      await db.tags.upsert('r', 'latest', digest('b'), 2);
      assert.equal(await db.tags.find('r', 'latest'), digest('b'));
      await db.tags.upsert('r', 'v1', digest('b'), 3);
      assert.deepEqual(await db.tags.findForManifest('r', digest('b')), ['latest', 'v1']);
      assert.equal(await db.manifests.delete('r', digest('b')), true);
      assert.deepEqual(await db.tags.list('r', { limit: 10 }), []);
      assert.equal(await db.manifests.delete('r', digest('b')), false);
      await db.close();
    });

    it('pages tags and the catalog in byte order after `last`', async () => {
      const db = await create();
      for (const name of ['b', 'a', 'c/d']) {
        await db.repositories.ensure(name, 1);
        await db.manifests.insert(manifestRow(name, digest('9')), []);
      }
      await db.repositories.ensure('empty', 1);
      assert.deepEqual(await db.repositories.findWithManifests({ limit: 10 }), ['a', 'b', 'c/d']);
      assert.deepEqual(await db.repositories.findWithManifests({ limit: 1, last: 'a' }), ['b']);
      for (const tag of ['v10', 'V2', 'v2', '_x', 'latest']) await db.tags.upsert('a', tag, digest('9'), 1);
      assert.deepEqual(await db.tags.list('a', { limit: 10 }), ['V2', '_x', 'latest', 'v10', 'v2']);
      assert.deepEqual(await db.tags.list('a', { limit: 2, last: '_x' }), ['latest', 'v10']);
      await db.close();
    });

    it('lists referrers by subject and artifact type, paged in digest order', async () => {
      const db = await create();
      await db.repositories.ensure('r', 1);
      await db.manifests.insert(
        manifestRow('r', digest('1'), { subject: digest('s'), artifact_type: 'x/sig', created_at: 2 }),
        [],
      );
      await db.manifests.insert(
        manifestRow('r', digest('2'), {
          subject: digest('s'),
          artifact_type: 'x/sbom',
          created_at: 1,
          annotations: '{"a":"b"}',
        }),
        [],
      );
      await db.manifests.insert(manifestRow('r', digest('3')), []);
      const referrers = (page: Parameters<typeof db.manifests.findReferrers>[2], subject = digest('s')) =>
        db.manifests.findReferrers('r', subject, page).then((rows) => rows.map((row) => row.digest));
      assert.deepEqual(await referrers({ limit: 10 }), [digest('1'), digest('2')]);
      assert.deepEqual(await referrers({ limit: 10, artifactType: 'x/sig' }), [digest('1')]);
      assert.deepEqual(await referrers({ limit: 1 }), [digest('1')]);
      assert.deepEqual(await referrers({ limit: 10, after: digest('1') }), [digest('2')]);
      assert.deepEqual(await referrers({ limit: 10 }, digest('none')), []);
      await db.close();
    });

    it('advances upload sessions only from the expected size', async () => {
      const db = await create();
      await db.repositories.ensure('r', 1);
      await db.uploads.insert({ id: 'u1', repository: 'r', size: 0, created_at: 1, updated_at: 1 });
      assert.equal(await db.uploads.advance('u1', 0, 10, 2), true);
      assert.equal(await db.uploads.advance('u1', 0, 20, 3), false);
      assert.equal(Number((await db.uploads.find('u1'))?.size), 10);
      assert.deepEqual(
        (await db.uploads.findIdle(3, 10)).map((row) => row.id),
        ['u1'],
      );
      assert.deepEqual(await db.uploads.findIdle(2, 10), []);
      assert.equal(await db.uploads.delete('u1'), true);
      assert.equal(await db.uploads.find('u1'), undefined);
      await db.close();
    });

    it('charges storage to a project once per digest, refuses past the limit, releases what nothing references', async () => {
      const db = await create();
      const project = await db.projects.insert({ name: 'q', owner_id: 0, now: 1 }, {});
      await db.quotas.insert(project, 150, 1);
      const charge = (contents: { digest: string; size: number }[]) => db.quotas.charge('q', contents, 2);
      assert.deepEqual(await charge([{ digest: digest('1'), size: 100 }]), { admitted: true, charged: 100 });
      assert.deepEqual(await charge([{ digest: digest('1'), size: 100 }]), { admitted: true, charged: 0 });
      assert.deepEqual(await charge([{ digest: digest('2'), size: 60 }]), {
        admitted: false,
        used: 100,
        hard: 150,
        needed: 60,
      });
      assert.deepEqual(
        await charge([
          { digest: digest('3'), size: 10 },
          { digest: digest('1'), size: 100 },
        ]),
        {
          admitted: true,
          charged: 10,
        },
      );
      assert.deepEqual(await db.quotas.charge('no-such-project', [{ digest: digest('4'), size: 9 }], 2), {
        admitted: true,
        charged: 0,
      });
      await db.repositories.ensure('q/r', 1);
      await db.manifests.insert(manifestRow('q/r', digest('3'), { size: 10 }), [
        { child: digest('1'), kind: 'blob' },
      ]);
      assert.equal(await db.quotas.release('q', [digest('1'), digest('3')], 3), 0, 'a manifest holds both');
      await db.manifests.delete('q/r', digest('3'));
      assert.equal(await db.quotas.release('q', [digest('1'), digest('3')], 3), 110);
      assert.deepEqual(await db.quotas.findByProject(project), { hard: 150, used: 0 });
      await db.close();
    });

    it('rolls a failed transaction back entirely', async () => {
      const db = await create();
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.repositories.ensure('rolled-back', 1);
          throw new Error('abort');
        }),
        /abort/,
      );
      assert.equal(await db.repositories.exists('rolled-back'), false);
      await db.close();
    });
  });
}
