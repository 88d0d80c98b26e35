import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { Containerd } from '../helpers/containerd.ts';
import { alpineLayout } from '../helpers/fixtures.ts';
import { RegistryClient } from '../helpers/http.ts';
import { missingTools, run } from '../helpers/tools.ts';

/**
 * containerd's `ctr --user` logs in with the OAuth2 form (POST grant_type=password to the token
 * endpoint) and fails against registries that only answer Docker's GET flow.
 */
describe('containerd (ctr --user) against Berth', {
  skip: missingTools('containerd', 'ctr', 'skopeo'),
}, () => {
  let berth: TestBerth;
  let host: string;
  let work: string;
  let containerd: Containerd;
  const user = `${testAdmin.username}:${testAdmin.password}`;

  before(async () => {
    berth = await startTestBerth();
    host = new URL(berth.url).host;
    work = await makeTempDir('berth-ctr-');
    containerd = await Containerd.start(join(work, 'c'));
    await run('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      '--dest-creds',
      user,
      `oci:${alpineLayout()}:v2`,
      `docker://${host}/library/alpine:3.17.2`,
    ]);
  });
  after(async () => {
    await containerd?.stop();
    await berth?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('pulls with --user, through a token from the OAuth2 form', async () => {
    const image = `${host}/library/alpine:3.17.2`;
    await containerd.ctr(
      'images',
      'pull',
      '--plain-http',
      '--user',
      user,
      '--platform',
      'linux/amd64',
      image,
    );
    const listed = (await containerd.ctr('images', 'ls')).stdout;
    assert.ok(listed.includes(image), listed);
  });

  it('pushes with --user, and Berth holds the same manifest', async () => {
    const source = `${host}/library/alpine:3.17.2`;
    const target = `${host}/ctr/alpine:pushed`;
    await containerd.ctr('images', 'tag', source, target);
    await containerd.ctr('images', 'push', '--plain-http', '--user', user, target);
    const response = await new RegistryClient(berth.url).request('HEAD', '/v2/ctr/alpine/manifests/pushed', {
      headers: {
        accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json',
      },
    });
    assert.equal(response.status, 200);
    assert.ok(response.header('docker-content-digest'));
  });

  it('is refused with a wrong password', async () => {
    await assert.rejects(
      containerd.ctr(
        'images',
        'pull',
        '--plain-http',
        '--user',
        'admin:Wrong-pass-1',
        `${host}/library/alpine:3.17.2`,
      ),
      /401|unauthorized|authorization failed/i,
    );
  });
});
