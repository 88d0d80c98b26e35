import type { OsPackage } from './os-package.ts';
import { osPackagePurl } from './purl.ts';

interface ApkRecord {
  name?: string;
  version?: string;
  origin?: string;
  arch?: string;
  files: string[];
}

/**
 * Parses apk's installed database: one record per package, blank-line separated, each line a
 * one-letter key, a colon and the value. `F:` names a directory, the `R:` lines after it its files.
 */
export function parseApkInstalled(text: string, alpineVersion: string | undefined): OsPackage[] {
  const packages: OsPackage[] = [];
  let record: ApkRecord = { files: [] };
  let directory = '';
  const finish = (): void => {
    if (record.name && record.version) packages.push(toPackage(record, alpineVersion));
    record = { files: [] };
    directory = '';
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      finish();
      continue;
    }
    const key = line[0];
    const value = line.slice(2);
    if (line[1] !== ':') continue;
    if (key === 'P') record.name = value;
    else if (key === 'V') record.version = value;
    else if (key === 'o') record.origin = value;
    else if (key === 'A') record.arch = value;
    else if (key === 'F') directory = value;
    else if (key === 'R') record.files.push(`/${directory ? `${directory}/` : ''}${value}`);
  }
  finish();
  return packages;
}

function toPackage(record: ApkRecord, alpineVersion: string | undefined): OsPackage {
  const name = record.name!;
  const version = record.version!;
  return {
    name,
    version,
    sourceName: record.origin ?? name,
    sourceVersion: version,
    ...(record.arch ? { arch: record.arch } : {}),
    purl: osPackagePurl('apk', 'alpine', name, version, {
      arch: record.arch,
      distro: alpineVersion ? `alpine-${alpineVersion}` : undefined,
    }),
    ...(record.files.length > 0 ? { files: record.files } : {}),
  };
}
