import type { OsPackage } from './os-package.ts';
import { osPackagePurl } from './purl.ts';

type Stanza = Map<string, string>;

/** Splits a deb822 file into stanzas; continuation lines (leading space or tab) extend a field. */
export function parseStanzas(text: string): Stanza[] {
  const stanzas: Stanza[] = [];
  let current: Stanza = new Map();
  let lastKey: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (current.size > 0) stanzas.push(current);
      current = new Map();
      lastKey = undefined;
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (lastKey !== undefined) current.set(lastKey, `${current.get(lastKey)}\n${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    lastKey = line.slice(0, colon).trim().toLowerCase();
    current.set(lastKey, line.slice(colon + 1).trim());
  }
  if (current.size > 0) stanzas.push(current);
  return stanzas;
}

export interface DebianDistro {
  /** purl namespace: `debian` or `ubuntu`. */
  namespace: string;
  versionId?: string;
}

/**
 * Installed packages of a dpkg status file. `requireStatus` is false for distroless
 * `status.d/` files, which may omit the Status field; a present Status must still say installed.
 */
export function parseDpkgStatus(text: string, distro: DebianDistro, requireStatus = true): OsPackage[] {
  const packages: OsPackage[] = [];
  for (const stanza of parseStanzas(text)) {
    const name = stanza.get('package');
    const version = stanza.get('version');
    if (!name || !version) continue;
    const status = stanza.get('status');
    if (status === undefined ? requireStatus : !isInstalled(status)) continue;
    const arch = stanza.get('architecture');
    const source = parseSource(stanza.get('source'), name, version);
    packages.push({
      name,
      version,
      sourceName: source.name,
      sourceVersion: source.version,
      ...(arch ? { arch } : {}),
      purl: osPackagePurl('deb', distro.namespace, name, version, {
        arch,
        distro: distro.versionId ? `${distro.namespace}-${distro.versionId}` : undefined,
      }),
    });
  }
  return packages;
}

/** "want ok state": only the last word matters for what is on disk. */
function isInstalled(status: string): boolean {
  return status.split(/\s+/).at(-1) === 'installed';
}

/** `Source: glibc (2.36-9+deb12u4)` names the source and, when it differs, its version. */
function parseSource(
  field: string | undefined,
  name: string,
  version: string,
): { name: string; version: string } {
  if (!field) return { name, version };
  const match = /^(\S+)(?:\s+\(([^)]+)\))?/.exec(field);
  if (!match) return { name, version };
  return { name: match[1]!, version: match[2]?.trim() ?? version };
}
