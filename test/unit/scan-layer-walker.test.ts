import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { defaultWalkLimits, walkLayers } from '../../src/scan/layer-walker.ts';
import { ScanError } from '../../src/scan/scan-error.ts';
import { isWantedFile } from '../../src/scan/wanted-files.ts';
import { MemoryBlobs, tarOf } from '../helpers/layer-tars.ts';

const text = (content: Buffer | undefined): string | undefined => content?.toString('utf8');

describe('layer walker', () => {
  it('lets a later layer override an earlier one and records the layer that wrote each file', async () => {
    const blobs = new MemoryBlobs();
    const base = await blobs.addGzippedTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/os-release', content: 'ID=debian\n' },
      { name: 'var/lib/dpkg/status', content: 'base status' },
    ]);
    const upper = await blobs.addGzippedTar([{ name: './etc/os-release', content: 'ID=ubuntu\n' }]);
    const walk = await walkLayers([base, upper], blobs.open, isWantedFile);
    assert.equal(text(walk.files.get('etc/os-release')?.content), 'ID=ubuntu\n');
    assert.equal(walk.files.get('etc/os-release')?.layerDigest, upper.digest);
    assert.equal(walk.files.get('var/lib/dpkg/status')?.layerDigest, base.digest);
    assert.equal(text(walk.layers[0]?.files.get('etc/os-release')?.content), 'ID=debian\n');
  });

  it('applies file and directory whiteouts to lower layers only', async () => {
    const blobs = new MemoryBlobs();
    const base = await blobs.addGzippedTar([
      { name: 'var/lib/dpkg/status', content: 'status' },
      { name: 'var/lib/dpkg/status.d/base', content: 'Package: base' },
      { name: 'etc/os-release', content: 'ID=alpine' },
    ]);
    const upper = await blobs.addGzippedTar([
      { name: 'var/lib/.wh.dpkg', content: '' },
      { name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=2' },
      { name: 'etc/.wh.os-release', content: '' },
    ]);
    const walk = await walkLayers([base, upper], blobs.open, isWantedFile);
    assert.deepEqual([...walk.files.keys()], ['etc/os-release']);
    assert.equal(walk.files.get('etc/os-release')?.layerDigest, upper.digest);
  });

  it('empties an opaque directory of lower-layer files but keeps the same layer’s files', async () => {
    const blobs = new MemoryBlobs();
    const base = await blobs.addGzippedTar([
      { name: 'var/lib/dpkg/status.d/a', content: 'Package: a' },
      { name: 'var/lib/dpkg/status.d/b', content: 'Package: b' },
    ]);
    const upper = await blobs.addGzippedTar([
      { name: 'var/lib/dpkg/status.d/c', content: 'Package: c' },
      { name: 'var/lib/dpkg/status.d/.wh..wh..opq', content: '' },
    ]);
    const walk = await walkLayers([base, upper], blobs.open, isWantedFile);
    assert.deepEqual([...walk.files.keys()], ['var/lib/dpkg/status.d/c']);
  });

  it('ignores entries with .. in their path and links that leave the image', async () => {
    const blobs = new MemoryBlobs();
    const layer = await blobs.addGzippedTar([
      { name: '../../etc/os-release', content: 'ID=escaped' },
      { name: 'var/../../lib/apk/db/installed', content: 'P:evil' },
      { name: 'etc/os-release', type: 'symlink', linkname: '../../../../etc/passwd' },
      { name: 'usr/lib/os-release', type: 'symlink', linkname: '/proc/self/environ' },
    ]);
    const walk = await walkLayers([layer], blobs.open, isWantedFile);
    assert.equal(walk.files.size, 0);
    assert.ok(
      walk.notes.some((note) => note.includes("ignored 2 entries with '..'")),
      walk.notes.join('\n'),
    );
    assert.ok(
      walk.notes.some((note) => note.includes('/etc/os-release') && note.includes('outside the image')),
    );
    // An absolute target is read inside the image, never on the host; nothing captured is there.
    assert.ok(
      walk.notes.some((note) => note.includes('/usr/lib/os-release') && note.includes('not capture')),
    );
  });

  it('follows a link inside the image and stops on a symlink loop', async () => {
    const blobs = new MemoryBlobs();
    const good = await blobs.addGzippedTar([
      { name: 'usr/lib/os-release', content: 'ID=debian\n' },
      { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
    ]);
    const walk = await walkLayers([good], blobs.open, isWantedFile);
    assert.equal(text(walk.files.get('etc/os-release')?.content), 'ID=debian\n');

    const loop = await blobs.addGzippedTar([
      { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
      { name: 'usr/lib/os-release', type: 'symlink', linkname: '/etc/os-release' },
    ]);
    const looped = await walkLayers([loop], blobs.open, isWantedFile);
    assert.equal(looped.files.size, 0);
    assert.ok(
      looped.notes.some((note) => note.includes('symlink loop')),
      looped.notes.join('\n'),
    );
  });

  it('reads uncompressed tar layers', async () => {
    const blobs = new MemoryBlobs();
    const layer = blobs.add(
      await tarOf([{ name: 'etc/os-release', content: 'ID=alpine' }]),
      'application/vnd.oci.image.layer.v1.tar',
    );
    const walk = await walkLayers([layer], blobs.open, isWantedFile);
    assert.equal(text(walk.files.get('etc/os-release')?.content), 'ID=alpine');
  });

  it('fails with a clear error on a truncated gzip layer', async () => {
    const blobs = new MemoryBlobs();
    const whole = gzipSync(await tarOf([{ name: 'etc/os-release', content: 'x'.repeat(50_000) }]));
    const layer = blobs.add(whole.subarray(0, Math.floor(whole.length / 2)));
    await assert.rejects(walkLayers([layer], blobs.open, isWantedFile), (error: Error) => {
      assert.ok(error instanceof ScanError);
      assert.match(error.message, new RegExp(`layer ${layer.digest} is truncated or corrupt`));
      return true;
    });
  });

  it('fails with a clear error on a truncated tar inside a valid gzip stream', async () => {
    const blobs = new MemoryBlobs();
    const tar = await tarOf([{ name: 'etc/os-release', content: 'x'.repeat(5000) }]);
    const layer = blobs.add(gzipSync(tar.subarray(0, 2048)));
    await assert.rejects(walkLayers([layer], blobs.open, isWantedFile), /is truncated or corrupt/);
  });

  it('releases the blob stream when it gives up part-way through a layer', async () => {
    const blobs = new MemoryBlobs();
    // Incompressible entries, so the failure comes long before the blob is read to its end.
    const layer = await blobs.addGzippedTar(
      Array.from({ length: 200 }, (_, index) => ({
        name: `tmp/${index}`,
        content: randomBytes(10_000).toString('hex'),
      })),
    );
    let opened: Readable | undefined;
    const open = (digest: string): Readable => {
      opened = blobs.open(digest);
      return opened;
    };
    const limits = { ...defaultWalkLimits, maxEntriesPerLayer: 5 };
    await assert.rejects(walkLayers([layer], open, isWantedFile, limits), /more than 5 entries/);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(opened?.readableEnded, false, 'the walker stopped early');
    assert.equal(opened?.destroyed, true);
  });

  it('refuses zstd layers with a message that says so', async () => {
    const blobs = new MemoryBlobs();
    const layer = blobs.add(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
    await assert.rejects(walkLayers([layer], blobs.open, isWantedFile), /zstd-compressed/);
  });

  it('stops at the entry caps per layer and per image', async () => {
    const blobs = new MemoryBlobs();
    const many = await blobs.addGzippedTar(
      Array.from({ length: 20 }, (_, index) => ({ name: `tmp/file-${index}`, content: 'x' })),
    );
    const perLayer = { ...defaultWalkLimits, maxEntriesPerLayer: 10 };
    await assert.rejects(walkLayers([many], blobs.open, isWantedFile, perLayer), /has more than 10 entries/);
    const total = { ...defaultWalkLimits, maxEntriesTotal: 30 };
    await assert.rejects(
      walkLayers([many, many], blobs.open, isWantedFile, total),
      /more than 30 file entries/,
    );
  });

  it('refuses a wanted file above the size cap but streams past big unwanted files', async () => {
    const blobs = new MemoryBlobs();
    const layer = await blobs.addGzippedTar([
      { name: 'usr/share/big.bin', content: 'y'.repeat(100_000) },
      { name: 'var/lib/dpkg/status', content: 'z'.repeat(2000) },
    ]);
    const small = { ...defaultWalkLimits, maxFileBytes: 1000 };
    await assert.rejects(walkLayers([layer], blobs.open, isWantedFile, small), /larger than 1000 bytes/);
    const walk = await walkLayers([layer], blobs.open, isWantedFile, {
      ...defaultWalkLimits,
      maxFileBytes: 5000,
    });
    assert.deepEqual([...walk.files.keys()], ['var/lib/dpkg/status']);
  });
});
