import type { OsPackage } from './os-package.ts';
import type { DetectedOs } from './os-release.ts';
import { osPackagePurl } from './purl.ts';
import { readBdbHashValues } from './rpm-bdb.ts';
import { RpmHeader, rpmTag } from './rpm-header.ts';
import { readSqliteHeaders, type StoredHeader } from './rpm-sqlite.ts';

/**
 * Image paths of rpm databases, most current format first: when an image holds several (a
 * converted database next to its old file), the first present one is the live one. Fedora ≥ 36
 * and openSUSE keep the database under /usr/lib/sysimage with /var/lib/rpm linking to it.
 */
export const rpmDatabasePaths = [
  'var/lib/rpm/rpmdb.sqlite',
  'usr/lib/sysimage/rpm/rpmdb.sqlite',
  'var/lib/rpm/Packages.db',
  'usr/lib/sysimage/rpm/Packages.db',
  'var/lib/rpm/Packages',
] as const;

/** rpmdb.sqlite is typically 5–60 MiB; this leaves room without letting a layer exhaust memory. */
export const maxRpmDatabaseBytes = 128 * 1024 * 1024;

export type RpmDatabaseFormat = 'sqlite' | 'bdb' | 'ndb' | 'unknown';

/** An installed rpm, with the header fields that have no place in OsPackage. */
export interface RpmPackage extends OsPackage {
  epoch?: number;
  vendor?: string;
  /** `name:stream:version:context` of the module stream the package came from (RHEL 8+). */
  modularityLabel?: string;
}

export interface RpmDatabaseContents {
  packages: RpmPackage[];
  notes: string[];
}

const sqliteMagic = Buffer.from('SQLite format 3\u0000', 'latin1');
const ndbMagic = Buffer.from('RpmP', 'latin1');
/** Berkeley DB hash and btree metadata magics, at offset 12 of the first page, either byte order. */
const bdbMagics = [0x00061561, 0x00053162];

/** The database format, by the file's magic bytes rather than its name. */
export function rpmDatabaseFormat(content: Buffer): RpmDatabaseFormat {
  if (content.subarray(0, sqliteMagic.length).equals(sqliteMagic)) return 'sqlite';
  if (content.subarray(0, ndbMagic.length).equals(ndbMagic)) return 'ndb';
  if (content.length >= 16) {
    const little = content.readUInt32LE(12);
    const big = content.readUInt32BE(12);
    if (bdbMagics.includes(little) || bdbMagics.includes(big)) return 'bdb';
  }
  return 'unknown';
}

const formatNames: Record<RpmDatabaseFormat, string> = {
  sqlite: 'SQLite (rpmdb.sqlite)',
  bdb: 'Berkeley DB',
  ndb: 'ndb',
  unknown: 'unknown',
};

const defaultPaths: Record<RpmDatabaseFormat, string> = {
  sqlite: '/var/lib/rpm/rpmdb.sqlite',
  bdb: '/var/lib/rpm/Packages',
  ndb: '/var/lib/rpm/Packages.db',
  unknown: '/var/lib/rpm/Packages',
};

/** Corrupt headers named one by one in the notes; beyond this they are counted. */
const maxSkipNotes = 5;

/**
 * Installed packages of an rpm database file. Never throws for bad content: a database that
 * cannot be read, or a package header that is corrupt, becomes a note for the report.
 */
export function parseRpmDatabase(
  content: Buffer,
  os: DetectedOs | undefined,
  imagePath?: string,
): RpmDatabaseContents {
  const format = rpmDatabaseFormat(content);
  const path = imagePath ?? defaultPaths[format];
  const unread = (reason: string): RpmDatabaseContents => ({
    packages: [],
    notes: [`rpm database (${formatNames[format]}) at ${path} ${reason}`],
  });
  if (content.length > maxRpmDatabaseBytes)
    return unread(`is larger than ${maxRpmDatabaseBytes} bytes and was not read`);
  let stored: StoredHeader[];
  try {
    if (format === 'sqlite') stored = readSqliteHeaders(content);
    else if (format === 'bdb') stored = readBdbHashValues(content);
    else
      return { packages: [], notes: [`rpm database format ${formatNames[format]} at ${path} is not read`] };
  } catch (error) {
    return unread(`could not be read: ${(error as Error).message}`);
  }
  const packages: RpmPackage[] = [];
  const skipped: string[] = [];
  for (const { hnum, blob } of stored) {
    try {
      const pkg = toPackage(RpmHeader.parse(blob), os);
      if (pkg) packages.push(pkg);
    } catch (error) {
      skipped.push(`rpm package ${hnum} in ${path} was skipped: ${(error as Error).message}`);
    }
  }
  const notes = skipped.slice(0, maxSkipNotes);
  if (skipped.length > maxSkipNotes)
    notes.push(`${skipped.length - maxSkipNotes} more corrupt rpm packages in ${path} were skipped`);
  return { packages, notes };
}

function toPackage(header: RpmHeader, os: DetectedOs | undefined): RpmPackage | undefined {
  const name = header.string(rpmTag.name);
  const version = header.string(rpmTag.version);
  const release = header.string(rpmTag.release);
  if (!name || !version || release === undefined)
    throw new Error('the header lacks a name, version or release');
  // `rpm --import` stores each trusted signing key as a pseudo-package; it is no software.
  if (name === 'gpg-pubkey') return undefined;
  const epoch = header.int32(rpmTag.epoch);
  const arch = header.string(rpmTag.arch);
  const vendor = header.string(rpmTag.vendor);
  const modularityLabel = header.string(rpmTag.modularityLabel);
  const source = parseSourceRpm(header.string(rpmTag.sourceRpm));
  const files = fileNames(header);
  const namespace = purlNamespace(os);
  return {
    name,
    version: evr(epoch, version, release),
    sourceName: source?.name ?? name,
    sourceVersion: source ? evr(epoch, source.version, source.release) : evr(epoch, version, release),
    ...(arch ? { arch } : {}),
    purl: osPackagePurl('rpm', namespace, name, `${version}-${release}`, {
      arch,
      epoch: epoch === undefined ? undefined : String(epoch),
      distro: os?.versionId ? `${namespace}-${os.versionId}` : undefined,
    }),
    ...(files.length > 0 ? { files } : {}),
    ...(epoch === undefined ? {} : { epoch }),
    ...(vendor ? { vendor } : {}),
    ...(modularityLabel ? { modularityLabel } : {}),
  };
}

/** `[epoch:]version-release`, the form OSV's rpm ecosystems and rpm's own EVR use. */
function evr(epoch: number | undefined, version: string, release: string): string {
  return `${epoch === undefined ? '' : `${epoch}:`}${version}-${release}`;
}

/** `name-version-release.src.rpm` (or `.nosrc.rpm`); names may hold dashes, versions may not. */
export function parseSourceRpm(
  field: string | undefined,
): { name: string; version: string; release: string } | undefined {
  const match = field ? /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(field) : null;
  return match ? { name: match[1]!, version: match[2]!, release: match[3]! } : undefined;
}

/** Owned paths: dirname + basename pairs since rpm 4.1, a flat list in older headers. */
function fileNames(header: RpmHeader): string[] {
  const baseNames = header.stringArray(rpmTag.baseNames);
  if (!baseNames) return header.stringArray(rpmTag.oldFileNames) ?? [];
  const dirNames = header.stringArray(rpmTag.dirNames) ?? [];
  const dirIndexes = header.int32Array(rpmTag.dirIndexes) ?? [];
  if (dirIndexes.length !== baseNames.length)
    throw new Error(`${baseNames.length} file names but ${dirIndexes.length} directory indexes`);
  return baseNames.map((base, i) => {
    const dir = dirNames[dirIndexes[i]!];
    if (dir === undefined) throw new Error(`file ${base} names directory ${dirIndexes[i]}, which is absent`);
    return `${dir}${base}`;
  });
}

const namespaceById: Record<string, string> = {
  rhel: 'redhat',
  centos: 'centos',
  rocky: 'rocky',
  almalinux: 'almalinux',
  amzn: 'amazon',
  fedora: 'fedora',
  ol: 'oracle',
  sles: 'suse',
  sles_sap: 'suse',
};

/** The purl namespace is the vendor, per the purl spec's rpm type (`pkg:rpm/fedora/curl@…`). */
function purlNamespace(os: DetectedOs | undefined): string {
  const id = os?.id ?? 'unknown';
  return namespaceById[id] ?? (id.startsWith('opensuse') ? 'opensuse' : id);
}
