import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Descriptor, ParsedManifest } from '../../src/oci/manifest.ts';
import { analyzeImage } from '../../src/scan/analyze.ts';
import { parseStanzas } from '../../src/scan/dpkg.ts';
import { MemoryBlobs } from '../helpers/layer-tars.ts';
import { missingTools } from '../helpers/tools.ts';

function imageOf(layers: Descriptor[]): ParsedManifest {
  return { mediaType: 'application/vnd.oci.image.manifest.v1+json', kind: 'image', layers, manifests: [] };
}

const apkRecord = (name: string, version: string, origin: string): string =>
  `C:Q1x=\nP:${name}\nV:${version}\nA:x86_64\no:${origin}\n`;

/** Real stanzas of this machine's dpkg database, so the records are as dpkg writes them. */
function hostStanzas(count: number): { text: string; name: string; version: string }[] {
  const status = readFileSync('/var/lib/dpkg/status', 'utf8');
  return parseStanzas(status)
    .filter((stanza) => stanza.get('status')?.endsWith(' installed'))
    .slice(0, count)
    .map((stanza) => ({
      text: [...stanza].map(([key, value]) => `${key}: ${value.replaceAll('\n', '\n ')}`).join('\n'),
      name: stanza.get('package')!,
      version: stanza.get('version')!,
    }));
}

describe('analyzeImage', () => {
  it('credits each package to the layer whose database first listed that version', async () => {
    const blobs = new MemoryBlobs();
    const osRelease = { name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.17.2\n' };
    const base = await blobs.addGzippedTar([
      osRelease,
      {
        name: 'lib/apk/db/installed',
        content: `${apkRecord('musl', '1.2.3-r4', 'musl')}\n${apkRecord('zlib', '1.2.13-r0', 'zlib')}\n`,
      },
    ]);
    const unrelated = await blobs.addGzippedTar([{ name: 'app/main.js', content: 'console.log(1)' }]);
    const upgrade = await blobs.addGzippedTar([
      {
        name: 'lib/apk/db/installed',
        content: `${apkRecord('musl', '1.2.3-r4', 'musl')}\n${apkRecord('zlib', '1.2.13-r1', 'zlib')}\n${apkRecord('libcrypto3', '3.0.8-r0', 'openssl')}\n`,
      },
    ]);
    const analysis = await analyzeImage(imageOf([base, unrelated, upgrade]), blobs.open);
    const layerOf = Object.fromEntries(
      analysis.packages.map((pkg) => [`${pkg.name}@${pkg.version}`, pkg.layerDigest]),
    );
    assert.deepEqual(layerOf, {
      'musl@1.2.3-r4': base.digest,
      'zlib@1.2.13-r1': upgrade.digest,
      'libcrypto3@3.0.8-r0': upgrade.digest,
    });
    assert.equal(analysis.os?.family, 'alpine');
  });

  it('reads dpkg status with the Ubuntu namespace and drops packages a later layer removed', {
    skip: missingTools('dpkg-query'),
  }, async () => {
    const [first, second] = hostStanzas(2);
    assert.ok(first && second);
    const blobs = new MemoryBlobs();
    const base = await blobs.addGzippedTar([
      { name: 'usr/lib/os-release', content: 'ID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\n' },
      { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
      { name: 'var/lib/dpkg/status', content: `${first.text}\n\n${second.text}\n` },
    ]);
    const removal = await blobs.addGzippedTar([{ name: 'var/lib/dpkg/status', content: `${first.text}\n` }]);
    const analysis = await analyzeImage(imageOf([base, removal]), blobs.open);
    assert.equal(analysis.os?.family, 'ubuntu');
    assert.deepEqual(
      analysis.packages.map((pkg) => [pkg.name, pkg.version, pkg.layerDigest, pkg.dbPath]),
      [[first.name, first.version, base.digest, '/var/lib/dpkg/status']],
    );
    assert.match(analysis.packages[0]!.purl, /^pkg:deb\/ubuntu\/.*distro=ubuntu-22\.04/);
  });

  it('recognises distroless images by their status.d records', {
    skip: missingTools('dpkg-query'),
  }, async () => {
    const [first, second] = hostStanzas(2);
    assert.ok(first && second);
    const withoutStatus = (text: string) => text.replace(/^status: .*\n/m, '');
    const blobs = new MemoryBlobs();
    const layer = await blobs.addGzippedTar([
      { name: 'etc/os-release', content: 'PRETTY_NAME="Distroless"\nID=debian\nVERSION_ID="12"\n' },
      { name: `var/lib/dpkg/status.d/${first.name}`, content: withoutStatus(first.text) },
      {
        name: `var/lib/dpkg/status.d/${first.name}.md5sums`,
        content: 'd41d8cd98f00b204e9800998ecf8427e  usr/x\n',
      },
      { name: `var/lib/dpkg/status.d/${second.name}`, content: withoutStatus(second.text) },
    ]);
    const analysis = await analyzeImage(imageOf([layer]), blobs.open);
    assert.equal(analysis.os?.family, 'distroless');
    assert.deepEqual(analysis.packages.map((pkg) => pkg.name).sort(), [first.name, second.name].sort());
    assert.ok(analysis.packages.every((pkg) => pkg.dbPath === `/var/lib/dpkg/status.d/${pkg.name}`));
  });

  it('notes what it cannot read', async () => {
    const blobs = new MemoryBlobs();
    const rocky = await blobs.addGzippedTar([
      { name: 'etc/os-release', content: 'ID="rocky"\nVERSION_ID="9.3"\nPRETTY_NAME="Rocky Linux 9.3"\n' },
    ]);
    const analysis = await analyzeImage(imageOf([rocky]), blobs.open);
    assert.equal(analysis.os?.family, 'rhel-like');
    assert.match(
      analysis.notes.join('\n'),
      /Rocky Linux 9\.3: no rpm database found, so its rpm packages are not listed/,
    );
    const empty = await analyzeImage(imageOf([await blobs.addGzippedTar([])]), blobs.open);
    assert.equal(empty.os, undefined);
    assert.match(empty.notes.join('\n'), /operating system unknown/);
  });

  it('refuses an index', async () => {
    const index: ParsedManifest = {
      mediaType: 'application/vnd.oci.image.index.v1+json',
      kind: 'index',
      layers: [],
      manifests: [],
    };
    await assert.rejects(analyzeImage(index, new MemoryBlobs().open), /scan one of its manifests/);
  });
});
