/**
 * A package name as OSV records and lookups must agree on it. PyPI names are compared in their
 * PEP 503 normal form (`Foo_Bar.baz` → `foo-bar-baz`); other ecosystems' names are exact.
 */
export function normalizePackageName(baseEcosystem: string, name: string): string {
  if (baseEcosystem === 'PyPI') return name.toLowerCase().replace(/[-_.]+/g, '-');
  return name;
}
