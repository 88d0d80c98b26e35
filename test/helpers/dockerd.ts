import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { captureOutput } from './process.ts';
import { run } from './tools.ts';

/**
 * A real Docker engine of the test's own: vfs storage, no iptables or bridge, its own socket,
 * data and exec roots (dockerd 20.10 starts its own containerd). Keep `dir` short: the
 * containerd socket path beneath it must fit in 108 bytes.
 */
export class Dockerd {
  private constructor(
    readonly dir: string,
    private readonly child: ChildProcess,
    readonly env: NodeJS.ProcessEnv,
    private readonly log: () => string,
  ) {}

  static async start(dir: string, insecureRegistries: string[] = []): Promise<Dockerd> {
    await mkdir(dir, { recursive: true });
    const config = {
      'storage-driver': 'vfs',
      iptables: false,
      ip6tables: false,
      'ip-forward': false,
      'ip-masq': false,
      bridge: 'none',
      'data-root': join(dir, 'data'),
      'exec-root': join(dir, 'exec'),
      pidfile: join(dir, 'docker.pid'),
      hosts: [`unix://${join(dir, 'docker.sock')}`],
      'deprecated-key-path': join(dir, 'key.json'),
      'insecure-registries': insecureRegistries,
      'log-level': 'warn',
    };
    await writeFile(join(dir, 'daemon.json'), JSON.stringify(config));
    const child = spawn('dockerd', ['--config-file', join(dir, 'daemon.json')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = captureOutput(child);
    const env = {
      ...process.env,
      DOCKER_HOST: `unix://${join(dir, 'docker.sock')}`,
      DOCKER_CONFIG: join(dir, 'cli'),
    };
    const daemon = new Dockerd(dir, child, env, output);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`dockerd exited (${child.exitCode}):\n${output()}`);
      try {
        await run('docker', ['version'], { env, timeoutMs: 5_000 });
        return daemon;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    await daemon.stop();
    throw new Error(`dockerd did not start within 30 s:\n${output()}`);
  }

  docker(...args: string[]) {
    return run('docker', args, { env: this.env });
  }

  output(): string {
    return this.log();
  }

  /** SIGTERM, wait; then make sure its containerd and bind mount are gone too. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    const containerdPid = await readFile(
      join(this.dir, 'exec', 'containerd', 'containerd.pid'),
      'utf8',
    ).catch(() => '');
    if (containerdPid.trim()) {
      try {
        process.kill(Number(containerdPid.trim()), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await run('umount', [join(this.dir, 'data')]).catch(() => {});
    await rm(this.dir, { recursive: true, force: true }).catch(() => {});
  }
}
