import { inflateSync } from 'node:zlib';

/**
 * The dependency list cargo-auditable embeds in Rust binaries: the `.dep-v0` section holds
 * zlib-compressed JSON `{"packages":[{name, version, source, kind, dependencies, root}]}`.
 */
export const AUDITABLE_SECTION = '.dep-v0';
/** cargo-auditable's own advice: no legitimate audit data comes near 8 MiB once inflated. */
const MAX_JSON_BYTES = 8 * 1024 * 1024;
export const MAX_SECTION_BYTES = MAX_JSON_BYTES;

export interface Crate {
  name: string;
  version: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The published crates of the audit data: those from crates.io or another registry. Local and
 * git crates (the program itself among them) have no registry version to match, and `build`
 * crates (build scripts' and proc macros' dependencies) run at build time, not in the binary.
 * Undefined when the section does not hold audit data.
 */
export function readAuditData(section: Buffer): Crate[] | undefined {
  let parsed: unknown;
  try {
    const json = inflateSync(section, { maxOutputLength: MAX_JSON_BYTES });
    parsed = JSON.parse(json.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.packages)) return undefined;
  const crates: Crate[] = [];
  for (const entry of parsed.packages) {
    if (!isRecord(entry)) continue;
    const { name, version, source, kind } = entry;
    if (typeof name !== 'string' || typeof version !== 'string' || name === '' || version === '') continue;
    if (source !== 'crates.io' && source !== 'registry') continue;
    if (kind === 'build') continue;
    crates.push({ name, version });
  }
  return crates;
}
