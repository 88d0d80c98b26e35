import { readFileSync } from 'node:fs';

/** The package version, from package.json. */
export function readVersion(): string {
  return (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
}
