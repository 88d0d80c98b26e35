import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { ContainersSandbox } from '../helpers/containers.ts';
import { alpineLayout } from '../helpers/fixtures.ts';
import { RegistryClient } from '../helpers/http.ts';
import { layoutTagDigest, readLayoutBlob } from '../helpers/oci-layout.ts';
import { missingTools } from '../helpers/tools.ts';

const alpine = alpineLayout();

describe('podman and buildah against Berth', { skip: missingTools('podman', 'buildah', 'skopeo') }, () => {
  let berth: TestBerth;
  let host: string;
  let work: string;
  let box: ContainersSandbox;

  before(async () => {
    berth = await startTestBerth();
    host = new URL(berth.url).host;
    work = await makeTempDir('berth-podman-');
    box = await ContainersSandbox.create(join(work, 'containers'));
    await box.podman('login', '--tls-verify=false', '-u', testAdmin.username, '-p', testAdmin.password, host);
    await box.skopeo('copy', '-q', `oci:${alpine}:v2`, box.storageRef('localhost/alpine:3.17.2'));
  });
  after(async () => {
    await berth?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('podman pushes, pulls back, inspects and deletes with no flags beyond --tls-verify=false', async () => {
    const image = `${host}/pm/alpine:1`;
    await box.podman('tag', 'localhost/alpine:3.17.2', image);
    await box.podman('push', '-q', '--tls-verify=false', image);
    await box.podman('rmi', '-f', image);
    await box.podman('pull', '-q', '--tls-verify=false', image);
    const head = await new RegistryClient(berth.url).request('HEAD', '/v2/pm/alpine/manifests/1');
    const digest = head.header('docker-content-digest')!;
    const repoDigests = (await box.podman('image', 'inspect', '--format', '{{json .RepoDigests}}', image))
      .stdout;
    assert.ok(repoDigests.includes(`${host}/pm/alpine@${digest}`), repoDigests);

    const search = JSON.parse(
      (await box.skopeo('list-tags', '--tls-verify=false', `docker://${host}/pm/alpine`)).stdout,
    );
    assert.deepEqual(search.Tags, ['1']);
    const out = join(work, 'pm-out');
    await box.skopeo('copy', '-q', '--src-tls-verify=false', `docker://${image}`, `oci:${out}:x`);
    assert.equal(await layoutTagDigest(out, 'x'), digest);
    const manifest = JSON.parse((await readLayoutBlob(out, digest)).toString());
    for (const layer of manifest.layers) {
      assert.equal(
        (await readLayoutBlob(out, layer.digest)).length,
        layer.size,
        'every layer comes back whole',
      );
    }
    await box.skopeo('delete', '--tls-verify=false', `docker://${image}`);
    await assert.rejects(box.podman('pull', '-q', '--tls-verify=false', image), /manifest unknown/i);
  });

  it('buildah pushes an image built from scratch', async () => {
    await writeFile(join(work, 'hello.txt'), 'built from scratch\n');
    await box.buildah('from', '--name', 'scratch-amd64', 'scratch');
    await box.buildah('copy', 'scratch-amd64', join(work, 'hello.txt'), '/hello.txt');
    await box.buildah(
      'config',
      '--arch',
      'amd64',
      '--os',
      'linux',
      '--cmd',
      '["/hello.txt"]',
      'scratch-amd64',
    );
    await box.buildah('commit', '-q', 'scratch-amd64', 'localhost/scratch:amd64');
    await box.buildah(
      'push',
      '-q',
      '--tls-verify=false',
      'localhost/scratch:amd64',
      `docker://${host}/ba/scratch:amd64`,
    );
    const inspect = JSON.parse(
      (await box.skopeo('inspect', '--tls-verify=false', `docker://${host}/ba/scratch:amd64`)).stdout,
    );
    assert.equal(inspect.Architecture, 'amd64');
    assert.equal(inspect.Layers.length, 1);
  });

  it('buildah pushes a multi-arch index (manifest push --all), OCI and Docker v2s2, and skopeo copies it out with --all', async () => {
    await writeFile(join(work, 'arm.txt'), 'arm64 payload\n');
    await box.buildah('from', '--name', 'scratch-arm64', 'scratch');
    await box.buildah('copy', 'scratch-arm64', join(work, 'arm.txt'), '/hello.txt');
    await box.buildah('config', '--arch', 'arm64', '--variant', 'v8', '--os', 'linux', 'scratch-arm64');
    await box.buildah('commit', '-q', 'scratch-arm64', 'localhost/scratch:arm64');
    await box.buildah('manifest', 'create', 'localhost/scratch:list');
    await box.buildah(
      'manifest',
      'add',
      'localhost/scratch:list',
      'containers-storage:localhost/scratch:amd64',
    );
    await box.buildah(
      'manifest',
      'add',
      '--arch',
      'arm64',
      '--variant',
      'v8',
      '--os',
      'linux',
      'localhost/scratch:list',
      'containers-storage:localhost/scratch:arm64',
    );
    await box.buildah(
      'manifest',
      'push',
      '-q',
      '--all',
      '--tls-verify=false',
      'localhost/scratch:list',
      `docker://${host}/ba/multi:oci`,
    );
    await box.buildah(
      'manifest',
      'push',
      '-q',
      '--all',
      '--format',
      'v2s2',
      '--tls-verify=false',
      'localhost/scratch:list',
      `docker://${host}/ba/multi:v2s2`,
    );

    const client = new RegistryClient(berth.url);
    for (const [tag, mediaType] of [
      ['oci', 'application/vnd.oci.image.index.v1+json'],
      ['v2s2', 'application/vnd.docker.distribution.manifest.list.v2+json'],
    ]) {
      const stored = await client.request('GET', `/v2/ba/multi/manifests/${tag}`);
      assert.equal(stored.header('content-type'), mediaType);
      assert.equal(JSON.parse(stored.body.toString()).manifests.length, 2);

      const out = join(work, `multi-${tag}`);
      await box.skopeo(
        'copy',
        '-q',
        '--all',
        '--src-tls-verify=false',
        `docker://${host}/ba/multi:${tag}`,
        `oci:${out}:copy`,
      );
      const index = JSON.parse((await readLayoutBlob(out, await layoutTagDigest(out, 'copy'))).toString());
      assert.equal(index.manifests.length, 2);
      assert.deepEqual(
        index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture).sort(),
        ['amd64', 'arm64'],
      );
    }
    // A client that cannot read the index is served its linux/amd64 image.
    const pulled = await box.podman('pull', '-q', '--tls-verify=false', `${host}/ba/multi:oci`);
    assert.match(pulled.stdout.trim(), /^[a-f0-9]{64}$/);
  });
});
