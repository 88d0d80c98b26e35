import { Filter } from 'ldapts';

/** An attribute description as RFC 4512 allows it: a name or an OID (options are not needed). */
const attributePattern = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;

export class LdapConfigError extends Error {
  override name = 'LdapConfigError';
}

/** The attribute name from settings, refused if it could change the shape of a filter. */
export function attribute(name: string): string {
  if (!attributePattern.test(name))
    throw new LdapConfigError(`invalid LDAP attribute name ${JSON.stringify(name)}`);
  return name;
}

/** A configured filter in parentheses (Harbor accepts `objectClass=person` too); '' stays ''. */
export function normalizeFilter(filter: string): string {
  const trimmed = filter.trim();
  if (trimmed === '') return '';
  return trimmed.startsWith('(') ? trimmed : `(${trimmed})`;
}

/** `(attr=value)` with the value escaped (RFC 4515), so user input can never add filter syntax. */
export function equals(name: string, value: string): string {
  return `(${attribute(name)}=${Filter.escape(value)})`;
}

/** The conjunction of filters, skipping empty ones. */
export function and(...filters: string[]): string {
  const parts = filters.filter((part) => part !== '');
  if (parts.length === 0) return '(objectClass=*)';
  return parts.length === 1 ? (parts[0] as string) : `(&${parts.join('')})`;
}

export function or(...filters: string[]): string {
  return filters.length === 1 ? (filters[0] as string) : `(|${filters.join('')})`;
}

/** Splits at separators not escaped with a backslash. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '\\' && i + 1 < text.length) {
      current += char + text[i + 1];
      i++;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

/**
 * A DN in one canonical spelling for comparisons: attribute types and values lower-cased,
 * spaces around separators dropped (`CN=Devs, OU=Groups` and `cn=devs,ou=groups` are equal).
 * Directories compare these names case-insensitively, and memberOf values, search results and
 * DNs typed by an administrator differ in exactly these ways.
 */
export function normalizeDn(dn: string): string {
  return splitUnescaped(dn.trim(), ',')
    .map((rdn) =>
      splitUnescaped(rdn, '+')
        .map((pair) => {
          const [type = '', ...value] = splitUnescaped(pair, '=');
          return `${type.trim().toLowerCase()}=${value.join('=').trim().toLowerCase()}`;
        })
        .sort()
        .join('+'),
    )
    .join(',');
}

/** Whether `dn` is `base` or lies below it. */
export function isUnder(base: string, dn: string): boolean {
  const b = normalizeDn(base);
  const d = normalizeDn(dn);
  return b === '' || d === b || d.endsWith(`,${b}`);
}
