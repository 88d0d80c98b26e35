import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const berthBin = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Collects a child's stdout and stderr as it runs, for error messages. */
export function captureOutput(child: ChildProcess): () => string {
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => output;
}

export async function waitForHttp(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

export interface BerthProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL: no chance to clean up. */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Largest file the process may write, in KiB (the shell's `ulimit -f`). */
  fileSizeLimitKiB?: number;
}

/** Runs `berth serve` as its own process, exactly as scripts and benchmarks do. */
export async function spawnBerth(dataDir: string, options: SpawnOptions = {}): Promise<BerthProcess> {
  const port = await freePort();
  const args = [berthBin, 'serve', '--listen', `127.0.0.1:${port}`, '--data', dataDir];
  const spawnOptions = {
    env: {
      ...process.env,
      BERTH_LOG_LEVEL: 'warn',
      BERTH_ADMIN_PASSWORD: 'Berth-Test-Admin-1',
      BERTH_REGISTRY_AUTO_CREATE_PROJECTS: 'true',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
  };
  const child =
    options.fileSizeLimitKiB === undefined
      ? spawn(process.execPath, args, spawnOptions)
      : spawn(
          'bash',
          ['-c', `ulimit -f ${options.fileSizeLimitKiB} && exec "$0" "$@"`, process.execPath, ...args],
          spawnOptions,
        );
  const output = captureOutput(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([
      waitForHttp(`${url}/v2/`),
      exited.then(() => {
        throw new Error(`berth exited during start:\n${output()}`);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    child,
    url,
    output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
