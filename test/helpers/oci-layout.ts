import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Writes content into an OCI image layout's blobs directory and returns its descriptor fields. */
export async function writeLayoutBlob(
  layout: string,
  content: Buffer | string,
): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.from(content);
  const hex = createHash('sha256').update(bytes).digest('hex');
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(layout, 'blobs', 'sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

export async function readLayoutBlob(layout: string, digest: string): Promise<Buffer> {
  const [algorithm, hex] = digest.split(':');
  return readFile(join(layout, 'blobs', algorithm!, hex!));
}

export interface LayoutIndex {
  manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
}

export async function readLayoutIndex(layout: string): Promise<LayoutIndex> {
  return JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as LayoutIndex;
}

/** The manifest digest a tag names in an OCI layout. */
export async function layoutTagDigest(layout: string, tag: string): Promise<string> {
  const entry = (await readLayoutIndex(layout)).manifests.find(
    (manifest) => manifest.annotations?.['org.opencontainers.image.ref.name'] === tag,
  );
  if (!entry) throw new Error(`tag ${tag} not in ${layout}`);
  return entry.digest;
}

/**
 * A two-platform OCI layout (linux/amd64 and linux/arm64, one small layer each) whose
 * index.json names the image index under `tag`: what `skopeo copy --all` copies.
 */
export async function writeMultiArchLayout(layout: string, tag: string): Promise<string> {
  await mkdir(layout, { recursive: true });
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const manifests = [];
  for (const architecture of ['amd64', 'arm64']) {
    // Compressed already, so skopeo copies it as it is instead of recompressing (which would
    // change every digest).
    const layer = await writeLayoutBlob(layout, gzipSync(`layer content for ${architecture}`));
    const config = await writeLayoutBlob(
      layout,
      JSON.stringify({
        architecture,
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
        config: {},
      }),
    );
    const manifest = await writeLayoutBlob(
      layout,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      }),
    );
    manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...manifest,
      platform: { architecture, os: 'linux' },
    });
  }
  const index = await writeLayoutBlob(
    layout,
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
  );
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.index.v1+json',
          ...index,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return index.digest;
}
