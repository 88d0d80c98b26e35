import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/process.ts';

const berthBin = fileURLToPath(new URL('../bin/berth.js', import.meta.url));
export const distributionBin = '/usr/bin/docker-registry';
const outputTailBytes = 16 * 1024;

/** A registry running as a child process on 127.0.0.1. */
export interface RegistryProcess {
  name: string;
  url: string;
  pid: number;
  /** Authorization header value the bench pushes with, when the registry wants credentials. */
  authorization?: string;
  /** The last few KiB of its stdout and stderr, for error messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Everything the bench must undo: child processes and temp directories. `disposeSync` works from
 * `exit` and signal handlers, where nothing asynchronous runs any more.
 */
export class Resources {
  private readonly children = new Set<ChildProcess>();
  private readonly dirs = new Set<string>();

  async tempDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.add(dir);
    return dir;
  }

  track(child: ChildProcess): void {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
  }

  /** Removes the temp directories (the registries are stopped by then). */
  async dispose(): Promise<void> {
    const dirs = [...this.dirs];
    this.dirs.clear();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }

  disposeSync(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    this.children.clear();
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    this.dirs.clear();
  }
}

async function waitForBase(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/v2/`);
      await response.arrayBuffer();
      // Berth challenges anonymous callers with 401; either way, /v2/ answering means ready.
      if (response.status === 200 || response.status === 401) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url}/v2/ did not answer within ${timeoutMs} ms (${last})`);
}

async function launch(
  resources: Resources,
  name: string,
  url: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<RegistryProcess> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  resources.track(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-outputTailBytes);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  try {
    await spawned;
    await Promise.race([
      waitForBase(url, 30_000),
      exited.then(() => {
        throw new Error(`${name} exited during start:\n${output}`);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    name,
    url,
    pid: child.pid!,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The administrator the bench pushes as; projects are created on push (admins only). */
export const berthAdmin = { username: 'admin', password: `Bench-${randomBytes(12).toString('hex')}-1` };

/** `node bin/berth.js serve`, as scripts run it, without per-request log lines. */
export async function startBerth(
  resources: Resources,
  dataDir: string,
  /** More settings as BERTH_* variables (the scale-out run's shared database and storage). */
  settings: Record<string, string> = {},
): Promise<RegistryProcess> {
  const port = await freePort();
  // Settings come from the flags and these variables only, not from the caller's BERTH_*.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BERTH_')));
  const server = await launch(
    resources,
    'berth',
    `http://127.0.0.1:${port}`,
    process.execPath,
    [berthBin, 'serve', '--listen', `127.0.0.1:${port}`, '--data', dataDir],
    {
      ...env,
      BERTH_LOG_REQUESTS: 'false',
      BERTH_ADMIN_PASSWORD: berthAdmin.password,
      BERTH_REGISTRY_AUTO_CREATE_PROJECTS: 'true',
      ...settings,
    },
  );
  const credentials = Buffer.from(`${berthAdmin.username}:${berthAdmin.password}`).toString('base64');
  return { ...server, authorization: `Basic ${credentials}` };
}

/** Debian's `docker-registry` (CNCF distribution 2.8) on filesystem storage, access log off. */
export async function startDistribution(resources: Resources, dir: string): Promise<RegistryProcess> {
  const port = await freePort();
  const root = join(dir, 'storage');
  await mkdir(root, { recursive: true });
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${root}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  return launch(resources, 'distribution', `http://127.0.0.1:${port}`, distributionBin, ['serve', config], {
    ...process.env,
  });
}

/** Peak (VmHWM) and current (VmRSS) resident memory of a process, in bytes. */
export function memoryOf(pid: number): { peak: number; current: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { peak: field('VmHWM'), current: field('VmRSS') };
}
