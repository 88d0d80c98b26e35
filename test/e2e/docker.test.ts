import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { Dockerd } from '../helpers/dockerd.ts';
import { alpineLayout } from '../helpers/fixtures.ts';
import { RegistryClient } from '../helpers/http.ts';
import { missingTools, run } from '../helpers/tools.ts';

const alpine = alpineLayout();
const dockerSchema2 = 'application/vnd.docker.distribution.manifest.v2+json';

describe('the Docker engine against Berth', { skip: missingTools('dockerd', 'docker', 'skopeo') }, () => {
  let berth: TestBerth;
  let host: string;
  let work: string;
  let daemon: Dockerd;

  before(async () => {
    berth = await startTestBerth();
    host = new URL(berth.url).host;
    work = await makeTempDir('berth-dk-');
    daemon = await Dockerd.start(join(work, 'd'), [host]);
    await daemon.docker('login', '-u', testAdmin.username, '-p', testAdmin.password, host);
    await run('skopeo', [
      'copy',
      '-q',
      `oci:${alpine}:v2`,
      `docker-archive:${join(work, 'alpine.tar')}:alpine:3.17.2`,
    ]);
    await daemon.docker('load', '-q', '-i', join(work, 'alpine.tar'));
  });
  after(async () => {
    await daemon?.stop();
    await berth?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('docker push stores a Docker schema 2 manifest, and docker pull brings the image back', async () => {
    const image = `${host}/dk/alpine:3.17.2`;
    await daemon.docker('tag', 'alpine:3.17.2', image);
    const pushed = await daemon.docker('push', image);
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(pushed.stdout)?.[1];
    assert.ok(digest, pushed.stdout);

    const client = new RegistryClient(berth.url);
    const manifest = await client.request('GET', `/v2/dk/alpine/manifests/${digest}`);
    assert.equal(manifest.header('content-type'), dockerSchema2);
    assert.equal(
      JSON.parse(manifest.body.toString()).layers[0].digest,
      'sha256:63b65145d645c1250c391b2d16ebe53b3747c295ca8ba2fcb6b0cf064a4dc21c',
    );

    await daemon.docker('rmi', image, 'alpine:3.17.2');
    await daemon.docker('pull', '-q', image);
    const repoDigests = (await daemon.docker('image', 'inspect', '--format', '{{json .RepoDigests}}', image))
      .stdout;
    assert.ok(repoDigests.includes(digest), repoDigests);
    await daemon.docker('pull', '-q', `${host}/dk/alpine@${digest}`);
  });

  it('mounts layers across repositories on a second push', async () => {
    const image = `${host}/dk/copy:1`;
    await daemon.docker('tag', `${host}/dk/alpine:3.17.2`, image);
    const pushed = await daemon.docker('push', image);
    assert.match(pushed.stdout, /Mounted from dk\/alpine/);
  });

  it('pulls a multi-arch OCI index, choosing linux/amd64', async () => {
    await run('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      '--dest-creds',
      `${testAdmin.username}:${testAdmin.password}`,
      `oci:${alpine}:v2`,
      `docker://${host}/dk/single:amd64`,
    ]);
    const client = new RegistryClient(berth.url);
    const child = await client.request('GET', '/v2/dk/single/manifests/amd64');
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: child.header('content-type'),
          digest: child.header('docker-content-digest'),
          size: child.body.length,
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ],
    };
    assert.equal((await client.putManifest('dk/single', 'multi', index)).status, 201);
    await daemon.docker('pull', '-q', `${host}/dk/single:multi`);
  });
});
