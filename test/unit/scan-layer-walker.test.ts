import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { StreamDetector } from '../../src/scan/language-package.ts';
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

  it('reads zstd-compressed layers (compressed by the zstd tool) like gzip ones', async () => {
    const blobs = new MemoryBlobs();
    const tar = await tarOf([
      { name: 'etc/os-release', content: 'ID=alpine\n' },
      { name: 'usr/share/filler', content: 'f'.repeat(300_000) },
      { name: 'lib/apk/db/installed', content: 'P:musl\nV:1.2.3-r4\n' },
    ]);
    const layer = blobs.add(
      execFileSync('zstd', ['-q', '-c', '-19'], { input: tar }),
      'application/vnd.oci.image.layer.v1.tar+zstd',
    );
    const walk = await walkLayers([layer], blobs.open, isWantedFile);
    assert.deepEqual([...walk.files.keys()].sort(), ['etc/os-release', 'lib/apk/db/installed']);
    assert.equal(text(walk.files.get('lib/apk/db/installed')?.content), 'P:musl\nV:1.2.3-r4\n');
  });

  it('fails a corrupt zstd layer with a message naming the layer', async () => {
    const blobs = new MemoryBlobs();
    const tar = await tarOf([{ name: 'etc/os-release', content: 'ID=alpine\n'.repeat(1000) }]);
    const zstd = execFileSync('zstd', ['-q', '-c'], { input: tar });
    const layer = blobs.add(zstd.subarray(0, Math.floor(zstd.length / 2)));
    await assert.rejects(walkLayers([layer], blobs.open, isWantedFile), (error: Error) => {
      assert.ok(error instanceof ScanError);
      assert.match(error.message, new RegExp(`layer ${layer.digest} is truncated or corrupt`));
      return true;
    });
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

  it('notes and skips a wanted file above its size cap, hiding the lower copy, and streams past big unwanted files', async () => {
    const blobs = new MemoryBlobs();
    const base = await blobs.addGzippedTar([{ name: 'var/lib/dpkg/status', content: 'small' }]);
    const layer = await blobs.addGzippedTar([
      { name: 'usr/share/big.bin', content: 'y'.repeat(100_000) },
      { name: 'var/lib/dpkg/status', content: 'z'.repeat(2000) },
    ]);
    const small = { ...defaultWalkLimits, maxFileBytes: 1000 };
    const capped = await walkLayers([base, layer], blobs.open, isWantedFile, small);
    assert.deepEqual([...capped.files.keys()], []);
    assert.deepEqual(capped.notes, [
      `/var/lib/dpkg/status in layer ${layer.digest} is larger than 1000 bytes and was not read`,
    ]);
    const walk = await walkLayers([layer], blobs.open, isWantedFile, {
      ...defaultWalkLimits,
      maxFileBytes: 5000,
    });
    assert.deepEqual([...walk.files.keys()], ['var/lib/dpkg/status']);
  });

  it('stops capturing past the per-image budget, with a note, so many lockfiles cannot exhaust memory', async () => {
    const blobs = new MemoryBlobs();
    const layer = await blobs.addGzippedTar([
      { name: 'etc/os-release', content: 'ID=debian\n' },
      { name: 'var/lib/dpkg/status', content: 'p'.repeat(600) },
      { name: 'lib/apk/db/installed', content: 'a'.repeat(600) },
    ]);
    const walk = await walkLayers([layer], blobs.open, isWantedFile, {
      ...defaultWalkLimits,
      maxCapturedBytes: 1000,
    });
    assert.deepEqual([...walk.files.keys()].sort(), ['etc/os-release', 'var/lib/dpkg/status']);
    assert.ok(
      walk.notes.some((note) => note.startsWith('the image holds more than 1000 bytes of package metadata')),
      walk.notes.join('\n'),
    );
  });

  describe('stream detectors', () => {
    /** Summarises a file by its first bytes; stops reading early, as real detectors do. */
    const headDetector = (seen: { tempDirs: string[] }): StreamDetector => ({
      name: 'head',
      matches: (path, _size, mode) => path.startsWith('app/') && (mode & 0o111) !== 0,
      async extract(content, context) {
        seen.tempDirs.push(context.tempDir);
        await writeFile(join(context.tempDir, 'spool'), 'x');
        for await (const chunk of content) {
          const head = (chunk as Buffer).subarray(0, 4).toString('latin1');
          return head === 'BIN!' ? Buffer.from(`${head}:${context.size}`) : undefined;
        }
        return undefined;
      },
      parse: () => [],
    });

    it('keeps the summary in the file’s place, drains what the detector left and cleans its temp area', async () => {
      const blobs = new MemoryBlobs();
      const base = await blobs.addGzippedTar([
        { name: 'app/tool', content: `BIN!${'b'.repeat(200_000)}`, mode: 0o755 },
        { name: 'app/data', content: `BIN!${'d'.repeat(10)}`, mode: 0o644 },
        { name: 'app/script', content: '#!/bin/sh\n', mode: 0o755 },
        { name: 'etc/os-release', content: 'ID=debian\n' },
      ]);
      const upper = await blobs.addGzippedTar([{ name: 'app/tool2', content: 'BIN!x', mode: 0o755 }]);
      const seen = { tempDirs: [] as string[] };
      const detector = headDetector(seen);
      const selection = {
        capture: (path: string) => (isWantedFile(path) ? 1000 : undefined),
        extractor: (path: string, size: number, mode: number) =>
          detector.matches(path, size, mode) ? detector : undefined,
      };
      const walk = await walkLayers([base, upper], blobs.open, selection);
      assert.deepEqual([...walk.files.keys()].sort(), ['app/tool', 'app/tool2', 'etc/os-release']);
      assert.equal(text(walk.files.get('app/tool')?.content), 'BIN!:200004');
      assert.equal(walk.files.get('app/tool')?.detector, 'head');
      assert.equal(walk.files.get('app/tool')?.layerDigest, base.digest);
      assert.equal(text(walk.files.get('etc/os-release')?.content), 'ID=debian\n');
      assert.ok(seen.tempDirs.length >= 2);
      for (const dir of seen.tempDirs) assert.equal(existsSync(dir), false, `${dir} was removed`);
    });

    it('forgets a detected file that a later layer replaces with something else or whites out', async () => {
      const blobs = new MemoryBlobs();
      const base = await blobs.addGzippedTar([
        { name: 'app/one', content: 'BIN!1', mode: 0o755 },
        { name: 'app/two', content: 'BIN!2', mode: 0o755 },
        { name: 'app/three', content: 'BIN!3', mode: 0o755 },
      ]);
      const upper = await blobs.addGzippedTar([
        { name: 'app/one', content: 'plain text now', mode: 0o644 },
        { name: 'app/.wh.two', content: '' },
        { name: 'app/three', type: 'symlink', linkname: '/bin/true' },
      ]);
      const seen = { tempDirs: [] as string[] };
      const detector = headDetector(seen);
      const selection = {
        capture: () => undefined,
        extractor: (path: string, size: number, mode: number) =>
          detector.matches(path, size, mode) ? detector : undefined,
      };
      const walk = await walkLayers([base, upper], blobs.open, selection);
      assert.deepEqual([...(walk.layers[0]?.files.keys() ?? [])].sort(), ['app/one', 'app/three', 'app/two']);
      assert.deepEqual([...walk.files.keys()], []);
    });
  });
});
