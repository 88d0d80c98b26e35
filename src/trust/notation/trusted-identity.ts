import type * as x509 from '@peculiar/x509';

/**
 * Notation trusted identities (trust-store-trust-policy.md, "Trusted Identities Constraints"):
 * `*`, or `x509.subject: C=US, ST=WA, O=...`, a full or partial subject DN that must name C,
 * ST and O; the signing certificate matches when its subject has each listed attribute with
 * the same value. `\` escapes `,`, `;`, `\`, `+`, spaces and hex pairs.
 */

const subjectPrefix = 'x509.subject:';
const requiredAttributes = ['C', 'ST', 'O'];
// The same attribute under the names different tools print.
const aliases: Record<string, string> = { EMAILADDRESS: 'E', S: 'ST' };

function attributeType(type: string): string {
  const upper = type.trim().toUpperCase();
  return aliases[upper] ?? upper;
}

/** Splits a DN into [type, value] pairs, undoing escapes; undefined when it is malformed. */
export function parseDistinguishedName(dn: string): [string, string][] | undefined {
  const pairs: [string, string][] = [];
  let type: string | undefined;
  let value = '';
  let trailingSpaces = 0;
  let text = '';
  const finish = (): boolean => {
    if (type === undefined) return false;
    const trimmed = trailingSpaces ? value.slice(0, value.length - trailingSpaces) : value;
    if (!type.trim() || !trimmed) return false;
    pairs.push([attributeType(type), trimmed]);
    type = undefined;
    value = '';
    trailingSpaces = 0;
    return true;
  };
  for (let index = 0; index < dn.length; index++) {
    const char = dn[index]!;
    if (type === undefined) {
      if (char === '=') {
        type = text;
        text = '';
      } else if (char === ',' || char === ';' || char === '+' || char === '\\') {
        return undefined;
      } else text += char;
      continue;
    }
    if (char === '\\') {
      const hex = dn.slice(index + 1, index + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        value += String.fromCharCode(Number.parseInt(hex, 16));
        index += 2;
      } else if (index + 1 < dn.length) {
        value += dn[++index];
      } else return undefined;
      trailingSpaces = 0;
    } else if (char === ',' || char === ';' || char === '+') {
      if (!finish()) return undefined;
    } else if (char === ' ' && value === '') {
      // Unescaped leading spaces are not part of the value.
    } else {
      value += char;
      trailingSpaces = char === ' ' ? trailingSpaces + 1 : 0;
    }
  }
  if (!finish() || text.trim()) return undefined;
  return pairs;
}

export type IdentityMatch = { matched: true } | { matched: false; reason: string };

function subjectAttributes(certificate: x509.X509Certificate): Map<string, string> | undefined {
  const attributes = new Map<string, string>();
  for (const rdn of certificate.subjectName.toJSON()) {
    for (const [type, values] of Object.entries(rdn)) {
      for (const value of values) {
        const key = attributeType(type);
        // Like Notation, a subject naming an attribute twice cannot be matched unambiguously.
        if (attributes.has(key)) return undefined;
        attributes.set(key, value);
      }
    }
  }
  return attributes;
}

/**
 * Why `identity` is not a valid Notation trusted identity, or undefined when it is: `*`, or
 * `x509.subject:` and a DN naming C, ST and O, each attribute once. For validating policies.
 */
export function trustedIdentityProblem(identity: string): string | undefined {
  const trimmed = identity.trim();
  if (trimmed === '*') return undefined;
  if (!trimmed.startsWith(subjectPrefix)) return `unsupported trusted identity ${JSON.stringify(identity)}`;
  const pairs = parseDistinguishedName(trimmed.slice(subjectPrefix.length));
  if (!pairs || new Map(pairs).size !== pairs.length)
    return `malformed trusted identity ${JSON.stringify(identity)}`;
  const types = new Set(pairs.map(([type]) => type));
  if (!requiredAttributes.every((attribute) => types.has(attribute))) {
    return `trusted identity ${JSON.stringify(identity)} must name C, ST and O`;
  }
  return undefined;
}

/** Whether the signing certificate's subject is one of `identities`. */
export function matchTrustedIdentity(leaf: x509.X509Certificate, identities: string[]): IdentityMatch {
  if (identities.length === 0) return { matched: false, reason: 'the project trusts no Notation identity' };
  if (identities.some((identity) => identity.trim() === '*')) return { matched: true };
  const subject = subjectAttributes(leaf);
  if (!subject)
    return { matched: false, reason: `the signer's subject ${leaf.subject} repeats an attribute` };
  const problems: string[] = [];
  for (const identity of identities) {
    const problem = trustedIdentityProblem(identity);
    if (problem) {
      problems.push(problem);
      continue;
    }
    const wanted = parseDistinguishedName(identity.trim().slice(subjectPrefix.length))!;
    if (wanted.every(([type, value]) => subject.get(type) === value)) return { matched: true };
  }
  const detail = problems.length ? ` (${problems.join('; ')})` : '';
  return { matched: false, reason: `the signer ${leaf.subject} is not a trusted identity${detail}` };
}
