import type { AdvisorySeverity } from '../db/schema.ts';
import type { ParsedManifest } from '../oci/manifest.ts';
import type { AdvisoryMatch, AdvisoryStore } from '../vuln/advisory-store.ts';
import { analyzeImage, type ScannedPackage } from './analyze.ts';
import type { OpenBlob } from './layer-walker.ts';
import type { DetectedOs } from './os-release.ts';
import { rpmOsvEcosystems } from './rpm-ecosystem.ts';
import type { HarborSeverity, VulnerabilityItem, VulnerabilityReport } from './scan-service.ts';

/** Where an image's manifests and blobs come from: Berth's own store, or a remote registry. */
export interface ImageSource {
  manifest(digest: string): Promise<{ manifest: ParsedManifest; mediaType: string }>;
  openBlob: OpenBlob;
}

export interface ImageScanOptions {
  advisories: AdvisoryStore;
  scanner: { name: string; vendor: string; version: string };
  now: number;
  signal: AbortSignal;
  /** Given the packages looked up, for keeping with the report (a later re-match reads them). */
  onPackages?: (packages: MatchablePackage[], imageDigest: string) => void;
}

/** A package a scan looked up, with the OSV ecosystem it was looked up in. */
export type MatchablePackage = Pick<
  ScannedPackage,
  'name' | 'version' | 'sourceName' | 'sourceVersion' | 'layerDigest' | 'purl'
> & {
  ecosystem: string;
};

const severityNames: Record<AdvisorySeverity, HarborSeverity> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  unknown: 'Unknown',
};
const severityRank: HarborSeverity[] = ['None', 'Unknown', 'Low', 'Medium', 'High', 'Critical'];

/**
 * OSV's ecosystems for a package: the language ecosystem, or for OS packages the release's, e.g.
 * `Alpine:v3.17`, `Debian:12`, `Ubuntu:22.04:LTS`, `Rocky Linux:9` (RHEL: its BaseOS and
 * AppStream). None when the release is unknown, since another release's advisories do not apply.
 */
export function osvEcosystems(pkg: ScannedPackage, os: DetectedOs | undefined): string[] {
  if (pkg.type !== 'apk' && pkg.type !== 'deb' && pkg.type !== 'rpm') return [pkg.type];
  if (pkg.type === 'rpm') return rpmOsvEcosystems(os);
  const versionId = os?.versionId;
  if (!versionId) return [];
  if (pkg.type === 'apk') {
    const [major, minor] = versionId.split('.');
    return minor === undefined ? [] : [`Alpine:v${major}.${minor}`];
  }
  // OSV marks Ubuntu's long-term releases (April of even years): `Ubuntu:22.04:LTS`.
  if (os?.id === 'ubuntu')
    return [/^\d*[02468]\.04$/.test(versionId) ? `Ubuntu:${versionId}:LTS` : `Ubuntu:${versionId}`];
  return [`Debian:${versionId.split('.')[0]}`];
}

/**
 * Scans one artifact (an image, or an index whose linux/amd64 image, else first, is scanned):
 * analyses its layers and matches every package against the advisory database. Both the
 * built-in scanner and the scanner-adapter API run this one function.
 */
export async function scanImage(
  source: ImageSource,
  artifact: { repository: string; digest: string },
  options: ImageScanOptions,
): Promise<VulnerabilityReport> {
  const notes: string[] = [];
  const top = await source.manifest(artifact.digest);
  let image = top.manifest;
  let imageDigest = artifact.digest;
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
    image = (await source.manifest(chosen.digest)).manifest;
    if (image.kind !== 'image') throw new Error(`${chosen.digest} is not an image manifest`);
  }
  const analysis = await analyzeImage(image, source.openBlob);
  notes.push(...analysis.notes);
  const vulnerabilities: VulnerabilityItem[] = [];
  const looked: MatchablePackage[] = [];
  for (const pkg of analysis.packages) {
    options.signal.throwIfAborted();
    for (const ecosystem of osvEcosystems(pkg, analysis.os)) {
      const { name, version, sourceName, sourceVersion, layerDigest, purl } = pkg;
      looked.push({ name, version, sourceName, sourceVersion, layerDigest, purl, ecosystem });
      // Distributions publish advisories against source packages, so source versions are compared.
      const matches = await options.advisories.affecting(ecosystem, sourceName, sourceVersion);
      for (const match of matches) vulnerabilities.push(toItem(match, pkg, imageDigest, ecosystem));
    }
  }
  options.onPackages?.(looked, imageDigest);
  return {
    generated_at: new Date(options.now).toISOString(),
    artifact: { repository: artifact.repository, digest: artifact.digest, mime_type: top.mediaType },
    scanner: options.scanner,
    severity: highest(vulnerabilities),
    vulnerabilities,
    package_count: analysis.packages.length,
    packages: analysis.packages.map((pkg) => ({
      name: pkg.name,
      version: pkg.version,
      source_name: pkg.sourceName,
      source_version: pkg.sourceVersion,
      type: pkg.type,
      purl: pkg.purl,
      layer: { digest: pkg.layerDigest },
      path: pkg.installPath ?? pkg.dbPath,
    })),
    notes,
  };
}

function describePlatform(platform: { os?: string; architecture?: string } | undefined): string {
  return platform ? `${platform.os}/${platform.architecture}` : 'first';
}

export function toItem(
  match: AdvisoryMatch,
  pkg: Omit<MatchablePackage, 'ecosystem'>,
  imageDigest: string,
  ecosystem: string,
): VulnerabilityItem {
  const cvss: VulnerabilityItem['preferred_cvss'] = {};
  if (match.score !== null) cvss.score_v3 = match.score;
  if (match.cvssVector?.startsWith('CVSS:3')) cvss.vector_v3 = match.cvssVector;
  if (match.scoreV4 !== null) cvss.score_v4 = match.scoreV4;
  if (match.cvssV4Vector !== null) cvss.vector_v4 = match.cvssV4Vector;
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
    cwe_ids: match.cweIds,
    vendor_attributes: {
      aliases: match.aliases,
      ecosystem,
      source_package: pkg.sourceName,
      purl: pkg.purl,
      ...(match.unsupported.length > 0 ? { unsupported: match.unsupported } : {}),
    },
  };
}

export function highest(items: VulnerabilityItem[]): HarborSeverity {
  let best: HarborSeverity = 'None';
  for (const item of items)
    if (severityRank.indexOf(item.severity) > severityRank.indexOf(best)) best = item.severity;
  return best;
}
