import type { Database } from '../db/database.ts';
import type { ScanReportRow } from '../db/scan-reports.ts';
import type { JobContext, JobService } from '../jobs/job-service.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { readAll } from '../lib/streams.ts';
import type { Digest } from '../oci/digest.ts';
import { type ParsedManifest, parseManifest } from '../oci/manifest.ts';
import type { BlobReader } from '../storage/blob-store.ts';
import type { AdvisoryStore } from '../vuln/advisory-store.ts';
import { type ImageScanOptions, type ImageSource, scanImage } from './image-scan.ts';
import { rematchReport, storedPackages } from './rematch.ts';

export { osvEcosystems } from './image-scan.ts';

export const scanJobType = 'scan';
export const vulnerabilityReportMime = 'application/vnd.security.vulnerability.report; version=1.1';
export const scannerName = 'Berth';

export type HarborSeverity = 'Critical' | 'High' | 'Medium' | 'Low' | 'Unknown' | 'None';

const imageConfigTypes = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

export interface VulnerabilityItem {
  id: string;
  package: string;
  version: string;
  fix_version: string;
  severity: HarborSeverity;
  description: string;
  links: string[];
  layer: { digest: string };
  artifact_digests: string[];
  preferred_cvss: { score_v3?: number; vector_v3?: string; score_v4?: number; vector_v4?: string };
  cwe_ids: string[];
  vendor_attributes: Record<string, unknown>;
}

export interface VulnerabilityReport {
  generated_at: string;
  artifact: { repository: string; digest: string; mime_type: string };
  scanner: { name: string; vendor: string; version: string };
  severity: HarborSeverity;
  vulnerabilities: VulnerabilityItem[];
  /** Berth's additions: every package found, and what the scan could not see. */
  package_count: number;
  packages: ReportedPackage[];
  notes: string[];
}

/** A package of the scanned image as the report lists it (vulnerable or not). */
export interface ReportedPackage {
  name: string;
  version: string;
  source_name: string;
  source_version: string;
  /** apk, deb, rpm, or the OSV ecosystem of a language package. */
  type: string;
  purl: string;
  layer: { digest: string };
  path: string;
}

export interface ScanSummary {
  total: number;
  fixable: number;
  summary: Partial<Record<HarborSeverity, number>>;
}

interface ScanPayload {
  repository: string;
  digest: string;
  reportId: number;
  /** An external scanner's registration uuid and name; absent for the built-in scanner. */
  registration?: string;
  scannerName?: string;
}

/** The external scanner adapters projects may use instead of the built-in scanner. */
export interface ExternalScanners {
  /** The external scanner `repository`'s project uses; undefined when it uses the built-in one. */
  scannerFor(repository: string): Promise<{ uuid: string; name: string; version: string } | undefined>;
  /** Has registration `uuid` scan the artifact and returns its report. */
  scan(uuid: string, repository: string, digest: string, signal: AbortSignal): Promise<VulnerabilityReport>;
}

export interface ScanServiceOptions {
  db: Database;
  store: BlobReader;
  jobs: JobService;
  advisories: AdvisoryStore;
  clock: Clock;
  log: Logger;
  version: string;
  externalScanners?: ExternalScanners;
}

/**
 * Whether a manifest is something the scanner reads: an image or an index, not an accessory
 * (a signature, an SBOM: it has a subject) nor an artifact whose config is not an image's.
 */
export function isScannableManifest(row: { subject: string | null; artifact_type: string | null }): boolean {
  return row.subject === null && (row.artifact_type === null || imageConfigTypes.has(row.artifact_type));
}

/**
 * Ends a report whose job failed: Stopped when the job was cancelled, else Error with the reason,
 * which is thrown on so the job service records and retries it as its policy says.
 */
export async function recordFailure(
  db: Database,
  reportId: number,
  error: unknown,
  signal: AbortSignal,
  now: number,
): Promise<void> {
  const stopped = signal.aborted;
  await db.scanReports.update(reportId, {
    status: stopped ? 'Stopped' : 'Error',
    error: stopped ? null : (error as Error).message,
    finished_at: now,
  });
  if (!stopped) throw error;
}

/** The report of `digest` under `key` while its job is still waiting or running. */
export async function unfinishedReport(
  db: Database,
  jobs: JobService,
  digest: string,
  key: string,
): Promise<ScanReportRow | undefined> {
  const current = await db.scanReports.find(digest, key);
  if (!current || (current.status !== 'Pending' && current.status !== 'Running') || current.job_id === null)
    return undefined;
  const job = await jobs.job(current.job_id);
  return job && !job.finished_at ? current : undefined;
}

/** Scans manifests for vulnerabilities as jobs and keeps Harbor-format reports by digest. */
export class ScanService {
  private readonly finishedListeners: ((repository: string, digest: string) => void)[] = [];

  constructor(private readonly options: ScanServiceOptions) {}

  /** Told when a scan run here finished (its report changed), so pull decisions are remade. */
  onReportChanged(listener: (repository: string, digest: string) => void): void {
    this.finishedListeners.push(listener);
  }

  /** Registers the scan job handler with the job service. */
  register(): void {
    this.options.jobs.register(scanJobType, (payload, context) => this.run(payload as ScanPayload, context));
  }

  /** Queues a scan of `digest`; while one is unfinished, asking again returns that one. */
  async requestScan(repository: string, digest: string): Promise<ScanReportRow> {
    const { db, jobs, clock } = this.options;
    const external = await this.options.externalScanners?.scannerFor(repository);
    const name = external?.name ?? scannerName;
    const current = await unfinishedReport(db, jobs, digest, name);
    if (current) return current;
    const report = await db.scanReports.replace({
      digest,
      scanner_name: name,
      scanner_version: external?.version ?? this.options.version,
      status: 'Pending',
      report: null,
      summary: null,
      db_version: null,
      db_imported_at: null,
      job_id: null,
      requested_at: clock.now(),
      started_at: null,
      finished_at: null,
      error: null,
    });
    const payload: ScanPayload = external
      ? { repository, digest, reportId: report.id, registration: external.uuid, scannerName: name }
      : { repository, digest, reportId: report.id };
    const dedupeKey = external ? `scan:${digest}:${external.uuid}` : `scan:${digest}`;
    const { job } = await jobs.enqueue(scanJobType, payload, { dedupeKey, maxAttempts: 1 });
    await db.scanReports.update(report.id, { job_id: job.id });
    return { ...report, job_id: job.id };
  }

  /**
   * Called for every pushed manifest: requests a scan when the project's `auto_scan` is on and
   * the manifest is an image or index (not a signature or other accessory). Never throws: a
   * failure is logged, the push it follows has already succeeded.
   */
  scanOnPush(repository: string, digest: string): void {
    this.scanIfAutoScan(repository, digest).catch((error: unknown) => {
      this.options.log.error({ err: error, repository, digest }, 'scan on push could not be requested');
    });
  }

  private async scanIfAutoScan(repository: string, digest: string): Promise<void> {
    const { db } = this.options;
    const project = await db.projects.findByName(repository.slice(0, repository.indexOf('/')));
    if (!project || (await db.projects.metadata(project.id)).auto_scan !== 'true') return;
    const row = await db.manifests.find(repository, digest);
    if (!row || !isScannableManifest(row)) return;
    await this.requestScan(repository, digest);
  }

  /** Stops an unfinished scan; false when there is none. */
  async stopScan(digest: string, repository?: string): Promise<boolean> {
    const { db, jobs, clock } = this.options;
    const current = await db.scanReports.find(digest, await this.scannerNameFor(repository));
    if (!current || (current.status !== 'Pending' && current.status !== 'Running')) return false;
    if (current.job_id !== null) await jobs.cancel(current.job_id);
    await db.scanReports.update(current.id, { status: 'Stopped', finished_at: clock.now() });
    return true;
  }

  /** The report of the scanner `repository`'s project uses (the built-in one without a repository). */
  async report(digest: string, repository?: string): Promise<ScanReportRow | undefined> {
    return this.options.db.scanReports.find(digest, await this.scannerNameFor(repository));
  }

  private async scannerNameFor(repository: string | undefined): Promise<string> {
    if (repository === undefined) return scannerName;
    return (await this.options.externalScanners?.scannerFor(repository))?.name ?? scannerName;
  }

  private async run(payload: ScanPayload, context: JobContext): Promise<void> {
    const { db, clock } = this.options;
    const row = await db.scanReports.find(payload.digest, payload.scannerName ?? scannerName);
    // Only a waiting report is worked: a stopped one stays stopped. A newer request that was
    // deduplicated onto this job replaced the report, and this job scans for it.
    if (row?.status !== 'Pending') return;
    const status = await db.advisories.status();
    await db.scanReports.update(row.id, {
      status: 'Running',
      started_at: clock.now(),
      db_version: status.lastImport?.source ?? null,
      db_imported_at: status.lastImport?.importedAt ?? null,
    });
    try {
      let packages: string | null = null;
      const external = this.options.externalScanners;
      const report =
        payload.registration && external
          ? await external.scan(payload.registration, payload.repository, payload.digest, context.signal)
          : await this.scan(payload.repository, payload.digest, context, (looked, imageDigest) => {
              packages = JSON.stringify(storedPackages(imageDigest, looked));
            });
      context.signal.throwIfAborted();
      await db.scanReports.update(row.id, {
        status: 'Success',
        report: JSON.stringify(report),
        summary: JSON.stringify(summarize(report)),
        packages,
        finished_at: clock.now(),
      });
      context.log.info(`${report.vulnerabilities.length} vulnerabilities found`);
    } catch (error) {
      await recordFailure(db, row.id, error, context.signal, clock.now());
    } finally {
      for (const listener of this.finishedListeners) listener(payload.repository, payload.digest);
    }
  }

  /**
   * Re-evaluates a finished report against the vulnerability database as it is now, from the
   * packages its scan kept: no blob is read. False when the report kept none.
   */
  async rematch(row: ScanReportRow, signal: AbortSignal): Promise<boolean> {
    const { db, advisories, clock } = this.options;
    return rematchReport(row, { db, advisories, now: clock.now(), signal });
  }

  private async scan(
    repository: string,
    digest: string,
    context: JobContext,
    onPackages?: ImageScanOptions['onPackages'],
  ): Promise<VulnerabilityReport> {
    const { store, advisories, clock, version } = this.options;
    const source: ImageSource = {
      manifest: (wanted) => this.loadManifest(repository, wanted),
      openBlob: (blob) => store.read(blob as Digest),
    };
    return scanImage(
      source,
      { repository, digest },
      {
        advisories,
        scanner: { name: scannerName, vendor: scannerName, version },
        now: clock.now(),
        signal: context.signal,
        onPackages,
      },
    );
  }

  private async loadManifest(
    repository: string,
    digest: string,
  ): Promise<{ manifest: ParsedManifest; mediaType: string }> {
    const row = await this.options.db.manifests.find(repository, digest);
    if (!row) throw new Error(`manifest ${digest} is not in ${repository}`);
    const bytes = await readAll(await this.options.store.read(digest as Digest), Number(row.size));
    return { manifest: parseManifest(bytes, row.media_type), mediaType: row.media_type };
  }
}

export function summarize(report: VulnerabilityReport): ScanSummary {
  const summary: ScanSummary['summary'] = {};
  for (const item of report.vulnerabilities) summary[item.severity] = (summary[item.severity] ?? 0) + 1;
  return {
    total: report.vulnerabilities.length,
    fixable: report.vulnerabilities.filter((item) => item.fix_version !== '').length,
    summary,
  };
}
