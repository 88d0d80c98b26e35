import { baseName } from '../image-paths.ts';
import type { FileDetector, LanguagePackage } from '../language-package.ts';
import {
  absolute,
  dedupePackages,
  isObject,
  isPlausibleToken,
  languagePackage,
  mib,
  parseJson,
  purlOf,
  stringField,
  textOf,
} from './common.ts';

const nugetId = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export const nugetPurl = (name: string, version: string): string => purlOf('nuget', [name], version);

/**
 * The NuGet packages an application was built with, from its `<app>.deps.json`: the `libraries`
 * keyed `Name/Version` with `type: package`. `project` entries are the application and its own
 * projects, and `reference` entries are plain assemblies; neither is a NuGet package.
 */
export function parseDepsJson(text: string, imagePath: string): LanguagePackage[] {
  const deps = parseJson(text);
  if (!isObject(deps) || !isObject(deps.libraries)) return [];
  const packages: LanguagePackage[] = [];
  for (const [key, library] of Object.entries(deps.libraries)) {
    if (stringField(library, 'type') !== 'package') continue;
    const slash = key.lastIndexOf('/');
    const name = key.slice(0, slash);
    const version = key.slice(slash + 1);
    if (slash <= 0 || !nugetId.test(name) || !isPlausibleToken(version, 128)) continue;
    packages.push(languagePackage('NuGet', name, version, nugetPurl(name, version), absolute(imagePath)));
  }
  return dedupePackages(packages);
}

export const depsJsonDetector: FileDetector = {
  name: 'dotnet-deps-json',
  matches: (path) => {
    const name = baseName(path);
    return name.endsWith('.deps.json') && name.length > '.deps.json'.length;
  },
  maxBytes: 16 * mib,
  parse: (content, imagePath) => parseDepsJson(textOf(content), imagePath),
};
