import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { parseManifest } from '../../src/oci/manifest.ts';
import { analyzeImage, type ImageAnalysis } from '../../src/scan/analyze.ts';
import { cyclonedxBom } from '../../src/scan/sbom/cyclonedx.ts';
import { imagePurl, type SbomInput } from '../../src/scan/sbom/sbom-input.ts';
import { spdxDocument } from '../../src/scan/sbom/spdx.ts';
import { alpineLayout, alpineManifestDigest } from '../helpers/fixtures.ts';
import { MemoryBlobs } from '../helpers/layer-tars.ts';
import { readLayoutBlob } from '../helpers/oci-layout.ts';
import { cyclonedxValidator, spdxValidator } from '../helpers/sbom-schemas.ts';

const npmLock = readFileSync(new URL('../fixtures/npm-app/package-lock.json', import.meta.url), 'utf8');
const subject = {
  repository: 'library/alpine',
  digest: alpineManifestDigest,
  registryHost: '127.0.0.1:5000',
};

/** The real alpine:3.17.2 layer, then a layer adding an app with a real npm lockfile. */
async function analyzeAlpineWithApp(): Promise<ImageAnalysis> {
  const layout = alpineLayout();
  const manifest = parseManifest(await readLayoutBlob(layout, alpineManifestDigest), undefined);
  const blobs = new MemoryBlobs();
  const layers = [];
  for (const layer of manifest.layers) layers.push(blobs.add(await readLayoutBlob(layout, layer.digest)));
  layers.push(await blobs.addGzippedTar([{ name: 'app/package-lock.json', content: npmLock }]));
  return analyzeImage({ ...manifest, layers }, blobs.open);
}

describe('SBOM documents of the real alpine:3.17.2 image', () => {
  let analysis: ImageAnalysis;
  let input: SbomInput;
  before(async () => {
    analysis = await analyzeAlpineWithApp();
    input = {
      subject,
      analysis,
      created: new Date('2026-11-29T09:30:00.123Z'),
      id: '0b4c8f5e-5d0a-4a8e-9b0e-2f7e0c1d9a11',
      toolVersion: '0.1.0',
    };
  });

  it('the analysis has the 15 apk packages and the app lockfile packages', () => {
    assert.equal(analysis.packages.filter((pkg) => pkg.type === 'apk').length, 15);
    assert.ok(analysis.packages.some((pkg) => pkg.type === 'npm' && pkg.name === 'lodash'));
  });

  it('names the image with an oci purl', () => {
    assert.equal(
      imagePurl(subject),
      `pkg:oci/alpine@sha256%3A${alpineManifestDigest.slice(7)}?repository_url=127.0.0.1:5000/library/alpine`,
    );
    assert.equal(
      imagePurl({ ...subject, registryHost: 'evil.example/x?y' }),
      `pkg:oci/alpine@sha256%3A${alpineManifestDigest.slice(7)}`,
    );
  });

  it('writes SPDX 2.3 that the official schema accepts', () => {
    const document = spdxDocument(input);
    assert.deepEqual(spdxValidator()(document), []);
    assert.equal(document.spdxVersion, 'SPDX-2.3');
    assert.equal(document.creationInfo.created, '2026-11-29T09:30:00Z');
    assert.deepEqual(document.creationInfo.creators, ['Tool: Berth-0.1.0']);
    assert.match(document.documentNamespace, /^https:\/\/spdx\.org\/spdxdocs\/berth\/.*\/0b4c8f5e-/);
    assert.ok(document.documentNamespace.includes(alpineManifestDigest.slice(7)));

    const image = document.packages.find((entry) => entry.SPDXID === 'SPDXRef-Image')!;
    assert.equal(image.primaryPackagePurpose, 'CONTAINER');
    assert.equal(image.externalRefs?.[0]?.referenceLocator, imagePurl(subject));
    const os = document.packages.find((entry) => entry.SPDXID === 'SPDXRef-OperatingSystem')!;
    assert.deepEqual(
      [os.name, os.versionInfo, os.primaryPackagePurpose],
      ['alpine', '3.17.2', 'OPERATING-SYSTEM'],
    );

    const musl = document.packages.find((entry) => entry.name === 'musl')!;
    assert.equal(musl.versionInfo, '1.2.3-r4');
    assert.deepEqual(musl.externalRefs, [
      {
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: 'pkg:apk/alpine/musl@1.2.3-r4?arch=x86_64&distro=alpine-3.17.2',
      },
    ]);
    const layer = analysis.packages.find((pkg) => pkg.name === 'musl')!.layerDigest;
    assert.equal(musl.sourceInfo, `acquired package info from /lib/apk/db/installed, in layer ${layer}`);

    const ids = document.packages.map((entry) => entry.SPDXID);
    assert.equal(new Set(ids).size, ids.length);
    const contains = (from: string) =>
      document.relationships
        .filter((link) => link.spdxElementId === from && link.relationshipType === 'CONTAINS')
        .map((link) => link.relatedSpdxElement);
    assert.deepEqual(
      document.relationships.filter((link) => link.relationshipType === 'DESCRIBES'),
      [
        {
          spdxElementId: 'SPDXRef-DOCUMENT',
          relationshipType: 'DESCRIBES',
          relatedSpdxElement: 'SPDXRef-Image',
        },
      ],
    );
    assert.equal(contains('SPDXRef-OperatingSystem').length, 15);
    const lodash = document.packages.find((entry) => entry.name === 'lodash')!;
    assert.ok(contains('SPDXRef-Image').includes(lodash.SPDXID));
    assert.ok(contains('SPDXRef-Image').includes('SPDXRef-OperatingSystem'));
  });

  it('keeps the same ids for the same image and a new namespace for each generation', () => {
    const again = spdxDocument({ ...input, id: '7d1f3a52-8c2e-4f0b-a6d4-13e5c9b8f270' });
    const first = spdxDocument(input);
    assert.deepEqual(
      again.packages.map((entry) => entry.SPDXID),
      first.packages.map((entry) => entry.SPDXID),
    );
    assert.notEqual(again.documentNamespace, first.documentNamespace);
  });

  it('writes CycloneDX 1.5 that the official schema accepts', () => {
    const bom = cyclonedxBom(input);
    assert.deepEqual(cyclonedxValidator()(bom), []);
    assert.equal(bom.serialNumber, 'urn:uuid:0b4c8f5e-5d0a-4a8e-9b0e-2f7e0c1d9a11');
    assert.equal(bom.version, 1);
    assert.equal(bom.metadata.timestamp, '2026-11-29T09:30:00Z');
    assert.deepEqual(bom.metadata.tools.components, [
      { type: 'application', name: 'Berth', version: '0.1.0' },
    ]);
    assert.equal(bom.metadata.component.type, 'container');
    assert.equal(bom.metadata.component.purl, imagePurl(subject));

    const os = bom.components.find((component) => component.type === 'operating-system')!;
    assert.deepEqual([os.name, os.version], ['alpine', '3.17.2']);
    const busybox = bom.components.find((component) => component.name === 'busybox')!;
    assert.equal(busybox.purl, 'pkg:apk/alpine/busybox@1.35.0-r29?arch=x86_64&distro=alpine-3.17.2');
    const layer = analysis.packages.find((pkg) => pkg.name === 'busybox')!.layerDigest;
    assert.deepEqual(busybox.properties, [
      { name: 'berth:package_type', value: 'apk' },
      { name: 'berth:layer_digest', value: layer },
      { name: 'berth:path', value: '/lib/apk/db/installed' },
    ]);
    const refs = bom.components.map((component) => component['bom-ref']);
    assert.equal(new Set(refs).size, refs.length);
    const dependsOn = new Map(bom.dependencies.map((entry) => [entry.ref, entry.dependsOn]));
    assert.equal(dependsOn.get(os['bom-ref']!)?.length, 15);
    assert.ok(dependsOn.get(imagePurl(subject))?.includes(os['bom-ref']!));
  });

  it('the schemas do reject what the formats forbid', () => {
    const document = spdxDocument(input) as unknown as Record<string, unknown>;
    const bad = {
      ...document,
      packages: [{ SPDXID: 'SPDXRef-has space', name: 'x', downloadLocation: 'NONE' }],
    };
    assert.notDeepEqual(spdxValidator()(bad), []);
    const bom = cyclonedxBom(input) as unknown as Record<string, unknown>;
    assert.notDeepEqual(cyclonedxValidator()({ ...bom, serialNumber: 'not-a-urn' }), []);
  });
});
