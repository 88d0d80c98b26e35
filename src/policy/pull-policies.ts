import { readFile } from 'node:fs/promises';
import type { ProjectDirectory } from '../access/project-directory.ts';
import type { Database } from '../db/database.ts';
import type { ScanReportRow } from '../db/scan-reports.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { ManifestService } from '../registry/manifest-service.ts';
import { VerifierContent } from '../registry/verifier-content.ts';
import { scannerName } from '../scan/scan-service.ts';
import type { BlobReader } from '../storage/blob-store.ts';
import { CosignVerifier } from '../trust/cosign/index.ts';
import { SigstoreTrustedRoot } from '../trust/cosign/keyless-signature.ts';
import { NotationVerifier } from '../trust/notation/notation-verifier.ts';
import { TrustPolicyService } from '../trust/trust-policy-service.ts';
import type { CveAllowlistService } from './cve-allowlist-service.ts';
import { PullGate } from './pull-gate.ts';
import { vulnerabilityVerdict } from './vulnerability-verdict.ts';

export interface PullPolicyParts {
  db: Database;
  clock: Clock;
  log: Logger;
  manifests: ManifestService;
  store: BlobReader;
  directory: ProjectDirectory;
  cveAllowlists: CveAllowlistService;
  /** The scanner whose report a repository's pulls are judged by (its project's, else Berth's). */
  scannerFor?: (repository: string) => Promise<{ name: string } | undefined>;
  /** Scans run in this process, whose finished reports drop the decisions of their repository. */
  scans?: { onReportChanged(listener: (repository: string, digest: string) => void): void };
  /** Sigstore's trusted root for keyless Cosign signatures; without it none are trusted. */
  trustedRoot?: SigstoreTrustedRoot;
  /** Refuse images without a successful scan under `prevent_vul` (Harbor's behaviour). */
  denyUnscanned?: boolean;
}

/**
 * The pull gate with its verifiers and verdict, and the trust policies it reads, wired to every
 * change that makes a cached decision stale: project metadata (and so the policies themselves),
 * trust policies, CVE allowlists, and any manifest pushed or deleted in the repository (a
 * signature, or the image itself). Scan reports written by another process show within the
 * gate's TTL.
 */
/** Reads a Sigstore `trusted_root.json`, naming the file when it is missing or not one. */
export async function loadTrustedRoot(path: string): Promise<SigstoreTrustedRoot> {
  try {
    return new SigstoreTrustedRoot(JSON.parse(await readFile(path, 'utf8')));
  } catch (error) {
    throw new Error(`policy.sigstoreTrustedRoot ${path}: ${(error as Error).message}`, { cause: error });
  }
}

export function createPullPolicies(parts: PullPolicyParts): {
  gate: PullGate;
  trustPolicies: TrustPolicyService;
} {
  const { db, clock, log, manifests, directory, cveAllowlists } = parts;
  const trustPolicies = new TrustPolicyService(db, clock);
  const gate = new PullGate({
    db,
    clock,
    log,
    content: new VerifierContent(manifests, parts.store),
    trustOf: (projectId) => trustPolicies.trustOf(projectId),
    projectOf: async (repository) => {
      const slash = repository.indexOf('/');
      const project = slash > 0 ? await directory.byName(repository.slice(0, slash)) : undefined;
      return project ? { id: project.id, metadata: await db.projects.metadata(project.id) } : undefined;
    },
  });
  gate.registerVerifier(new CosignVerifier(parts.trustedRoot ? { trustedRoot: parts.trustedRoot } : {}));
  gate.registerVerifier(new NotationVerifier());
  gate.setVulnerabilityJudge(async ({ projectId, repository, digest, severity, now }) => {
    const scanner = (await parts.scannerFor?.(repository))?.name ?? scannerName;
    const [report, allowlist] = await Promise.all([
      reportCovering(db, repository, digest, scanner),
      cveAllowlists.effectiveAllowlist(projectId),
    ]);
    return vulnerabilityVerdict(
      report,
      { threshold: severity, allowlist, denyUnscanned: parts.denyUnscanned ?? true },
      now,
    );
  });
  directory.onInvalidate(() => gate.invalidateAll());
  trustPolicies.onChange(() => gate.invalidateAll());
  cveAllowlists.onChange(() => gate.invalidateAll());
  // The repository's, not just the digest's: an index's report also judges the image it read.
  parts.scans?.onReportChanged((repository) => gate.invalidateRepository(repository));
  manifests.onStored((repository) => gate.invalidateRepository(repository));
  manifests.onDeleted((repository) => gate.invalidateRepository(repository));
  return { gate, trustPolicies };
}

/**
 * The scan report that judges `digest`: its own, else that of an index listing it whose scan
 * read this very image (Berth scans one image of an index and files the report under the
 * index), so `docker pull` of a scanned multi-platform image can fetch the child it chose.
 */
async function reportCovering(
  db: Database,
  repository: string,
  digest: string,
  scanner: string,
): Promise<ScanReportRow | undefined> {
  const own = await db.scanReports.find(digest, scanner);
  if (own?.status === 'Success') return own;
  for (const parent of (await db.manifests.findParents(repository, digest)).slice(0, 8)) {
    const report = await db.scanReports.find(parent, scanner);
    if (report?.status === 'Success' && scannedImageOf(report) === digest) return report;
  }
  return own;
}

/** The image an index's report was made from, as the built-in scanner keeps it with its packages. */
function scannedImageOf(report: ScanReportRow): string | undefined {
  if (!report.packages) return undefined;
  try {
    const kept = JSON.parse(report.packages) as { imageDigest?: unknown };
    return typeof kept.imageDigest === 'string' ? kept.imageDigest : undefined;
  } catch {
    return undefined;
  }
}
