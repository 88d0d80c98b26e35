import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifest } from '../../src/oci/manifest.ts';
import {
  accessoryType,
  cosignTag,
  cosignTagSubject,
  isAccessoryContent,
} from '../../src/registry/accessories.ts';

const digest = `sha256:${'ab'.repeat(32)}`;
const blob = (mediaType: string, fill: string) => ({
  mediaType,
  digest: `sha256:${fill.repeat(64)}`,
  size: 10,
});

function manifest(layers: { mediaType: string }[], extra: Record<string, unknown> = {}) {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: blob('application/vnd.oci.image.config.v1+json', 'c'),
      layers: layers.map((layer, index) => blob(layer.mediaType, String(index))),
      ...extra,
    }),
  );
  return parseManifest(bytes, 'application/vnd.oci.image.manifest.v1+json');
}

describe('accessories', () => {
  it("names and reads Cosign's tags", () => {
    assert.equal(cosignTag(digest, 'sig'), `sha256-${'ab'.repeat(32)}.sig`);
    assert.deepEqual(cosignTagSubject(cosignTag(digest, 'att')), { digest, suffix: 'att' });
    assert.equal(cosignTagSubject('latest'), undefined);
    assert.equal(cosignTagSubject(`sha256-${'ab'.repeat(31)}.sig`), undefined);
  });

  it('gives no pass to layers a container runtime would pull, whatever the artifactType says', () => {
    // Docker's puller lower-cases media types and accepts octet-stream, JSON and any OCI image type.
    const cosignTyped = { artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' };
    for (const layerType of [
      'application/octet-stream',
      'application/json',
      'application/vnd.OCI.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.config.v1+json',
    ]) {
      assert.equal(isAccessoryContent(manifest([{ mediaType: layerType }], cosignTyped)), false, layerType);
    }
    assert.equal(
      isAccessoryContent(manifest([{ mediaType: 'Application/Vnd.Dev.Cosign.Simplesigning.v1+json' }])),
      true,
    );
  });

  it('counts signature, attestation and SBOM content, never a runnable layer', () => {
    assert.ok(
      isAccessoryContent(manifest([{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json' }])),
    );
    assert.ok(isAccessoryContent(manifest([{ mediaType: 'application/vnd.dsse.envelope.v1+json' }])));
    assert.ok(
      isAccessoryContent(
        manifest([{ mediaType: 'application/jose+json' }], {
          artifactType: 'application/vnd.cncf.notary.signature',
        }),
      ),
    );
    assert.ok(isAccessoryContent(manifest([{ mediaType: 'application/spdx+json' }])));
    const runnable = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };
    assert.equal(isAccessoryContent(manifest([runnable])), false);
    assert.equal(
      isAccessoryContent(
        manifest([runnable], { artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' }),
      ),
      false,
    );
    assert.equal(
      isAccessoryContent(
        manifest([{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json' }, runnable]),
      ),
      false,
    );
    assert.equal(isAccessoryContent(manifest([])), false);
  });

  it("maps to Harbor's accessory types", () => {
    assert.equal(accessoryType('application/vnd.cncf.notary.signature', []), 'signature.notation');
    assert.equal(accessoryType('application/vnd.dev.cosign.artifact.sig.v1+json', []), 'signature.cosign');
    assert.equal(accessoryType('application/vnd.oci.image.config.v1+json', [], 'sig'), 'signature.cosign');
    assert.equal(accessoryType('application/vnd.goharbor.harbor.sbom.v1', []), 'harbor.sbom');
    assert.equal(accessoryType('application/spdx+json', []), 'subject.accessory');
  });
});
