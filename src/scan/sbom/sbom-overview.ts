import type { ScanReportRow } from '../../db/scan-reports.ts';
import { scannerName } from '../scan-service.ts';
import type { SbomReport } from './sbom-service.ts';

const iso = (ms: number | bigint): string => new Date(Number(ms)).toISOString();

/**
 * Harbor's `sbom_overview` of an artifact (its SBOMOverview: start and end time, status, the SBOM
 * accessory's digest, report id, duration in seconds, scanner), plus Berth's `sbom_repository`
 * and `sbom_digests` (both formats). Undefined when no SBOM was ever requested, as Harbor omits it.
 */
export function sbomOverview(row: ScanReportRow | undefined): Record<string, unknown> | undefined {
  if (!row) return undefined;
  const report = row.report === null ? undefined : (JSON.parse(row.report) as SbomReport);
  const start = row.started_at ?? row.requested_at;
  return {
    start_time: iso(start),
    ...(row.finished_at === null ? {} : { end_time: iso(row.finished_at) }),
    scan_status: row.status,
    ...(report
      ? {
          sbom_digest: report.sbom_digest,
          sbom_repository: report.sbom_repository,
          sbom_digests: report.sbom_digests,
        }
      : {}),
    report_id: String(row.id),
    duration: row.finished_at === null ? 0 : Math.round((Number(row.finished_at) - Number(start)) / 1000),
    scanner: { name: scannerName, vendor: scannerName, version: row.scanner_version },
  };
}
