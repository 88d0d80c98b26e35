import type { ScanReportRow } from '../db/scan-reports.ts';
import { vulnerabilityReportMime } from './scan-service.ts';

const parse = <T>(text: string | null): T | undefined =>
  text === null ? undefined : (JSON.parse(text) as T);
const iso = (ms: number | bigint | null): string | undefined =>
  ms === null ? undefined : new Date(Number(ms)).toISOString();

/** Harbor's `scan_overview` of an artifact: keyed by report MIME type; empty when never scanned. */
export function scanOverview(row: ScanReportRow | undefined): Record<string, unknown> {
  if (!row) return {};
  const report = parse<{ severity?: string }>(row.report);
  const start = row.started_at ?? row.requested_at;
  const finished = row.status === 'Success' || row.status === 'Error' || row.status === 'Stopped';
  return {
    [vulnerabilityReportMime]: {
      report_id: String(row.id),
      scan_status: row.status,
      severity: report?.severity ?? 'Unknown',
      duration: row.finished_at === null ? 0 : Math.round((Number(row.finished_at) - Number(start)) / 1000),
      ...(row.summary === null ? {} : { summary: parse(row.summary) }),
      start_time: iso(start),
      ...(row.finished_at === null ? {} : { end_time: iso(row.finished_at) }),
      complete_percent: finished ? 100 : 0,
      scanner: { name: row.scanner_name, vendor: row.scanner_name, version: row.scanner_version },
    },
  };
}
