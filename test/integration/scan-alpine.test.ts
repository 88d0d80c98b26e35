import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseManifest } from '../../src/oci/manifest.ts';
import { analyzeImage, type ImageAnalysis } from '../../src/scan/analyze.ts';
import { alpineLayout } from '../helpers/fixtures.ts';
import { readLayoutBlob, readLayoutIndex } from '../helpers/oci-layout.ts';
import { missingTools } from '../helpers/tools.ts';

const blobPath = (digest: string): string => join(alpineLayout(), 'blobs', ...digest.split(':'));

describe('image analysis of the real alpine:3.17.2', { skip: missingTools('tar', 'awk') }, () => {
  let analysis: ImageAnalysis;
  let layerDigests: string[];

  before(async () => {
    const layout = alpineLayout();
    const entry = (await readLayoutIndex(layout)).manifests.find(
      (manifest) =>
        (manifest as { platform?: { os: string; architecture: string } }).platform?.architecture === 'amd64',
    );
    assert.ok(entry, 'the layout has a linux/amd64 manifest');
    const manifest = parseManifest(await readLayoutBlob(layout, entry.digest), entry.mediaType);
    layerDigests = manifest.layers.map((layer) => layer.digest);
    analysis = await analyzeImage(manifest, (digest) => createReadStream(blobPath(digest)));
  });

  it('detects Alpine 3.17.2', () => {
    assert.equal(analysis.os?.id, 'alpine');
    assert.equal(analysis.os?.family, 'alpine');
    assert.equal(analysis.os?.versionId, '3.17.2');
    assert.deepEqual(analysis.notes, []);
  });

  it('lists exactly the 15 apk packages with their origins, from the single layer', () => {
    // Expected list read by GNU tar and awk straight from the layer blob, not by our code.
    assert.equal(layerDigests.length, 1);
    const [layer] = layerDigests as [string];
    const expected = execFileSync(
      'sh',
      [
        '-c',
        `tar -xzOf "$1" lib/apk/db/installed | awk -F: '/^P:/{p=$2} /^V:/{v=$2} /^o:/{print p" "v" "$2}' | sort`,
        'sh',
        blobPath(layer),
      ],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\n');
    assert.equal(expected.length, 15);
    assert.equal(analysis.packages.length, 15);
    const found = analysis.packages.map((pkg) => `${pkg.name} ${pkg.version} ${pkg.sourceName}`).sort();
    assert.deepEqual(found, expected);
    for (const pkg of analysis.packages) {
      assert.equal(pkg.type, 'apk');
      assert.equal(pkg.layerDigest, layer);
      assert.equal(pkg.dbPath, '/lib/apk/db/installed');
      assert.equal(pkg.purl, `pkg:apk/alpine/${pkg.name}@${pkg.version}?arch=x86_64&distro=alpine-3.17.2`);
    }
    assert.ok(found.some((line) => line.startsWith('libssl3 ') && line.endsWith(' openssl')));
  });
});
