import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { TObject, TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { mirrorProblems } from './mirror-checks.ts';
import { type BerthConfig, configSchema } from './schema.ts';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  /** YAML file; also `BERTH_CONFIG`. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Command-line flags, highest precedence, as a partial config. */
  flags?: Record<string, unknown>;
}

/** Environment variables that are not settings. */
const reservedEnv = new Set(['BERTH_CONFIG']);

type Tree = Record<string, unknown>;

interface Leaf {
  path: string[];
  env: string;
  schema: TSchema;
}

function screamingSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Every setting with its environment variable name. */
export function configLeaves(schema: TObject = configSchema, prefix: string[] = []): Leaf[] {
  return Object.entries(schema.properties).flatMap(([key, child]) => {
    const path = [...prefix, key];
    if (child.type === 'object' && child.properties) return configLeaves(child as TObject, path);
    return [{ path, env: `BERTH_${path.map(screamingSnake).join('_')}`, schema: child }];
  });
}

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]!] = value;
}

function coerce(raw: string, schema: TSchema): unknown {
  if (schema.type === 'integer' || schema.type === 'number') {
    const value = Number(raw);
    return raw.trim() === '' || Number.isNaN(value) ? raw : value;
  }
  if (schema.type === 'array') return raw.split(',').flatMap((item) => (item.trim() ? [item.trim()] : []));
  if (schema.type === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(raw)) return true;
    if (/^(false|0|no|off)$/i.test(raw)) return false;
  }
  return raw;
}

function readFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read config file ${file}: ${(error as Error).message}`]);
  }
  try {
    const document = parseYaml(text) ?? {};
    if (typeof document !== 'object' || Array.isArray(document)) {
      throw new ConfigError([`config file ${file} must be a YAML mapping`]);
    }
    return document as Tree;
  } catch (error) {
    if (error instanceof YAMLParseError) throw new ConfigError([`config file ${file}: ${error.message}`]);
    throw error;
  }
}

/** TypeBox's message, or the list of allowed values where the setting is a choice. */
function explain(schema: TSchema, message: string): string {
  const choices = (schema.anyOf as TSchema[] | undefined)?.map((option) => option.const);
  if (choices?.length && choices.every((choice) => typeof choice === 'string'))
    return `must be one of ${choices.join(', ')}`;
  return message;
}

function describe(path: string, leaves: Map<string, Leaf>, origins: Map<string, string>): string {
  const origin = origins.get(path);
  const env = leaves.get(path)?.env;
  return `${path || '(root)'}${origin ? ` (from ${origin})` : env ? ` (${env})` : ''}`;
}

/** Loads defaults ← file ← environment ← flags, validates, and resolves derived paths. */
export function loadConfig(sources: ConfigSources = {}): BerthConfig {
  const env = sources.env ?? process.env;
  const leaves = configLeaves();
  const byPath = new Map(leaves.map((leaf) => [leaf.path.join('.'), leaf]));
  const origins = new Map<string, string>();
  const problems: string[] = [];

  const file = sources.file ?? env.BERTH_CONFIG;
  const merged: Tree = file ? readFile(file) : {};
  if (file) for (const leaf of leaves) origins.set(leaf.path.join('.'), `config file ${file}`);

  const known = new Set(leaves.map((leaf) => leaf.env));
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('BERTH_') || reservedEnv.has(name) || raw === undefined) continue;
    if (!known.has(name)) {
      problems.push(`unknown environment variable ${name} (settings: berth config --env)`);
      continue;
    }
    const leaf = leaves.find((candidate) => candidate.env === name)!;
    setPath(merged, leaf.path, coerce(raw, leaf.schema));
    origins.set(leaf.path.join('.'), name);
  }
  for (const [path, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    setPath(merged, path.split('.'), value);
    origins.set(path, `--${path}`);
  }

  const config = Value.Default(configSchema, structuredClone(merged)) as Tree;
  for (const error of Value.Errors(configSchema, config)) {
    const path = error.path.slice(1).replaceAll('/', '.');
    const shown = JSON.stringify(error.value);
    if (
      error.schema === configSchema ||
      (error.type === ValueErrorType.ObjectAdditionalProperties && !byPath.has(path))
    ) {
      problems.push(
        `${path || '(root)'}: ${error.message}${error.value !== undefined ? `, got ${shown?.slice(0, 80)}` : ''}`,
      );
      continue;
    }
    problems.push(
      `${describe(path, byPath, origins)}: ${explain(error.schema, error.message)}, got ${shown?.slice(0, 80)}`,
    );
  }
  const listen = config.listen;
  if (typeof listen === 'string' && parseListen(listen).port > 65535) {
    problems.push(
      `${describe('listen', byPath, origins)}: port must be at most 65535, got ${JSON.stringify(listen)}`,
    );
  }
  const mirror = (config.vulndb as Tree | undefined)?.mirror;
  if (typeof mirror === 'object' && mirror !== null) {
    for (const { key, message } of mirrorProblems(mirror))
      problems.push(`${describe(`vulndb.mirror.${key}`, byPath, origins)}: ${message}`);
  }
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return resolvePaths(config as unknown as BerthConfig);
}

function resolvePaths(config: BerthConfig): BerthConfig {
  const data = resolve(config.data);
  const under = (path: string, fallback: string) =>
    path === '' ? join(data, fallback) : isAbsolute(path) ? path : resolve(path);
  return {
    ...config,
    data,
    database: {
      ...config.database,
      sqlite: { ...config.database.sqlite, path: under(config.database.sqlite.path, 'berth.db') },
    },
    storage: { ...config.storage, filesystem: { root: under(config.storage.filesystem.root, 'storage') } },
    auth: { ...config.auth, secretKeyFile: under(config.auth.secretKeyFile, 'secret.key') },
  };
}

/** Splits `host:port` (IPv6 hosts in brackets). */
export function parseListen(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(colon + 1)) };
}
