import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { alpineLayout, alpineManifestDigest } from './fixtures.ts';
import type { RegistryClient } from './http.ts';
import { tarOf } from './layer-tars.ts';
import { readLayoutBlob } from './oci-layout.ts';

const npmApp = (file: string): string =>
  readFileSync(new URL(`../fixtures/npm-app/${file}`, import.meta.url), 'utf8');

/**
 * Pushes `repository:v1`: the real alpine:3.17.2 layer under an app layer holding the npm-app
 * fixture's package.json and lockfile (lodash 4.17.4, jquery 3.3.1, minimist 1.2.0).
 */
export async function pushNodeAppImage(
  client: RegistryClient,
  repository: string,
): Promise<{ digest: string; appLayer: string }> {
  const layout = alpineLayout();
  const alpine = JSON.parse((await readLayoutBlob(layout, alpineManifestDigest)).toString('utf8')) as {
    layers: { mediaType: string; digest: string; size: number }[];
  };
  const base = alpine.layers[0]!;
  await client.pushBlob(repository, await readLayoutBlob(layout, base.digest));
  const layer = gzipSync(
    await tarOf([
      { name: 'app/package.json', content: npmApp('package.json') },
      { name: 'app/package-lock.json', content: npmApp('package-lock.json') },
    ]),
  );
  const appLayer = await client.pushBlob(repository, layer);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }),
  );
  const configDigest = await client.pushBlob(repository, config);
  const put = await client.putManifest(repository, 'v1', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: configDigest,
      size: config.length,
    },
    layers: [
      base,
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: appLayer, size: layer.length },
    ],
  });
  assert.equal(put.status, 201, put.body.toString());
  return { digest: put.header('docker-content-digest')!, appLayer };
}
