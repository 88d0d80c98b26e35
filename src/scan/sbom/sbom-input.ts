import { createHash } from 'node:crypto';
import type { ImageAnalysis, ScannedPackage } from '../analyze.ts';

/** The image an SBOM describes: one image manifest in one repository. */
export interface SbomSubject {
  repository: string;
  /** The image manifest's digest. */
  digest: string;
  /** `host[:port]` clients reach the registry at, for the image's purl; left out when unknown. */
  registryHost?: string;
}

/** Everything one SBOM document is made from; `id` (a fresh UUID) makes each generation unique. */
export interface SbomInput {
  subject: SbomSubject;
  analysis: ImageAnalysis;
  created: Date;
  id: string;
  toolVersion: string;
}

/** A detected package with a key unique within its document, for SPDX ids and bom-refs. */
export interface KeyedPackage {
  pkg: ScannedPackage;
  key: string;
}

/** The name tools use for Berth in SBOMs: `Berth-0.1.0`, as SPDX's `Tool: name-version` wants it. */
export const toolName = (version: string): string => `Berth-${version}`;

/** ISO 8601 in UTC to the second: SPDX's date pattern allows no fraction. */
export function sbomTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

const hostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** `registryHost` when it is a plain host[:port]: it comes from a request's Host header. */
export function safeRegistryHost(host: string | undefined): string | undefined {
  return host !== undefined && host.length <= 261 && hostPattern.test(host) ? host : undefined;
}

/**
 * The image's package URL, purl-spec's `oci` type: the repository's last segment as the name, the
 * manifest digest as the version, and where it lives as `repository_url` (host and full path).
 */
export function imagePurl(subject: SbomSubject): string {
  const name = subject.repository.slice(subject.repository.lastIndexOf('/') + 1).toLowerCase();
  const base = `pkg:oci/${encodeURIComponent(name)}@${encodeURIComponent(subject.digest)}`;
  const host = safeRegistryHost(subject.registryHost);
  if (!host) return base;
  const location = encodeURIComponent(`${host}/${subject.repository}`)
    .replace(/%2F/g, '/')
    .replace(/%3A/g, ':');
  return `${base}?repository_url=${location}`;
}

/**
 * Keys every package by a hash of what tells two records apart (type, purl, where it was read),
 * so that a document's ids stay the same for the same image; identical records get a counter.
 */
export function keyPackages(packages: readonly ScannedPackage[]): KeyedPackage[] {
  const seen = new Map<string, number>();
  return packages.map((pkg) => {
    const hash = createHash('sha256')
      .update([pkg.type, pkg.purl, pkg.dbPath, pkg.installPath ?? ''].join('\u0000'))
      .digest('hex')
      .slice(0, 16);
    const count = (seen.get(hash) ?? 0) + 1;
    seen.set(hash, count);
    return { pkg, key: count === 1 ? hash : `${hash}-${count}` };
  });
}

/** Whether a package belongs to the operating system (its package manager) or was found beside it. */
export const isOsPackage = (pkg: ScannedPackage): boolean =>
  pkg.type === 'apk' || pkg.type === 'deb' || pkg.type === 'rpm';

/** How the scanner found a package, in words for SPDX's `sourceInfo`. */
export function foundWhere(pkg: ScannedPackage): string {
  const installed = pkg.installPath ? `, installed in ${pkg.installPath}` : '';
  return `acquired package info from ${pkg.dbPath}${installed}, in layer ${pkg.layerDigest}`;
}
