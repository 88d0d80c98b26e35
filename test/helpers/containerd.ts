import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { captureOutput } from './process.ts';
import { type RunResult, run } from './tools.ts';

/**
 * A containerd of the test's own (root, state and socket under `dir`, CRI off), driven with
 * `ctr`. Keep `dir` short: the socket path must fit in 108 bytes.
 */
export class Containerd {
  private constructor(
    private readonly child: ChildProcess,
    private readonly address: string,
    private readonly log: () => string,
  ) {}

  static async start(dir: string): Promise<Containerd> {
    await mkdir(dir, { recursive: true });
    const address = join(dir, 'c.sock');
    const config = [
      'version = 2',
      `root = ${JSON.stringify(join(dir, 'root'))}`,
      `state = ${JSON.stringify(join(dir, 'state'))}`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = ${JSON.stringify(address)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${address}.ttrpc`)}`,
      '',
    ].join('\n');
    await writeFile(join(dir, 'config.toml'), config);
    const child = spawn('containerd', ['--config', join(dir, 'config.toml'), '--log-level', 'warn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const daemon = new Containerd(child, address, captureOutput(child));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`containerd exited (${child.exitCode}):\n${daemon.log()}`);
      try {
        await daemon.ctr('version');
        return daemon;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    await daemon.stop();
    throw new Error(`containerd did not start within 30 s:\n${daemon.log()}`);
  }

  /** `ctr` against this containerd, in a namespace of the tests' own. */
  ctr(...args: string[]): Promise<RunResult> {
    return run('ctr', ['--address', this.address, '--namespace', 'berth-test', ...args]);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
