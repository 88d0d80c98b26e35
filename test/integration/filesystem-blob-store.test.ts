import assert from 'node:assert/strict';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { digestOf } from '../../src/oci/digest.ts';
import { blobStoreConformance } from '../../src/storage/conformance.ts';
import { FilesystemBlobStore } from '../../src/storage/filesystem/filesystem-blob-store.ts';
import { FilesystemLayout } from '../../src/storage/filesystem/layout.ts';
import { makeTempDir } from '../helpers/berth.ts';

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function freshStore(): Promise<FilesystemBlobStore> {
  const root = await makeTempDir('berth-fs-');
  roots.push(root);
  const store = new FilesystemBlobStore(root);
  await store.init();
  return store;
}

blobStoreConformance('filesystem', freshStore);

describe('filesystem layout', () => {
  it('stores content at blobs/<algorithm>/<two hex>/<hex>, once', async () => {
    const root = await makeTempDir('berth-fs-');
    roots.push(root);
    const store = new FilesystemBlobStore(root);
    await store.init();
    const bytes = Buffer.from('layout');
    const digest = digestOf(bytes);
    const hex = digest.slice('sha256:'.length);
    await store.put(digest, bytes);
    assert.equal((await stat(join(root, 'blobs', 'sha256', hex.slice(0, 2), hex))).size, 6);
    assert.deepEqual(await readdir(join(root, 'uploads')), []);
  });

  it('refuses upload ids and digests that could name other paths', () => {
    const layout = new FilesystemLayout('/srv');
    for (const id of ['../x', 'a/b', '', 'a'.repeat(65), '.'])
      assert.throws(() => layout.uploadPath(id), /not an upload id/);
    assert.throws(() => layout.blobPath('sha256:../../etc/passwd' as never), /not a digest/);
  });
});
