import { Readable } from 'node:stream';
import type { Database } from '../../db/database.ts';
import { readAll } from '../../lib/streams.ts';
import { AcceptList } from '../../oci/content-negotiation.ts';
import { type Digest, digestOf, parseDigest } from '../../oci/digest.ts';
import { RegistryError } from '../../oci/errors.ts';
import { type Descriptor, effectiveArtifactType, parseManifest } from '../../oci/manifest.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { parseReference } from '../../oci/reference.ts';
import type { ManifestService } from '../../registry/manifest-service.ts';
import type { UploadService } from '../../registry/upload-service.ts';
import type { BlobReader } from '../../storage/blob-store.ts';
import { cyclonedxMediaType } from './cyclonedx.ts';
import { spdxMediaType } from './spdx.ts';

/** Names the tool that made an SBOM artifact; Berth replaces only the SBOMs that carry it. */
export const generatorAnnotation = 'dev.berth.sbom.generator';
export const sbomArtifactTypes: readonly string[] = [spdxMediaType, cyclonedxMediaType];

/** Harbor's own SBOM accessories, whose addition Berth serves too. */
const harborSbomType = 'application/vnd.goharbor.harbor.sbom.v1';
const maxDocumentBytes = 64 * 1024 * 1024;
const anyType = new AcceptList(undefined);
const emptyConfig = Buffer.from('{}');
const fileNames: Record<string, string> = {
  [spdxMediaType]: 'sbom.spdx.json',
  [cyclonedxMediaType]: 'sbom.cdx.json',
};

export interface SbomDocumentFile {
  artifactType: string;
  bytes: Buffer;
}

/**
 * Stores SBOMs as OCI 1.1 artifacts that refer to their image: an image manifest with the SBOM's
 * media type as `artifactType`, the empty config, the document as its one layer and the image as
 * `subject`, pushed through the upload and manifest services like any client's push, so that the
 * referrers API lists them and any OCI client can pull them.
 */
export class SbomArtifacts {
  constructor(
    private readonly options: {
      db: Database;
      store: BlobReader;
      uploads: UploadService;
      manifests: ManifestService;
    },
  ) {}

  /** Pushes one artifact per document; returns their manifest digests by artifact type. */
  async push(
    repository: string,
    subject: Descriptor,
    documents: readonly SbomDocumentFile[],
    annotations: { created: string; generator: string },
  ): Promise<Map<string, Digest>> {
    const pushed = new Map<string, Digest>();
    await this.pushBlob(repository, emptyConfig);
    for (const document of documents) {
      const layer = await this.pushBlob(repository, document.bytes);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: mediaTypes.ociManifest,
          artifactType: document.artifactType,
          config: { mediaType: mediaTypes.ociEmpty, digest: digestOf(emptyConfig), size: emptyConfig.length },
          layers: [
            {
              mediaType: document.artifactType,
              digest: layer,
              size: document.bytes.length,
              annotations: {
                'org.opencontainers.image.title': fileNames[document.artifactType] ?? 'sbom.json',
              },
            },
          ],
          subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
          annotations: {
            'org.opencontainers.image.created': annotations.created,
            [generatorAnnotation]: annotations.generator,
          },
        }),
      );
      const digest = digestOf(manifest);
      await this.options.manifests.put(
        repository,
        { kind: 'digest', ...parseDigest(digest) },
        manifest,
        mediaTypes.ociManifest,
      );
      pushed.set(document.artifactType, digest);
    }
    return pushed;
  }

  /**
   * Deletes the SBOM artifacts Berth made earlier for `subject`, except `keep`: a new generation
   * supersedes them. SBOMs that other tools pushed (without the generator annotation) stay.
   */
  async deleteEarlier(repository: string, subject: string, keep: ReadonlySet<string>): Promise<string[]> {
    const deleted: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.options.db.manifests.findReferrers(repository, subject, {
        ...(after === undefined ? {} : { after }),
        limit: 500,
      });
      for (const row of page) {
        if (keep.has(row.digest) || !sbomArtifactTypes.includes(row.artifact_type ?? '')) continue;
        const annotations = row.annotations ? (JSON.parse(row.annotations) as Record<string, unknown>) : {};
        if (typeof annotations[generatorAnnotation] !== 'string') continue;
        await this.options.manifests.delete(repository, { kind: 'digest', ...parseDigest(row.digest) });
        deleted.push(row.digest);
      }
      if (page.length < 500) return deleted;
      after = page[page.length - 1]!.digest;
    }
  }

  /**
   * The document inside an SBOM artifact (Harbor's `sbom` addition): its one layer, when the
   * artifact is an SPDX, CycloneDX or Harbor SBOM. NOT_FOUND for anything else.
   */
  async document(repository: string, digest: string): Promise<{ mediaType: string; bytes: Buffer }> {
    const { db, store, manifests } = this.options;
    const stored = await manifests.get(repository, parseReference(digest), anyType);
    const manifest = parseManifest(stored.bytes, stored.mediaType);
    const type = effectiveArtifactType(manifest) ?? '';
    const layer = manifest.layers[0];
    if (!layer || manifest.layers.length !== 1 || ![...sbomArtifactTypes, harborSbomType].includes(type)) {
      throw new RegistryError(
        'NOT_FOUND',
        `${repository}@${digest} is not an SBOM; an image's SBOM is the artifact its sbom_overview.sbom_digest names`,
      );
    }
    if (layer.size > maxDocumentBytes || !(await db.blobs.findInRepository(repository, layer.digest))) {
      throw new RegistryError('NOT_FOUND', `the SBOM document ${layer.digest} cannot be served`);
    }
    const bytes = await readAll(await store.read(layer.digest), layer.size);
    return { mediaType: layer.mediaType, bytes };
  }

  private async pushBlob(repository: string, bytes: Buffer): Promise<Digest> {
    return this.options.uploads.pushMonolithic(
      repository,
      parseDigest(digestOf(bytes)),
      Readable.from([bytes]),
    );
  }
}
