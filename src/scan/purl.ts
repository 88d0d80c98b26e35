/** Package URL (purl) text for OS packages: `pkg:<type>/<namespace>/<name>@<version>?<qualifiers>`. */
export function osPackagePurl(
  type: 'apk' | 'deb' | 'rpm',
  namespace: string,
  name: string,
  version: string,
  qualifiers: Record<string, string | undefined>,
): string {
  const query = Object.entries(qualifiers)
    .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`)
    .join('&');
  const base = `pkg:${type}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}@${encodeURIComponent(version)}`;
  return query ? `${base}?${query}` : base;
}
