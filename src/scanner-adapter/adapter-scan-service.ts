import { randomUUID } from 'node:crypto';
import type { SecretBox } from '../access/secret-box.ts';
import type { AdapterScanRow } from '../db/adapter-scans.ts';
import type { Database } from '../db/database.ts';
import type { JobContext, JobService } from '../jobs/job-service.ts';
import type { Clock } from '../lib/clock.ts';
import { tryParseDigest } from '../oci/digest.ts';
import { parseManifest } from '../oci/manifest.ts';
import { mediaTypes } from '../oci/media-types.ts';
import { isRepositoryName } from '../oci/reference.ts';
import { type ImageSource, scanImage } from '../scan/image-scan.ts';
import { scannerName, type VulnerabilityReport, vulnerabilityReportMime } from '../scan/scan-service.ts';
import type { AdvisoryStore } from '../vuln/advisory-store.ts';
import { RemoteRegistry } from './registry-client.ts';

export const adapterScanJobType = 'adapter-scan';
/** Harbor's own report type, which every adapter produces and Harbor's UI renders. */
export const harborReportMime = 'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0';
export const producedMimeTypes = [vulnerabilityReportMime, harborReportMime] as const;

/** The spec's ScanRequest. */
export interface AdapterScanRequest {
  registry: { url: string; authorization?: string };
  artifact: { repository: string; digest: string; tag?: string; mime_type?: string };
}

/** A scan request the adapter cannot accept: the spec's 422. */
export class InvalidScanRequest extends Error {}

export interface AdapterScanServiceOptions {
  db: Database;
  jobs: JobService;
  secrets: SecretBox;
  advisories: AdvisoryStore;
  clock: Clock;
  version: string;
}

/**
 * Berth as a scanner adapter (Harbor's pluggable scanner API): accepts scan requests naming an
 * artifact in a remote registry, pulls it from there as a job, and runs the same analysis and
 * advisory matching as the built-in scanner.
 */
export class AdapterScanService {
  constructor(private readonly options: AdapterScanServiceOptions) {}

  register(): void {
    this.options.jobs.register(adapterScanJobType, (payload, context) =>
      this.run((payload as { scanId: string }).scanId, context),
    );
  }

  async metadata() {
    const status = await this.options.db.advisories.status();
    const updated = status.lastImport ? new Date(status.lastImport.importedAt).toISOString() : '';
    return {
      scanner: { name: scannerName, vendor: scannerName, version: this.options.version },
      capabilities: [
        {
          consumes_mime_types: [mediaTypes.ociManifest, mediaTypes.dockerManifest],
          produces_mime_types: [...producedMimeTypes],
        },
      ],
      properties: {
        'harbor.scanner-adapter/scanner-type': 'os-package-vulnerability',
        'harbor.scanner-adapter/vulnerability-database-updated-at': updated,
      },
    };
  }

  /** Queues the scan and returns its id. */
  async accept(request: AdapterScanRequest): Promise<string> {
    const { db, jobs, secrets, clock } = this.options;
    const url = parseRegistryUrl(request.registry.url);
    const { repository, digest } = request.artifact;
    if (!isRepositoryName(repository))
      throw new InvalidScanRequest('artifact.repository is not a repository name');
    if (!tryParseDigest(digest)) throw new InvalidScanRequest('artifact.digest is not a digest');
    const scanId = randomUUID();
    const authorization = request.registry.authorization;
    await db.adapterScans.insert({
      scan_id: scanId,
      registry_url: url,
      authorization: authorization ? secrets.seal(authorization) : null,
      repository,
      digest,
      mime_type: request.artifact.mime_type ?? '',
      status: 'Pending',
      report: null,
      error: null,
      requested_at: clock.now(),
      finished_at: null,
    });
    await jobs.enqueue(adapterScanJobType, { scanId }, { maxAttempts: 1 });
    return scanId;
  }

  async find(scanId: string): Promise<AdapterScanRow | undefined> {
    return this.options.db.adapterScans.find(scanId);
  }

  private async run(scanId: string, context: JobContext): Promise<void> {
    const { db, secrets, advisories, clock, version } = this.options;
    const row = await db.adapterScans.find(scanId);
    if (row?.status !== 'Pending') return;
    await db.adapterScans.update(scanId, { status: 'Running' });
    const authorization = row.authorization === null ? undefined : secrets.open(row.authorization);
    const remote = new RemoteRegistry(row.registry_url, row.repository, authorization, context.signal);
    const source: ImageSource = {
      manifest: async (digest) => {
        const { bytes, mediaType } = await remote.manifest(digest);
        return { manifest: parseManifest(bytes, mediaType), mediaType };
      },
      openBlob: (digest) => remote.blob(digest),
    };
    try {
      const report = await scanImage(
        source,
        { repository: row.repository, digest: row.digest },
        {
          advisories,
          scanner: { name: scannerName, vendor: scannerName, version },
          now: clock.now(),
          signal: context.signal,
        },
      );
      await db.adapterScans.update(scanId, {
        status: 'Success',
        report: JSON.stringify(report),
        authorization: null,
        finished_at: clock.now(),
      });
      context.log.info(`${report.vulnerabilities.length} vulnerabilities found`);
    } catch (error) {
      await db.adapterScans.update(scanId, {
        status: 'Error',
        error: (error as Error).message,
        authorization: null,
        finished_at: clock.now(),
      });
      throw error;
    }
  }
}

/** The report in the MIME type asked for: Berth's (Harbor's 1.1 overview type), or Harbor's adapter type. */
export function reportAs(report: VulnerabilityReport, mime: string): unknown {
  if (mime === vulnerabilityReportMime) return report;
  const { package_count: _count, packages: _packages, notes: _notes, ...harbor } = report;
  return harbor;
}

function parseRegistryUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidScanRequest('registry.url is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidScanRequest('registry.url must be http or https');
  if (url.username || url.password || url.search || url.hash)
    throw new InvalidScanRequest('registry.url must be a base URL, without credentials, query or fragment');
  return url.origin + url.pathname.replace(/\/+$/, '');
}
