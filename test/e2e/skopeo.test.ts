import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { ContainersSandbox } from '../helpers/containers.ts';
import { alpineLayout, alpineManifestDigest } from '../helpers/fixtures.ts';
import { RegistryClient } from '../helpers/http.ts';
import { layoutTagDigest, readLayoutBlob, writeMultiArchLayout } from '../helpers/oci-layout.ts';
import { missingTools, run } from '../helpers/tools.ts';

const alpine = alpineLayout();
const alpineManifest = alpineManifestDigest;

describe('skopeo and umoci against Berth', { skip: missingTools('skopeo', 'umoci') }, () => {
  let berth: TestBerth;
  let host: string;
  let work: string;
  let box: ContainersSandbox;
  const skopeo = (...args: string[]) => box.skopeo(...args);

  before(async () => {
    berth = await startTestBerth();
    host = new URL(berth.url).host;
    work = await makeTempDir('berth-skopeo-');
    box = await ContainersSandbox.create(join(work, 'containers'));
    await skopeo('login', '--tls-verify=false', '-u', testAdmin.username, '-p', testAdmin.password, host);
  });
  after(async () => {
    await berth?.destroy();
  });

  it('copies the real alpine:3.17.2 image in and back out byte-identical', async () => {
    await skopeo(
      'copy',
      '--dest-tls-verify=false',
      `oci:${alpine}:v2`,
      `docker://${host}/library/alpine:3.17.2`,
    );
    const out = join(work, 'alpine-out');
    await skopeo(
      'copy',
      '--src-tls-verify=false',
      `docker://${host}/library/alpine:3.17.2`,
      `oci:${out}:copy`,
    );
    assert.equal(await layoutTagDigest(out, 'copy'), alpineManifest);
    for (const blob of await readdir(join(alpine, 'blobs', 'sha256'))) {
      assert.deepEqual(
        await readLayoutBlob(out, `sha256:${blob}`),
        await readFile(join(alpine, 'blobs', 'sha256', blob)),
        blob,
      );
    }
    const inspect = JSON.parse(
      (await skopeo('inspect', '--tls-verify=false', `docker://${host}/library/alpine:3.17.2`)).stdout,
    );
    assert.equal(inspect.Digest, alpineManifest);
    assert.equal(inspect.Architecture, 'amd64');
    const raw = await skopeo(
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${host}/library/alpine@${alpineManifest}`,
    );
    assert.deepEqual(Buffer.from(raw.stdout), await readLayoutBlob(alpine, alpineManifest));
  });

  it('pushes an image built with umoci, lists tags, and deletes', async () => {
    const layout = join(work, 'umoci');
    const bundle = join(work, 'bundle');
    await run('umoci', ['init', '--layout', layout]);
    await run('umoci', ['new', '--image', `${layout}:base`]);
    await run('umoci', ['unpack', '--rootless', '--image', `${layout}:base`, bundle]);
    await writeFile(join(bundle, 'rootfs', 'hello.txt'), 'hello from berth\n');
    await run('umoci', ['repack', '--image', `${layout}:base`, bundle]);
    await run('umoci', [
      'config',
      '--image',
      `${layout}:base`,
      '--config.cmd',
      '/hello.txt',
      '--os',
      'linux',
      '--architecture',
      'amd64',
    ]);
    const digest = await layoutTagDigest(layout, 'base');

    for (const tag of ['1.0', '1.1', 'latest']) {
      await skopeo(
        'copy',
        '--dest-tls-verify=false',
        `oci:${layout}:base`,
        `docker://${host}/team/hello:${tag}`,
      );
    }
    const tags = JSON.parse(
      (await skopeo('list-tags', '--tls-verify=false', `docker://${host}/team/hello`)).stdout,
    );
    assert.deepEqual(tags.Tags, ['1.0', '1.1', 'latest']);

    const back = join(work, 'hello-out');
    await skopeo('copy', '--src-tls-verify=false', `docker://${host}/team/hello:1.1`, `oci:${back}:x`);
    assert.equal(await layoutTagDigest(back, 'x'), digest);

    await skopeo('delete', '--tls-verify=false', `docker://${host}/team/hello@${digest}`);
    const afterDelete = await new RegistryClient(berth.url).request('GET', '/v2/team/hello/tags/list');
    assert.deepEqual(afterDelete.json(), { name: 'team/hello', tags: [] });
    await assert.rejects(
      skopeo('inspect', '--tls-verify=false', `docker://${host}/team/hello:latest`),
      /manifest unknown/i,
    );
  });

  it('copies a multi-arch index with --all and back', async () => {
    const layout = join(work, 'multi');
    const index = await writeMultiArchLayout(layout, 'multi');
    await skopeo(
      'copy',
      '--all',
      '--dest-tls-verify=false',
      `oci:${layout}:multi`,
      `docker://${host}/team/multi:1`,
    );
    const out = join(work, 'multi-out');
    await skopeo(
      'copy',
      '--all',
      '--src-tls-verify=false',
      `docker://${host}/team/multi:1`,
      `oci:${out}:back`,
    );
    assert.equal(await layoutTagDigest(out, 'back'), index);
    const copied = JSON.parse((await readLayoutBlob(out, index)).toString());
    assert.equal(copied.manifests.length, 2);
    for (const entry of copied.manifests) await readLayoutBlob(out, entry.digest);
    const arm = await skopeo(
      'inspect',
      '--override-arch',
      'arm64',
      '--tls-verify=false',
      `docker://${host}/team/multi:1`,
    );
    assert.equal(JSON.parse(arm.stdout).Architecture, 'arm64');
  });

  it('copies between repositories of Berth (cross-repository mount)', async () => {
    await skopeo(
      'copy',
      '--dest-tls-verify=false',
      `oci:${alpine}:v2`,
      `docker://${host}/origin/alpine:3.17.2`,
    );
    await skopeo(
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${host}/origin/alpine:3.17.2`,
      `docker://${host}/mirror/alpine:3.17.2`,
    );
    const inspect = JSON.parse(
      (await skopeo('inspect', '--tls-verify=false', `docker://${host}/mirror/alpine:3.17.2`)).stdout,
    );
    assert.equal(inspect.Digest, alpineManifest);
  });
});
