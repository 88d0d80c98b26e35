import { type ParsedDigest, tryParseDigest } from './digest.ts';
import { RegistryError } from './errors.ts';

/** Longest repository name accepted, as in distribution; keeps paths and keys bounded. */
export const maxRepositoryNameLength = 255;

const pathComponent = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const repositoryNamePattern = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export function isRepositoryName(value: string): boolean {
  return value.length <= maxRepositoryNameLength && repositoryNamePattern.test(value);
}

export function assertRepositoryName(value: string): string {
  if (!isRepositoryName(value)) {
    throw new RegistryError(
      'NAME_INVALID',
      `invalid repository name: ${JSON.stringify(value.slice(0, 300))}`,
      {
        detail: { name: value.slice(0, 300) },
      },
    );
  }
  return value;
}

export function isTag(value: string): boolean {
  return tagPattern.test(value);
}

export type Reference = { kind: 'tag'; tag: string } | ({ kind: 'digest' } & ParsedDigest);

/** A manifest reference from a URL: a tag, or a digest (anything with a colon must be a valid digest). */
export function parseReference(value: string): Reference {
  if (value.includes(':')) {
    const digest = tryParseDigest(value);
    if (!digest)
      throw new RegistryError(
        'DIGEST_INVALID',
        `invalid digest reference: ${JSON.stringify(value.slice(0, 200))}`,
      );
    return { kind: 'digest', ...digest };
  }
  if (!isTag(value)) {
    throw new RegistryError('TAG_INVALID', `invalid tag: ${JSON.stringify(value.slice(0, 200))}`, {
      detail: { tag: value.slice(0, 200) },
    });
  }
  return { kind: 'tag', tag: value };
}
