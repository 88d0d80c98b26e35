import { randomUUID } from 'node:crypto';
import type { Database } from '../../db/database.ts';
import type { ManifestRow } from '../../db/manifests.ts';
import type { ScanReportRow } from '../../db/scan-reports.ts';
import type { JobContext, JobService } from '../../jobs/job-service.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import { AcceptList } from '../../oci/content-negotiation.ts';
import type { Digest } from '../../oci/digest.ts';
import { RegistryError } from '../../oci/errors.ts';
import { type Descriptor, type ParsedManifest, parseManifest } from '../../oci/manifest.ts';
import { manifestKinds, mediaTypes } from '../../oci/media-types.ts';
import { parseReference } from '../../oci/reference.ts';
import type { ManifestService } from '../../registry/manifest-service.ts';
import type { UploadService } from '../../registry/upload-service.ts';
import type { BlobReader } from '../../storage/blob-store.ts';
import { analyzeImage } from '../analyze.ts';
import { recordFailure, scannerName, unfinishedReport } from '../scan-service.ts';
import { cyclonedxBom, cyclonedxMediaType } from './cyclonedx.ts';
import { SbomArtifacts } from './sbom-artifacts.ts';
import { type SbomSubject, safeRegistryHost, sbomTimestamp, toolName } from './sbom-input.ts';
import { spdxDocument, spdxMediaType } from './spdx.ts';

export const sbomJobType = 'sbom';

/**
 * SBOM generation keeps its status in `scan_reports` beside the vulnerability reports (as Harbor
 * keeps SBOM reports beside them), under this key in `scanner_name`: one row per repository and
 * digest, since an SBOM is an artifact of the repository it was made in.
 */
export const sbomReportKey = (repository: string): string => `${scannerName}:sbom:${repository}`;

const imageConfigTypes = new Set<string>([mediaTypes.ociConfig, mediaTypes.dockerConfig]);
const anyType = new AcceptList(undefined);
/** An index's images get an SBOM each, up to this many. */
const maxIndexImages = 16;

/** What a finished generation stored: the report row's JSON. */
export interface SbomReport {
  sbom_repository: string;
  /** The SPDX SBOM's manifest digest: Harbor's `sbom_digest`. */
  sbom_digest: string;
  /** Every SBOM made for the artifact, by artifact type (for an index: its first image's). */
  sbom_digests: Record<string, string>;
  package_count: number;
  notes: string[];
}

interface SbomPayload {
  repository: string;
  digest: string;
  reportId: number;
  registryHost?: string;
}

export interface SbomServiceOptions {
  db: Database;
  store: BlobReader;
  uploads: UploadService;
  manifests: ManifestService;
  jobs: JobService;
  clock: Clock;
  log: Logger;
  version: string;
}

/** Generates SPDX and CycloneDX SBOMs of images as jobs, and stores them as referrers of the image. */
export class SbomService {
  /** The SBOM artifacts themselves: pushed, superseded, read for the `sbom` addition. */
  readonly artifacts: SbomArtifacts;

  constructor(private readonly options: SbomServiceOptions) {
    this.artifacts = new SbomArtifacts(options);
  }

  register(): void {
    this.options.jobs.register(sbomJobType, (payload, context) => this.run(payload as SbomPayload, context));
  }

  /**
   * Queues SBOM generation for an image or index; while one is unfinished, asking again returns
   * that one. Accessories (signatures, SBOMs) and non-image artifacts are refused.
   */
  async requestSbom(repository: string, digest: string, registryHost?: string): Promise<ScanReportRow> {
    const { db, jobs } = this.options;
    const manifest = await db.manifests.find(repository, digest);
    if (!manifest) throw new RegistryError('NOT_FOUND', `artifact ${repository}@${digest} not found`);
    if (!isImageOrIndex(manifest)) {
      throw new RegistryError(
        'BAD_REQUEST',
        `${repository}@${digest} is not an image: only images get an SBOM`,
      );
    }
    const key = sbomReportKey(repository);
    const current = await unfinishedReport(db, jobs, digest, key);
    if (current) return current;
    const report = await db.scanReports.replace(this.newReport(digest, key, 'Pending'));
    const host = safeRegistryHost(registryHost);
    const payload: SbomPayload = {
      repository,
      digest,
      reportId: report.id,
      ...(host ? { registryHost: host } : {}),
    };
    const { job } = await jobs.enqueue(sbomJobType, payload, {
      dedupeKey: `sbom:${repository}@${digest}`,
      maxAttempts: 1,
    });
    await db.scanReports.update(report.id, { job_id: job.id });
    return { ...report, job_id: job.id };
  }

  /**
   * Called for every pushed manifest: requests an SBOM when the project's `auto_sbom_generation`
   * is on and the manifest is an image or index. Never throws: the push has already succeeded.
   */
  sbomOnPush(repository: string, digest: string): void {
    this.sbomIfAutoGeneration(repository, digest).catch((error: unknown) => {
      this.options.log.error({ err: error, repository, digest }, 'SBOM on push could not be requested');
    });
  }

  /** Stops unfinished generation; false when there is none. */
  async stop(repository: string, digest: string): Promise<boolean> {
    const { db, jobs, clock } = this.options;
    const current = await db.scanReports.find(digest, sbomReportKey(repository));
    if (!current || (current.status !== 'Pending' && current.status !== 'Running')) return false;
    if (current.job_id !== null) await jobs.cancel(current.job_id);
    await db.scanReports.update(current.id, { status: 'Stopped', finished_at: clock.now() });
    return true;
  }

  async report(repository: string, digest: string): Promise<ScanReportRow | undefined> {
    return this.options.db.scanReports.find(digest, sbomReportKey(repository));
  }

  private async sbomIfAutoGeneration(repository: string, digest: string): Promise<void> {
    const { db } = this.options;
    const project = await db.projects.findByName(repository.slice(0, repository.indexOf('/')));
    if (!project || (await db.projects.metadata(project.id)).auto_sbom_generation !== 'true') return;
    const row = await db.manifests.find(repository, digest);
    if (row && isImageOrIndex(row)) await this.requestSbom(repository, digest);
  }

  private newReport(digest: string, key: string, status: 'Pending' | 'Success') {
    const now = this.options.clock.now();
    return {
      digest,
      scanner_name: key,
      scanner_version: this.options.version,
      status,
      report: null,
      summary: null,
      db_version: null,
      db_imported_at: null,
      job_id: null,
      requested_at: now,
      started_at: status === 'Success' ? now : null,
      finished_at: status === 'Success' ? now : null,
      error: null,
    };
  }

  private async run(payload: SbomPayload, context: JobContext): Promise<void> {
    const { db, clock } = this.options;
    const row = await db.scanReports.find(payload.digest, sbomReportKey(payload.repository));
    // Only a waiting report is worked: a stopped one stays stopped.
    if (row?.status !== 'Pending') return;
    await db.scanReports.update(row.id, { status: 'Running', started_at: clock.now() });
    try {
      const report = await this.generate(payload, context);
      context.signal.throwIfAborted();
      await db.scanReports.update(row.id, {
        status: 'Success',
        report: JSON.stringify(report),
        finished_at: clock.now(),
      });
      context.log.info(
        `SBOMs ${Object.values(report.sbom_digests).join(', ')}: ${report.package_count} packages`,
      );
    } catch (error) {
      await recordFailure(db, row.id, error, context.signal, clock.now());
    }
  }

  private async generate(payload: SbomPayload, context: JobContext): Promise<SbomReport> {
    const { repository, digest } = payload;
    const top = await this.load(repository, digest);
    if (top.manifest.kind === 'image')
      return this.generateFor(top.descriptor, top.manifest, payload, context);
    const entries = top.manifest.manifests
      .filter((entry) => entry.platform?.os !== 'unknown')
      .sort((a, b) => Number(isLinuxAmd64(b)) - Number(isLinuxAmd64(a)))
      .slice(0, maxIndexImages);
    let first: SbomReport | undefined;
    for (const entry of entries) {
      context.signal.throwIfAborted();
      const child = await this.load(repository, entry.digest);
      if (child.manifest.kind !== 'image') continue;
      const report = await this.generateFor(child.descriptor, child.manifest, payload, context);
      await this.options.db.scanReports.replace({
        ...this.newReport(entry.digest, sbomReportKey(repository), 'Success'),
        report: JSON.stringify(report),
      });
      first ??= report;
    }
    if (!first) throw new Error('the index lists no image to describe');
    const notes = [`an image index: SBOMs were made for each of its images (at most ${maxIndexImages})`];
    return { ...first, notes: [...notes, ...first.notes] };
  }

  /** Analyses one image, pushes its two SBOMs as referrers, then deletes the ones they supersede. */
  private async generateFor(
    image: Descriptor,
    manifest: ParsedManifest,
    payload: SbomPayload,
    context: JobContext,
  ): Promise<SbomReport> {
    const { store, clock, version } = this.options;
    const analysis = await analyzeImage(manifest, (blob) => store.read(blob as Digest));
    context.signal.throwIfAborted();
    const subject: SbomSubject = {
      repository: payload.repository,
      digest: image.digest,
      ...(payload.registryHost ? { registryHost: payload.registryHost } : {}),
    };
    const created = new Date(clock.now());
    const input = { subject, analysis, created, toolVersion: version };
    const documents = [
      { artifactType: spdxMediaType, bytes: json(spdxDocument({ ...input, id: randomUUID() })) },
      { artifactType: cyclonedxMediaType, bytes: json(cyclonedxBom({ ...input, id: randomUUID() })) },
    ];
    const pushed = await this.artifacts.push(payload.repository, image, documents, {
      created: sbomTimestamp(created),
      generator: toolName(version),
    });
    const superseded = await this.artifacts.deleteEarlier(
      payload.repository,
      image.digest,
      new Set(pushed.values()),
    );
    if (superseded.length > 0) context.log.info(`superseded SBOMs deleted: ${superseded.join(', ')}`);
    return {
      sbom_repository: payload.repository,
      sbom_digest: pushed.get(spdxMediaType)!,
      sbom_digests: Object.fromEntries(pushed),
      package_count: analysis.packages.length,
      notes: analysis.notes,
    };
  }

  private async load(
    repository: string,
    digest: string,
  ): Promise<{ manifest: ParsedManifest; descriptor: Descriptor }> {
    const stored = await this.options.manifests.get(repository, parseReference(digest), anyType);
    return {
      manifest: parseManifest(stored.bytes, stored.mediaType),
      descriptor: { mediaType: stored.mediaType, digest: stored.digest, size: stored.size },
    };
  }
}

/** What gets an SBOM: an image or an index, not an accessory (a signature, an SBOM) of one. */
function isImageOrIndex(row: ManifestRow): boolean {
  if (row.subject !== null) return false;
  return manifestKinds.get(row.media_type) === 'index' || imageConfigTypes.has(row.artifact_type ?? '');
}

const json = (document: unknown): Buffer => Buffer.from(`${JSON.stringify(document, null, 2)}\n`);

const isLinuxAmd64 = (entry: Descriptor): boolean =>
  entry.platform?.os === 'linux' && entry.platform.architecture === 'amd64';
