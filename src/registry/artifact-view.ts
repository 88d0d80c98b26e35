import type { Database } from '../db/database.ts';
import type { ArtifactRow } from '../db/manifests.ts';
import type { TagRow } from '../db/tags.ts';
import { readAll } from '../lib/streams.ts';
import { AcceptList } from '../oci/content-negotiation.ts';
import type { Digest } from '../oci/digest.ts';
import { RegistryError } from '../oci/errors.ts';
import { type Descriptor, parseManifest } from '../oci/manifest.ts';
import { manifestKinds } from '../oci/media-types.ts';
import { parseReference } from '../oci/reference.ts';
import { generatorAnnotation } from '../scan/sbom/sbom-artifacts.ts';
import { sbomOverview } from '../scan/sbom/sbom-overview.ts';
import { sbomReportKey } from '../scan/sbom/sbom-service.ts';
import { scanOverview } from '../scan/scan-overview.ts';
import { scannerName } from '../scan/scan-service.ts';
import { accessoryType, cosignTagSubject } from './accessories.ts';
import type { BlobService } from './blob-service.ts';
import type { ManifestService } from './manifest-service.ts';

/** Harbor's artifact types, by what the manifest's config (or an index's annotations) says. */
export type ArtifactKind = 'IMAGE' | 'CHART' | 'CNAB' | 'UNKNOWN';

const kindsByConfig: Record<string, ArtifactKind> = {
  'application/vnd.oci.image.config.v1+json': 'IMAGE',
  'application/vnd.docker.container.image.v1+json': 'IMAGE',
  'application/vnd.cncf.helm.config.v1+json': 'CHART',
  'application/vnd.cnab.config.v1+json': 'CNAB',
};

/** Configs larger than this are not read for `extra_attrs`. */
const maxConfigBytes = 4 * 1024 * 1024;
const anyType = new AcceptList(undefined);

/** Where a repository sits, for the ids an artifact view carries. */
export interface RepositoryRef {
  id: number;
  name: string;
  projectId: number;
}

/** One snapshot of a repository's manifests and tags, to filter, sort and page in memory. */
export class RepositoryContent {
  readonly byDigest: Map<string, ArtifactRow>;
  readonly tagsByDigest = new Map<string, TagRow[]>();
  /** Subject digest → the manifest its Cosign `sha256-<hex>.sig` tag names. */
  private readonly signatureTags = new Map<string, string>();

  constructor(
    readonly repository: string,
    readonly artifacts: readonly ArtifactRow[],
    readonly tags: readonly TagRow[],
    private readonly indexChildren: ReadonlySet<string>,
  ) {
    this.byDigest = new Map(artifacts.map((row) => [row.digest, row]));
    for (const tag of tags) {
      const list = this.tagsByDigest.get(tag.digest) ?? [];
      list.push(tag);
      this.tagsByDigest.set(tag.digest, list);
      const subject = cosignTagSubject(tag.name);
      if (subject?.suffix === 'sig') this.signatureTags.set(subject.digest, tag.digest);
    }
  }

  /** Whether Harbor lists it: not an index's child, not an accessory of an artifact here. */
  listed(row: ArtifactRow): boolean {
    return (
      !this.indexChildren.has(row.digest) &&
      !(row.subject && this.byDigest.has(row.subject)) &&
      !this.isTagSignatureHere(row.digest)
    );
  }

  /** Whether the manifest is only a Cosign tag-scheme signature of an artifact of this repository. */
  private isTagSignatureHere(digest: string): boolean {
    const tags = this.tagsByDigest.get(digest);
    if (!tags) return false;
    return tags.every((tag) => {
      const subject = cosignTagSubject(tag.name);
      return subject?.suffix === 'sig' && this.byDigest.has(subject.digest);
    });
  }

  /** The artifact a reference (digest or tag) names, or NOT_FOUND. */
  find(reference: string): ArtifactRow {
    const parsed = parseReference(reference);
    const digest =
      parsed.kind === 'digest' ? parsed.digest : this.tags.find((tag) => tag.name === parsed.tag)?.digest;
    const row = digest === undefined ? undefined : this.byDigest.get(digest);
    if (!row) throw new RegistryError('NOT_FOUND', `artifact ${this.repository}@${reference} not found`);
    return row;
  }

  /** Referrers of `digest`: the accessories deleted with it (Cosign's tagged ones go by content, in the manifest service). */
  accessoriesOf(digest: string): ArtifactRow[] {
    return this.artifacts.filter((row) => row.subject === digest);
  }

  /** What Harbor lists as the accessories of `digest`: its referrers and its Cosign `.sig` tag signature. */
  accessoryEntries(digest: string): { row: ArtifactRow; cosignTagSuffix?: string }[] {
    const entries: { row: ArtifactRow; cosignTagSuffix?: string }[] = this.accessoriesOf(digest).map(
      (row) => ({
        row,
      }),
    );
    const tagged = this.byDigest.get(this.signatureTags.get(digest) ?? '');
    if (tagged && !entries.some((entry) => entry.row.digest === tagged.digest)) {
      entries.push({ row: tagged, cosignTagSuffix: 'sig' });
    }
    return entries;
  }
}

export function artifactKind(
  row: Pick<ArtifactRow, 'media_type' | 'artifact_type' | 'annotations'>,
): ArtifactKind {
  if (manifestKinds.get(row.media_type) === 'index') {
    const annotations = row.annotations ? (JSON.parse(row.annotations) as Record<string, string>) : {};
    return annotations['io.cnab.runtime_version'] !== undefined ? 'CNAB' : 'IMAGE';
  }
  return kindsByConfig[row.artifact_type ?? ''] ?? 'UNKNOWN';
}

export interface ViewOptions {
  withTag?: boolean;
  withAccessory?: boolean;
  withScanOverview?: boolean;
  withSbomOverview?: boolean;
  /** Berth's own: the signatures the pull gate verified (`signatures`). */
  withSignatures?: boolean;
}

/** Harbor's Accessory model for each accessory of `row`. */
export function accessoryViews(repository: RepositoryRef, content: RepositoryContent, row: ArtifactRow) {
  return content.accessoryEntries(row.digest).map(({ row: accessory, cosignTagSuffix }) => ({
    id: accessory.id,
    artifact_id: accessory.id,
    subject_artifact_id: row.id,
    subject_artifact_repo: repository.name,
    subject_artifact_digest: row.digest,
    size: Number(accessory.size),
    digest: accessory.digest,
    // The SBOMs Berth generates are what Harbor's own SBOM generation makes: `harbor.sbom`.
    type: generatedSbom(accessory)
      ? 'harbor.sbom'
      : accessoryType(accessory.artifact_type, [], cosignTagSuffix),
    icon: '',
    creation_time: isoTime(accessory.created_at),
  }));
}

function generatedSbom(row: ArtifactRow): boolean {
  if (!row.annotations) return false;
  return (JSON.parse(row.annotations) as Record<string, unknown>)[generatorAnnotation] !== undefined;
}

/**
 * Berth's record of verified signatures of an artifact: who signed, when, with what, and when
 * the pull gate last verified it (only artifacts of projects enforcing content trust have any).
 */
export async function signatureViews(db: Database, repository: string, digest: string) {
  return (await db.trustPolicies.verificationsOf(repository, digest)).map((row) => ({
    format: row.format,
    signature_digest: row.signature_digest,
    signer: row.signer,
    method: row.method,
    signed_at: row.signed_at ?? undefined,
    verified_at: isoTime(row.verified_at),
  }));
}

/** The Go zero time: what Harbor reports for something never pulled (Berth does not count pulls). */
export const neverPulled = '0001-01-01T00:00:00.000Z';

function isoTime(ms: number | bigint): string {
  return new Date(Number(ms)).toISOString();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Builds Harbor's artifact and tag views from the registry's records: the manifest as pushed,
 * its config for `extra_attrs`, the index's entries for `references`.
 */
export class ArtifactViews {
  private readonly db: Database;
  private readonly manifests: ManifestService;
  private readonly blobs: BlobService;
  private readonly scanReportKey: (repository: string) => Promise<string>;

  constructor(options: {
    db: Database;
    manifests: ManifestService;
    blobs: BlobService;
    /** Whose scan report an artifact of the repository shows: its project's scanner (default Berth's). */
    scanReportKey?: (repository: string) => Promise<string>;
  }) {
    this.db = options.db;
    this.manifests = options.manifests;
    this.blobs = options.blobs;
    this.scanReportKey = options.scanReportKey ?? (async () => scannerName);
  }

  async content(repository: string): Promise<RepositoryContent> {
    const [artifacts, tags, children] = await Promise.all([
      this.db.manifests.findArtifacts(repository),
      this.db.tags.findWithIds(repository),
      this.db.manifests.findIndexChildren(repository),
    ]);
    return new RepositoryContent(repository, artifacts, tags, children);
  }

  tagView(repository: RepositoryRef, tag: TagRow, artifactId: number) {
    return {
      id: tag.id,
      repository_id: repository.id,
      artifact_id: artifactId,
      name: tag.name,
      push_time: isoTime(tag.updated_at),
      pull_time: neverPulled,
      immutable: false,
    };
  }

  async artifactView(
    repository: RepositoryRef,
    content: RepositoryContent,
    row: ArtifactRow,
    options: ViewOptions = {},
  ) {
    const bytes = (await this.manifests.get(repository.name, parseReference(row.digest), anyType)).bytes;
    const manifest = parseManifest(bytes, row.media_type);
    const kind = artifactKind(row);
    const view: Record<string, unknown> = {
      id: row.id,
      type: kind,
      media_type: manifest.config?.mediaType ?? row.media_type,
      manifest_media_type: row.media_type,
      artifact_type: row.artifact_type ?? manifest.config?.mediaType ?? row.media_type,
      project_id: repository.projectId,
      repository_id: repository.id,
      repository_name: repository.name,
      digest: row.digest,
      size: await this.sizeOf(repository.name, content, row, bytes),
      icon: '',
      push_time: isoTime(row.created_at),
      pull_time: neverPulled,
      extra_attrs: await this.extraAttributes(repository.name, kind, manifest.config),
      annotations: manifest.annotations ?? {},
      references: manifest.kind === 'index' ? this.references(content, row, bytes) : [],
      labels: [],
      addition_links: {},
    };
    if (options.withTag !== false) {
      view.tags = (content.tagsByDigest.get(row.digest) ?? []).map((tag) =>
        this.tagView(repository, tag, row.id),
      );
    }
    if (options.withScanOverview)
      view.scan_overview = scanOverview(
        await this.db.scanReports.find(row.digest, await this.scanReportKey(repository.name)),
      );
    if (options.withSbomOverview) {
      const overview = sbomOverview(
        await this.db.scanReports.find(row.digest, sbomReportKey(repository.name)),
      );
      if (overview) view.sbom_overview = overview;
    }
    if (options.withAccessory) view.accessories = accessoryViews(repository, content, row);
    if (options.withSignatures) view.signatures = await signatureViews(this.db, repository.name, row.digest);
    return view;
  }

  /** Harbor's size: the manifest, its config and layers; for an index, its children too. */
  private async sizeOf(
    repository: string,
    content: RepositoryContent,
    row: ArtifactRow,
    bytes: Buffer,
    depth = 0,
  ): Promise<number> {
    const manifest = parseManifest(bytes, row.media_type);
    let size = bytes.length;
    for (const descriptor of [...(manifest.config ? [manifest.config] : []), ...manifest.layers]) {
      size += descriptor.size;
    }
    for (const entry of manifest.manifests) {
      const child = content.byDigest.get(entry.digest);
      if (!child || depth > 2) {
        size += entry.size;
        continue;
      }
      const childBytes = (await this.manifests.get(repository, parseReference(child.digest), anyType)).bytes;
      size += await this.sizeOf(repository, content, child, childBytes, depth + 1);
    }
    return size;
  }

  private references(content: RepositoryContent, row: ArtifactRow, bytes: Buffer) {
    // Parsed again as plain JSON: platforms carry `os.version` and `os.features`, which the
    // registry's parser has no use for.
    const raw = JSON.parse(bytes.toString('utf8')) as { manifests?: unknown[] };
    return (raw.manifests ?? []).filter(isObject).map((entry) => {
      const reference: Record<string, unknown> = {
        parent_id: row.id,
        child_id: content.byDigest.get(String(entry.digest))?.id ?? 0,
        child_digest: entry.digest,
      };
      if (isObject(entry.platform)) reference.platform = entry.platform;
      if (isObject(entry.annotations)) reference.annotations = entry.annotations;
      if (Array.isArray(entry.urls)) reference.urls = entry.urls;
      return reference;
    });
  }

  /** Images: architecture, os, config, created and author from the config; charts: the whole config. */
  private async extraAttributes(
    repository: string,
    kind: ArtifactKind,
    config: Descriptor | undefined,
  ): Promise<Record<string, unknown>> {
    if (!config || config.size > maxConfigBytes || kind === 'UNKNOWN' || kind === 'CNAB') return {};
    let parsed: unknown;
    try {
      const { body } = await this.blobs.open(repository, config.digest as Digest);
      parsed = JSON.parse((await readAll(body, maxConfigBytes)).toString('utf8'));
    } catch (error) {
      if (error instanceof SyntaxError || (error instanceof RegistryError && error.code === 'BLOB_UNKNOWN')) {
        return {};
      }
      throw error;
    }
    if (!isObject(parsed)) return {};
    if (kind !== 'IMAGE') return parsed;
    const attributes: Record<string, unknown> = {};
    for (const key of ['architecture', 'os', 'os.version', 'variant', 'config', 'created', 'author']) {
      if (parsed[key] !== undefined) attributes[key] = parsed[key];
    }
    return attributes;
  }
}
