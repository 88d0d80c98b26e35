import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.ts';

/** Digest algorithms the registry accepts, with the length of their hex encoding. */
export const digestAlgorithms = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof digestAlgorithms;

/** A validated `algorithm:hex` content digest. Only ever built through `parseDigest`. */
export type Digest = string & { readonly __digest: unique symbol };

export interface ParsedDigest {
  readonly digest: Digest;
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
}

const hexPattern = /^[a-f0-9]+$/;
// The grammar of the image-spec, for the error message on algorithms we do not implement.
const digestGrammar = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isDigestAlgorithm(value: string): value is DigestAlgorithm {
  return Object.hasOwn(digestAlgorithms, value);
}

/** Parses a digest, or returns undefined when it is malformed or of an unsupported algorithm. */
export function tryParseDigest(value: string): ParsedDigest | undefined {
  const colon = value.indexOf(':');
  if (colon <= 0) return undefined;
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (!isDigestAlgorithm(algorithm)) return undefined;
  if (hex.length !== digestAlgorithms[algorithm] || !hexPattern.test(hex)) return undefined;
  return { digest: value as Digest, algorithm, hex };
}

/** Parses a digest or throws DIGEST_INVALID with a message that says what is wrong. */
export function parseDigest(value: string): ParsedDigest {
  const parsed = tryParseDigest(value);
  if (parsed) return parsed;
  const reason = digestGrammar.test(value)
    ? `unsupported digest algorithm or bad encoding (want sha256 with 64 or sha512 with 128 lowercase hex digits)`
    : 'malformed digest';
  throw new RegistryError('DIGEST_INVALID', `${reason}: ${JSON.stringify(value.slice(0, 200))}`);
}

export function createDigester(algorithm: DigestAlgorithm = 'sha256'): Hash {
  return createHash(algorithm);
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
}

export function formatDigest(algorithm: DigestAlgorithm, hex: string): Digest {
  return `${algorithm}:${hex}` as Digest;
}
