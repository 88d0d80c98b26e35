export type OsFamily =
  | 'alpine'
  | 'debian'
  | 'ubuntu'
  | 'rhel-like'
  | 'amzn'
  | 'suse'
  | 'distroless'
  | 'unknown';

export interface OsRelease {
  id: string;
  versionId?: string;
  name?: string;
  prettyName?: string;
  idLike: string[];
}

export interface DetectedOs extends OsRelease {
  family: OsFamily;
}

/** Unquotes an os-release value: shell-style double or single quotes, backslash escapes in "". */
function unquote(raw: string): string {
  const value = raw.trim();
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1);
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value.slice(1, -1).replace(/\\(["\\`$])/g, '$1');
  }
  return value;
}

/** Parses os-release(5): KEY=value lines, comments and blanks ignored. */
export function parseOsRelease(text: string): OsRelease {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) fields.set(match[1]!, unquote(match[2]!));
  }
  const release: OsRelease = {
    id: (fields.get('ID') ?? 'linux').toLowerCase(),
    idLike: (fields.get('ID_LIKE') ?? '').toLowerCase().split(/\s+/).filter(Boolean),
  };
  const versionId = fields.get('VERSION_ID');
  if (versionId) release.versionId = versionId;
  const name = fields.get('NAME');
  if (name) release.name = name;
  const prettyName = fields.get('PRETTY_NAME');
  if (prettyName) release.prettyName = prettyName;
  return release;
}

const familyById: Record<string, OsFamily> = {
  alpine: 'alpine',
  debian: 'debian',
  ubuntu: 'ubuntu',
  rhel: 'rhel-like',
  centos: 'rhel-like',
  rocky: 'rhel-like',
  almalinux: 'rhel-like',
  amzn: 'amzn',
  sles: 'suse',
  sles_sap: 'suse',
  'opensuse-leap': 'suse',
  'opensuse-tumbleweed': 'suse',
  opensuse: 'suse',
};

/** The distribution family a release belongs to, by its ID, else the first known ID_LIKE. */
export function osFamily(release: OsRelease): OsFamily {
  for (const id of [release.id, ...release.idLike]) {
    const family = familyById[id];
    if (family) return family;
  }
  return 'unknown';
}
