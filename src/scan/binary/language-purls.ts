/** Package URLs of the language packages found in binaries and archives (purl spec types). */

const segment = (text: string): string => encodeURIComponent(text);

/** `pkg:golang/github.com/google/uuid@v1.3.0`: each path segment encoded on its own. */
export function golangPurl(modulePath: string, version: string): string {
  return `pkg:golang/${modulePath.split('/').map(segment).join('/')}@${segment(version)}`;
}

export function cargoPurl(name: string, version: string): string {
  return `pkg:cargo/${segment(name)}@${segment(version)}`;
}

export function mavenPurl(groupId: string, artifactId: string, version: string): string {
  return `pkg:maven/${segment(groupId)}/${segment(artifactId)}@${segment(version)}`;
}

/** The absolute image path of a file the walker names without its leading `/`. */
export function imageFilePath(imagePath: string): string {
  return imagePath.startsWith('/') ? imagePath : `/${imagePath}`;
}
