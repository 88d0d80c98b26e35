/** Maven coordinates from the metadata files Java archives carry. */

export interface MavenCoordinates {
  groupId: string;
  artifactId: string;
  version: string;
}

/** `META-INF/maven/<groupId>/<artifactId>/pom.properties`, as Maven writes it in every jar it builds. */
export const POM_PROPERTIES = /^META-INF\/maven\/([^/]+)\/([^/]+)\/pom\.properties$/;
export const MANIFEST = 'META-INF/MANIFEST.MF';

/** Java properties text, the subset Maven writes: `key=value` or `key: value`, `#` comments. */
function parseProperties(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const match = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (match) values.set(match[1]!, match[2]!.trim());
  }
  return values;
}

/** The coordinates of a pom.properties file, falling back on its path for a missing id. */
export function pomCoordinates(text: string, entryPath: string): MavenCoordinates | undefined {
  const properties = parseProperties(text);
  const [, pathGroup, pathArtifact] = POM_PROPERTIES.exec(entryPath) ?? [];
  const groupId = properties.get('groupId') || pathGroup;
  const artifactId = properties.get('artifactId') || pathArtifact;
  const version = properties.get('version');
  if (!groupId || !artifactId || !version) return undefined;
  return { groupId, artifactId, version };
}

/** The main section of a manifest: `Name: value` lines, continued by lines starting with a space. */
export function parseManifest(text: string): Map<string, string> {
  const attributes = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n|\r/)) {
    if (line === '') break;
    if (line.startsWith(' ') && last) {
      attributes.set(last, attributes.get(last)! + line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim();
    attributes.set(last, line.slice(colon + 1).trim());
  }
  return attributes;
}

/** `commons-lang3-3.12.0.jar` → `commons-lang3`; `guava.jar` → `guava`. */
export function artifactFromFileName(fileName: string): string {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1).replace(/\.[^.]+$/, '');
  return base.replace(/-\d[^-]*(?:-[A-Za-z0-9.]+)*$/, '') || base;
}

const looksLikeId = (text: string | undefined): text is string => !!text && /^[A-Za-z0-9_.-]+$/.test(text);

/**
 * Coordinates guessed from a manifest when the archive carries no pom.properties. The group is
 * `Implementation-Vendor-Id` (what Maven's archiver writes there), else the OSGi
 * `Bundle-SymbolicName`; the artifact is the archive's file name without its version, else an
 * id-like `Implementation-Title`. Without a version there is nothing to match.
 */
export function manifestCoordinates(
  attributes: Map<string, string>,
  archiveName: string,
): MavenCoordinates | undefined {
  const version = attributes.get('Implementation-Version') || attributes.get('Bundle-Version');
  const symbolicName = attributes.get('Bundle-SymbolicName')?.split(';')[0]?.trim();
  const groupId = attributes.get('Implementation-Vendor-Id') || symbolicName;
  const title = attributes.get('Implementation-Title');
  const artifactId = artifactFromFileName(archiveName) || (looksLikeId(title) ? title : undefined);
  if (!version || !looksLikeId(groupId) || !artifactId) return undefined;
  return { groupId, artifactId, version };
}
