import { setTimeout as sleep } from 'node:timers/promises';
import { type ReportedPackage, vulnerabilityReportMime } from '../../src/scan/scan-service.ts';
import { apiRequest } from './api.ts';
import { type TestBerth, testAdmin } from './berth.ts';

/** The report items the scan tests look at (Harbor's vulnerability report, version 1.1). */
export interface ReportItem {
  id: string;
  package: string;
  version: string;
  fix_version: string;
  severity: string;
  layer: { digest: string };
  artifact_digests: string[];
  vendor_attributes: { ecosystem: string; source_package?: string; aliases: string[] };
}

export interface ScanReport {
  artifact: { repository: string; digest: string; mime_type: string };
  severity: string;
  vulnerabilities: ReportItem[];
  package_count: number;
  packages: ReportedPackage[];
  notes: string[];
}

interface Overview {
  scan_status: string;
}

/**
 * Waits for the scan of `project/repository@digest` to end, through the Harbor API only, and
 * returns its report; fails on a scan that ended in Error or Stopped, or took over `timeoutMs`.
 */
export async function finishedReport(
  berth: TestBerth,
  project: string,
  repository: string,
  digest: string,
  timeoutMs = 60_000,
): Promise<ScanReport> {
  const path = `/projects/${project}/repositories/${encodeURIComponent(repository)}/artifacts/${digest}`;
  const deadline = Date.now() + timeoutMs;
  let status = 'not requested';
  while (Date.now() < deadline) {
    const artifact = await apiRequest(berth, testAdmin, 'GET', `${path}?with_scan_overview=true`);
    if (artifact.status !== 200) throw new Error(`artifact: ${artifact.status} ${artifact.body}`);
    const overview = artifact.json<{ scan_overview?: Record<string, Overview> }>().scan_overview?.[
      vulnerabilityReportMime
    ];
    status = overview?.scan_status ?? 'not requested';
    if (status === 'Error' || status === 'Stopped') throw new Error(`the scan ended ${status}`);
    if (status === 'Success') {
      const addition = await apiRequest(berth, testAdmin, 'GET', `${path}/additions/vulnerabilities`);
      if (addition.status !== 200) throw new Error(`report: ${addition.status} ${addition.body}`);
      return addition.json<Record<string, ScanReport>>()[vulnerabilityReportMime]!;
    }
    await sleep(100);
  }
  throw new Error(`the scan did not finish within ${timeoutMs} ms (last status: ${status})`);
}
