/** A version scheme: a total order over the version strings one ecosystem publishes. */
export interface VersionComparator {
  /** Short name of the scheme, e.g. `dpkg`, `semver`, `pep440`. */
  readonly scheme: string;
  /** Negative when a sorts before b, zero when equal, positive when after. Throws InvalidVersionError. */
  compare(a: string, b: string): number;
  /** Whether the scheme can order this string at all. */
  isValid(version: string): boolean;
}

export class InvalidVersionError extends Error {
  constructor(
    readonly scheme: string,
    readonly version: string,
  ) {
    super(`"${version}" is not a valid ${scheme} version`);
    this.name = 'InvalidVersionError';
  }
}

export const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Compares two strings of decimal digits of any length without losing precision. */
export function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

export const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
export const isAsciiLetter = (c: string | undefined): boolean =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
