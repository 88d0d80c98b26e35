import type { Database } from '../db/database.ts';
import type { ScanReportRow } from '../db/scan-reports.ts';
import type { AdvisorySeverity } from '../db/schema.ts';
import type { JobContext, JobService } from '../jobs/job-service.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { readAll } from '../lib/streams.ts';
import type { Digest } from '../oci/digest.ts';
import { type ParsedManifest, parseManifest } from '../oci/manifest.ts';
import type { BlobReader } from '../storage/blob-store.ts';
import type { AdvisoryMatch, AdvisoryStore } from '../vuln/advisory-store.ts';
import { analyzeImage, type ScannedPackage } from './analyze.ts';
import type { DetectedOs } from './os-release.ts';

export const scanJobType = 'scan';
export const vulnerabilityReportMime = 'application/vnd.security.vulnerability.report; version=1.1';
export const scannerName = 'Berth';

export type HarborSeverity = 'Critical' | 'High' | 'Medium' | 'Low' | 'Unknown' | 'None';

const severityNames: Record<AdvisorySeverity, HarborSeverity> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  unknown: 'Unknown',
};
const imageConfigTypes = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);
const severityRank: HarborSeverity[] = ['None', 'Unknown', 'Low', 'Medium', 'High', 'Critical'];

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
  preferred_cvss: { score_v3?: number; vector_v3?: string };
  cwe_ids: string[];
  vendor_attributes: Record<string, unknown>;
}

export interface VulnerabilityReport {
  generated_at: string;
  artifact: { repository: string; digest: string; mime_type: string };
  scanner: { name: string; vendor: string; version: string };
  severity: HarborSeverity;
  vulnerabilities: VulnerabilityItem[];
  /** Berth's additions: how many packages were looked up, and what the scan could not see. */
  package_count: number;
  notes: string[];
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
}

export interface ScanServiceOptions {
  db: Database;
  store: BlobReader;
  jobs: JobService;
  advisories: AdvisoryStore;
  clock: Clock;
  log: Logger;
  version: string;
}

/**
 * OSV's ecosystem for an image's OS packages: `Alpine:v3.17`, `Debian:12`, `Ubuntu:22.04:LTS`.
 * Undefined when the release is unknown, since an advisory for another release would not apply.
 */
export function osvEcosystem(pkg: ScannedPackage, os: DetectedOs | undefined): string | undefined {
  // Widened so that a detector added to ScannedPackage['type'] falls through to "unknown".
  const type: string = pkg.type;
  if (type === 'npm') return 'npm';
  const versionId = os?.versionId;
  if (!versionId) return undefined;
  if (type === 'apk') {
    const [major, minor] = versionId.split('.');
    return minor === undefined ? undefined : `Alpine:v${major}.${minor}`;
  }
  if (type !== 'deb') return undefined;
  // OSV marks Ubuntu's long-term releases (April of even years): `Ubuntu:22.04:LTS`.
  if (os?.id === 'ubuntu')
    return /^\d*[02468]\.04$/.test(versionId) ? `Ubuntu:${versionId}:LTS` : `Ubuntu:${versionId}`;
  return `Debian:${versionId.split('.')[0]}`;
}

/** Scans manifests for vulnerabilities as jobs and keeps Harbor-format reports by digest. */
export class ScanService {
  constructor(private readonly options: ScanServiceOptions) {}

  /** Registers the scan job handler with the job service. */
  register(): void {
    this.options.jobs.register(scanJobType, (payload, context) => this.run(payload as ScanPayload, context));
  }

  /** Queues a scan of `digest`; while one is unfinished, asking again returns that one. */
  async requestScan(repository: string, digest: string): Promise<ScanReportRow> {
    const { db, jobs, clock } = this.options;
    const current = await db.scanReports.find(digest, scannerName);
    if (
      current &&
      (current.status === 'Pending' || current.status === 'Running') &&
      current.job_id !== null
    ) {
      const job = await jobs.job(current.job_id);
      if (job && !job.finished_at) return current;
    }
    const report = await db.scanReports.replace({
      digest,
      scanner_name: scannerName,
      scanner_version: this.options.version,
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
    const payload: ScanPayload = { repository, digest, reportId: report.id };
    const { job } = await jobs.enqueue(scanJobType, payload, { dedupeKey: `scan:${digest}`, maxAttempts: 1 });
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
    if (!row || row.subject !== null) return;
    if (row.artifact_type !== null && !imageConfigTypes.has(row.artifact_type)) return;
    await this.requestScan(repository, digest);
  }

  /** Stops an unfinished scan; false when there is none. */
  async stopScan(digest: string): Promise<boolean> {
    const { db, jobs, clock } = this.options;
    const current = await db.scanReports.find(digest, scannerName);
    if (!current || (current.status !== 'Pending' && current.status !== 'Running')) return false;
    if (current.job_id !== null) await jobs.cancel(current.job_id);
    await db.scanReports.update(current.id, { status: 'Stopped', finished_at: clock.now() });
    return true;
  }

  async report(digest: string): Promise<ScanReportRow | undefined> {
    return this.options.db.scanReports.find(digest, scannerName);
  }

  private async run(payload: ScanPayload, context: JobContext): Promise<void> {
    const { db, clock } = this.options;
    const row = await db.scanReports.find(payload.digest, scannerName);
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
      const report = await this.scan(payload.repository, payload.digest, context);
      context.signal.throwIfAborted();
      await db.scanReports.update(row.id, {
        status: 'Success',
        report: JSON.stringify(report),
        summary: JSON.stringify(summarize(report)),
        finished_at: clock.now(),
      });
      context.log.info(`${report.vulnerabilities.length} vulnerabilities found`);
    } catch (error) {
      const stopped = context.signal.aborted;
      await db.scanReports.update(row.id, {
        status: stopped ? 'Stopped' : 'Error',
        error: stopped ? null : (error as Error).message,
        finished_at: clock.now(),
      });
      if (!stopped) throw error;
    }
  }

  private async scan(repository: string, digest: string, context: JobContext): Promise<VulnerabilityReport> {
    const notes: string[] = [];
    const top = await this.loadManifest(repository, digest);
    let image = top.manifest;
    let imageDigest = digest;
    if (image.kind !== 'image') {
      const entries = image.manifests.filter((entry) => entry.platform?.os !== 'unknown');
      const chosen =
        entries.find((entry) => entry.platform?.os === 'linux' && entry.platform.architecture === 'amd64') ??
        entries[0];
      if (!chosen) throw new Error('the index lists no image to scan');
      notes.push(
        `an image index: only its ${describePlatform(chosen.platform)} image ${chosen.digest} was scanned`,
      );
      imageDigest = chosen.digest;
      image = (await this.loadManifest(repository, chosen.digest)).manifest;
      if (image.kind !== 'image') throw new Error(`${chosen.digest} is not an image manifest`);
    }
    const analysis = await analyzeImage(image, (blob) => this.options.store.read(blob as Digest));
    notes.push(...analysis.notes);
    const vulnerabilities: VulnerabilityItem[] = [];
    for (const pkg of analysis.packages) {
      context.signal.throwIfAborted();
      const ecosystem = osvEcosystem(pkg, analysis.os);
      if (!ecosystem) continue;
      const matches = await this.options.advisories.affecting(ecosystem, pkg.sourceName, pkg.version);
      for (const match of matches) vulnerabilities.push(toItem(match, pkg, imageDigest, ecosystem));
    }
    return {
      generated_at: new Date(this.options.clock.now()).toISOString(),
      artifact: { repository, digest, mime_type: top.mediaType },
      scanner: { name: scannerName, vendor: scannerName, version: this.options.version },
      severity: highest(vulnerabilities),
      vulnerabilities,
      package_count: analysis.packages.length,
      notes,
    };
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

function describePlatform(platform: { os?: string; architecture?: string } | undefined): string {
  return platform ? `${platform.os}/${platform.architecture}` : 'first';
}

function toItem(
  match: AdvisoryMatch,
  pkg: ScannedPackage,
  imageDigest: string,
  ecosystem: string,
): VulnerabilityItem {
  const cvss: VulnerabilityItem['preferred_cvss'] = {};
  if (match.score !== null) cvss.score_v3 = match.score;
  if (match.cvssVector?.startsWith('CVSS:3')) cvss.vector_v3 = match.cvssVector;
  return {
    id: match.id,
    package: pkg.name,
    version: pkg.version,
    fix_version: match.fixedVersions.join(', '),
    severity: severityNames[match.severity],
    description: match.summary ?? '',
    links: match.references.map((reference) => reference.url),
    layer: { digest: pkg.layerDigest },
    artifact_digests: [imageDigest],
    preferred_cvss: cvss,
    cwe_ids: [],
    vendor_attributes: {
      aliases: match.aliases,
      ecosystem,
      source_package: pkg.sourceName,
      purl: pkg.purl,
      ...(match.unsupported.length > 0 ? { unsupported: match.unsupported } : {}),
    },
  };
}

function highest(items: VulnerabilityItem[]): HarborSeverity {
  let best: HarborSeverity = 'None';
  for (const item of items)
    if (severityRank.indexOf(item.severity) > severityRank.indexOf(best)) best = item.severity;
  return best;
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
