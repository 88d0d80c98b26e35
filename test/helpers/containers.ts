import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './tools.ts';

/**
 * A private podman/buildah setup: vfs storage, its own roots, config files and temp dir, so
 * tests never touch the machine's containers or configuration.
 */
export class ContainersSandbox {
  readonly root: string;
  readonly runroot: string;
  readonly env: NodeJS.ProcessEnv;

  private constructor(readonly dir: string) {
    this.root = join(dir, 'root');
    this.runroot = join(dir, 'runroot');
    this.env = {
      ...process.env,
      CONTAINERS_CONF: join(dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
      CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
      TMPDIR: join(dir, 'tmp'),
      // Where `podman login`, `buildah login` and `skopeo login` keep credentials.
      REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
    };
  }

  static async create(dir: string): Promise<ContainersSandbox> {
    const sandbox = new ContainersSandbox(dir);
    await mkdir(join(dir, 'tmp'), { recursive: true });
    await writeFile(
      join(dir, 'registries.conf'),
      'unqualified-search-registries = []\nshort-name-mode = "disabled"\n',
    );
    await writeFile(
      join(dir, 'storage.conf'),
      `[storage]\ndriver = "vfs"\ngraphroot = "${sandbox.root}"\nrunroot = "${sandbox.runroot}"\n`,
    );
    await writeFile(
      join(dir, 'containers.conf'),
      `[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\ntmp_dir = "${join(dir, 'tmp')}"\n`,
    );
    return sandbox;
  }

  /** A containers-storage reference into this sandbox, for skopeo. */
  storageRef(name: string): string {
    return `containers-storage:[vfs@${this.root}+${this.runroot}]${name}`;
  }

  podman(...args: string[]) {
    return run(
      'podman',
      ['--root', this.root, '--runroot', this.runroot, '--storage-driver', 'vfs', ...args],
      { env: this.env },
    );
  }

  buildah(...args: string[]) {
    return run(
      'buildah',
      ['--root', this.root, '--runroot', this.runroot, '--storage-driver', 'vfs', ...args],
      { env: this.env },
    );
  }

  skopeo(...args: string[]) {
    return run('skopeo', args, { env: this.env });
  }

  /**
   * `skopeo copy` of an image (e.g. `oci:<layout>:<tag>`) to `destination` (`<repository>:<tag>`)
   * on a plain-HTTP registry as `credentials`; returns the pushed manifest's digest.
   */
  async pushTo(
    source: string,
    registryUrl: string,
    destination: string,
    credentials: { username: string; password: string },
  ): Promise<string> {
    const digestFile = join(this.dir, `digest-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    await this.skopeo(
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      `${credentials.username}:${credentials.password}`,
      '--digestfile',
      digestFile,
      source,
      `docker://${new URL(registryUrl).host}/${destination}`,
    );
    return (await readFile(digestFile, 'utf8')).trim();
  }
}
