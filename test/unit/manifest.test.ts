import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RegistryError } from '../../src/oci/errors.ts';
import { effectiveArtifactType, normaliseMediaType, parseManifest } from '../../src/oci/manifest.ts';
import { mediaTypes } from '../../src/oci/media-types.ts';
import { alpineLayout, alpineManifestDigest } from '../helpers/fixtures.ts';

const alpineManifest = readFileSync(
  join(alpineLayout(), 'blobs', 'sha256', alpineManifestDigest.slice('sha256:'.length)),
);
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const invalid = (pattern: RegExp) => (error: RegistryError) =>
  error.code === 'MANIFEST_INVALID' && pattern.test(error.message);

describe('manifest parsing', () => {
  it('parses the real alpine image manifest', () => {
    const manifest = parseManifest(alpineManifest, mediaTypes.ociManifest);
    assert.equal(manifest.kind, 'image');
    assert.equal(
      manifest.config?.digest,
      'sha256:572996c3caeacea40b947911a9dda21516c082b5a64af30048a02a6f5eb956d4',
    );
    assert.equal(manifest.layers.length, 1);
    assert.equal(manifest.layers[0]?.size, 3374446);
    assert.equal(effectiveArtifactType(manifest), mediaTypes.ociConfig);
  });

  it('parses indexes, Docker manifest lists and schema 2 manifests', () => {
    const index = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: mediaTypes.ociIndex,
        manifests: [
          {
            mediaType: mediaTypes.ociManifest,
            digest: digest('a'),
            size: 10,
            platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
          },
        ],
      }),
      mediaTypes.ociIndex,
    );
    assert.equal(index.kind, 'index');
    assert.equal(index.manifests[0]?.platform?.architecture, 'arm64');
    const list = parseManifest(
      bytes({ schemaVersion: 2, mediaType: mediaTypes.dockerManifestList, manifests: [] }),
      undefined,
    );
    assert.equal(list.mediaType, mediaTypes.dockerManifestList);
    const docker = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: mediaTypes.dockerManifest,
        config: { mediaType: mediaTypes.dockerConfig, digest: digest('c'), size: 1 },
        layers: [],
      }),
      `${mediaTypes.dockerManifest}; charset=utf-8`,
    );
    assert.equal(docker.kind, 'image');
  });

  it('takes the media type from Content-Type when the document has none, and from the document when the header is generic', () => {
    const noField = bytes({
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.example+json', digest: digest('d'), size: 2 },
      layers: [],
    });
    assert.equal(parseManifest(noField, mediaTypes.ociManifest).mediaType, mediaTypes.ociManifest);
    const withField = bytes({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [] });
    assert.equal(parseManifest(withField, 'application/json').mediaType, mediaTypes.ociIndex);
    assert.throws(
      () => parseManifest(noField, 'application/octet-stream'),
      invalid(/unsupported manifest media type/),
    );
  });

  it('reads artifacts: artifactType, subject, annotations, unknown fields and data', () => {
    const manifest = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: mediaTypes.ociManifest,
        artifactType: 'application/vnd.example.sbom',
        config: {
          mediaType: mediaTypes.ociEmpty,
          digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
          size: 2,
          data: 'e30=',
        },
        layers: [{ mediaType: 'application/spdx+json', digest: digest('e'), size: 5 }],
        subject: { mediaType: mediaTypes.ociManifest, digest: digest('f'), size: 100 },
        annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
        newUnspecifiedField: true,
      }),
      mediaTypes.ociManifest,
    );
    assert.equal(effectiveArtifactType(manifest), 'application/vnd.example.sbom');
    assert.equal(manifest.subject?.digest, digest('f'));
    assert.deepEqual(manifest.annotations, { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' });
  });

  it('rejects what is not a manifest, with the reason', () => {
    assert.throws(() => parseManifest(Buffer.from('{'), mediaTypes.ociManifest), invalid(/not valid JSON/));
    assert.throws(() => parseManifest(Buffer.from('[]'), mediaTypes.ociManifest), invalid(/JSON object/));
    assert.throws(() => parseManifest(Buffer.from(''), mediaTypes.ociManifest), invalid(/not valid JSON/));
    assert.throws(
      () => parseManifest(bytes({ schemaVersion: 1, name: 'x' }), mediaTypes.dockerSchema1Signed),
      invalid(/schema 1/),
    );
    assert.throws(
      () => parseManifest(bytes({ schemaVersion: 3 }), mediaTypes.ociManifest),
      invalid(/schemaVersion/),
    );
    assert.throws(
      () =>
        parseManifest(
          bytes({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [] }),
          mediaTypes.ociManifest,
        ),
      invalid(/does not match Content-Type/),
    );
    assert.throws(
      () =>
        parseManifest(
          bytes({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, layers: [] }),
          mediaTypes.ociManifest,
        ),
      invalid(/config must be a descriptor/),
    );
    assert.throws(
      () =>
        parseManifest(
          bytes({
            schemaVersion: 2,
            mediaType: mediaTypes.ociManifest,
            config: { mediaType: mediaTypes.ociConfig, digest: 'sha256:1', size: 1 },
            layers: [],
          }),
          mediaTypes.ociManifest,
        ),
      invalid(/config.digest is not a supported digest/),
    );
    assert.throws(
      () =>
        parseManifest(
          bytes({
            schemaVersion: 2,
            mediaType: mediaTypes.ociManifest,
            config: { mediaType: mediaTypes.ociConfig, digest: digest('a'), size: -1 },
            layers: [],
          }),
          mediaTypes.ociManifest,
        ),
      invalid(/size must be a non-negative integer/),
    );
    assert.throws(
      () =>
        parseManifest(
          bytes({
            schemaVersion: 2,
            mediaType: mediaTypes.ociManifest,
            config: { mediaType: 'not a type', digest: digest('a'), size: 1 },
            layers: [],
          }),
          mediaTypes.ociManifest,
        ),
      invalid(/mediaType must be a media type/),
    );
    assert.throws(
      () =>
        parseManifest(
          bytes({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [{ digest: digest('a') }] }),
          mediaTypes.ociIndex,
        ),
      invalid(/manifests\[0\]\.mediaType/),
    );
    assert.throws(
      () =>
        parseManifest(
          bytes({
            schemaVersion: 2,
            mediaType: mediaTypes.ociManifest,
            config: { mediaType: mediaTypes.ociConfig, digest: digest('a'), size: 1 },
            layers: [],
            annotations: { a: 1 },
          }),
          mediaTypes.ociManifest,
        ),
      invalid(/annotations\.a must be a string/),
    );
  });

  it('normalises Content-Type values', () => {
    assert.equal(
      normaliseMediaType('Application/Vnd.OCI.Image.Manifest.v1+JSON ; charset=utf-8'),
      mediaTypes.ociManifest,
    );
    assert.equal(normaliseMediaType(''), undefined);
    assert.equal(normaliseMediaType(undefined), undefined);
  });
});
