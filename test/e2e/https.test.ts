import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { ContainersSandbox } from '../helpers/containers.ts';
import { alpineLayout, alpineManifestDigest } from '../helpers/fixtures.ts';
import { basicAuth, type Credentials, send } from '../helpers/http.ts';
import { layoutTagDigest, readLayoutBlob } from '../helpers/oci-layout.ts';
import { Browser, TestOidcProvider } from '../helpers/oidc-provider.ts';
import { directory, slapdMissing, startSlapd } from '../helpers/slapd.ts';
import { certDir } from '../helpers/tls.ts';
import { missingTools, run } from '../helpers/tools.ts';

/**
 * Who pushes and pulls over HTTPS: one row per kind of identity, each against a Berth of its own
 * (an auth mode is per instance). `prepare` runs once that Berth is up and returns the
 * credentials registry clients use; it may start a directory or provider and register how to
 * stop it. `project` is where the row's images go, and must be one the identity may push to.
 */
interface IdentityRow {
  label: string;
  project: string;
  prepare(berth: TestBerth, cleanup: (stop: () => Promise<void>) => void): Promise<Credentials>;
}

const adminAuth = basicAuth(testAdmin);

async function api(berth: TestBerth, method: string, path: string, body?: unknown) {
  const response = await send(berth.url, method, `/api/v2.0${path}`, {
    headers:
      body === undefined
        ? { authorization: adminAuth }
        : { authorization: adminAuth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${response.body}`);
  return response;
}

/** A private project with `username` in it as developer (may push and pull). */
async function projectWithDeveloper(berth: TestBerth, project: string, username: string) {
  await api(berth, 'POST', '/projects', { project_name: project, metadata: { public: 'false' } });
  await api(berth, 'POST', `/projects/${project}/members`, { role_id: 2, member_user: { username } });
}

const identities: IdentityRow[] = [
  { label: 'local administrator', project: 'tls-admin', prepare: async () => testAdmin },
  {
    label: 'local user',
    project: 'tls-local',
    async prepare(berth) {
      const user = { username: 'devon', password: 'Devon-Local-Pass-1' };
      await api(berth, 'POST', '/users', { ...user, email: 'devon@example.com', realname: 'Devon' });
      await projectWithDeveloper(berth, 'tls-local', user.username);
      return user;
    },
  },
  {
    label: 'robot account',
    project: 'tls-robot',
    async prepare(berth) {
      await api(berth, 'POST', '/projects', { project_name: 'tls-robot', metadata: { public: 'false' } });
      const created = await api(berth, 'POST', '/robots', {
        name: 'ci',
        level: 'project',
        duration: 30,
        permissions: [
          {
            kind: 'project',
            namespace: 'tls-robot',
            access: [
              { resource: 'repository', action: 'pull' },
              { resource: 'repository', action: 'push' },
            ],
          },
        ],
      });
      const robot = created.json<{ name: string; secret: string }>();
      return { username: robot.name, password: robot.secret };
    },
  },
  {
    label: 'LDAP user',
    project: 'tls-ldap',
    async prepare(berth, cleanup) {
      const slapd = await startSlapd();
      cleanup(() => slapd.stop());
      await api(berth, 'PUT', '/configurations', {
        auth_mode: 'ldap_auth',
        ldap_url: slapd.url,
        ldap_search_dn: directory.searchDn,
        ldap_search_password: directory.searchPassword,
        ldap_base_dn: directory.suffix,
        ldap_uid: 'uid',
        ldap_scope: 2,
        ldap_group_base_dn: directory.groupsDn,
      });
      const user = { username: 'alice', password: directory.users.alice };
      // The first login onboards the directory user; then they can be made a member.
      const login = await send(berth.url, 'GET', '/v2/', { headers: { authorization: basicAuth(user) } });
      assert.equal(login.status, 200, login.body.toString());
      await projectWithDeveloper(berth, 'tls-ldap', user.username);
      return user;
    },
  },
  {
    label: "OIDC user's CLI secret",
    project: 'tls-oidc',
    async prepare(berth, cleanup) {
      const op = await TestOidcProvider.start({
        redirectUri: `${berth.url}/c/oidc/callback`,
        accounts: [{ sub: 'sub-olivia', preferred_username: 'olivia', email: 'olivia@example.com' }],
      });
      cleanup(() => op.stop());
      await api(berth, 'PUT', '/configurations', {
        auth_mode: 'oidc_auth',
        oidc_name: 'test',
        oidc_endpoint: op.issuer,
        oidc_client_id: op.clientId,
        oidc_client_secret: op.clientSecret,
        oidc_scope: 'openid,profile,email',
        oidc_user_claim: 'preferred_username',
        oidc_auto_onboard: true,
      });
      // The browser's legs at Berth go over HTTPS with its CA (send); the provider's over HTTP.
      const start = await send(berth.url, 'GET', '/c/oidc/login');
      assert.equal(start.status, 302);
      const cookie = (start.headers['set-cookie'] as string[]).map((line) => line.split(';')[0]).join('; ');
      const callback = await new Browser().signIn(start.header('location')!, 'sub-olivia', op.issuer);
      const finish = await send(berth.url, 'GET', `${callback.pathname}${callback.search}`, {
        headers: { cookie },
      });
      assert.equal(finish.status, 302, finish.body.toString());
      const found = await api(berth, 'GET', '/users/search?username=olivia');
      const id = found.json<{ user_id: number }[]>()[0]!.user_id;
      const user = { username: 'olivia', password: 'Olivia-Cli-Secret-1' };
      await api(berth, 'PUT', `/users/${id}/cli_secret`, { secret: user.password });
      await projectWithDeveloper(berth, 'tls-oidc', user.username);
      return user;
    },
  },
];

const alpine = alpineLayout();

describe('skopeo and podman against Berth over HTTPS', {
  skip: missingTools('skopeo', 'podman', 'curl') || slapdMissing(),
}, () => {
  let work: string;
  let box: ContainersSandbox;

  before(async () => {
    work = await makeTempDir('berth-https-');
    box = await ContainersSandbox.create(join(work, 'containers'));
    await box.skopeo('copy', '-q', `oci:${alpine}:v2`, box.storageRef('localhost/alpine:3.17.2'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('is refused by a client that does not trust the CA', async () => {
    const berth = await startTestBerth({ 'tls.selfSigned': true });
    try {
      await assert.rejects(
        box.skopeo(
          'inspect',
          '--creds',
          `${testAdmin.username}:${testAdmin.password}`,
          `docker://${new URL(berth.url).host}/x/y:z`,
        ),
        /certificate signed by unknown authority|x509/,
      );
    } finally {
      await berth.destroy();
    }
  });

  for (const row of identities) {
    describe(row.label, () => {
      let berth: TestBerth;
      let host: string;
      let certs: string;
      let creds: string;
      let login: Credentials;
      const stops: (() => Promise<void>)[] = [];
      before(async () => {
        // Its own CA and certificate, made on first start; nothing here skips verification.
        berth = await startTestBerth({ 'tls.selfSigned': true });
        host = new URL(berth.url).host;
        certs = await certDir(join(work, `certs-${row.project}`), berth.caFile!);
        login = await row.prepare(berth, (stop) => stops.push(stop));
        creds = `${login.username}:${login.password}`;
      });
      after(async () => {
        for (const stop of stops.reverse()) await stop();
        await berth?.destroy();
      });

      it('skopeo copies alpine in and back out byte-identical', async () => {
        const target = `docker://${host}/${row.project}/alpine:3.17.2`;
        await box.skopeo(
          'copy',
          '-q',
          '--dest-cert-dir',
          certs,
          '--dest-creds',
          creds,
          `oci:${alpine}:v2`,
          target,
        );
        const out = join(work, `skopeo-${row.project}`);
        await box.skopeo(
          'copy',
          '-q',
          '--src-cert-dir',
          certs,
          '--src-creds',
          creds,
          target,
          `oci:${out}:copy`,
        );
        assert.equal(await layoutTagDigest(out, 'copy'), alpineManifestDigest);
        for (const blob of await readdir(join(alpine, 'blobs', 'sha256'))) {
          assert.deepEqual(
            await readLayoutBlob(out, `sha256:${blob}`),
            await readFile(join(alpine, 'blobs', 'sha256', blob)),
            blob,
          );
        }
        const inspect = JSON.parse(
          (await box.skopeo('inspect', '--cert-dir', certs, '--creds', creds, target)).stdout,
        );
        assert.equal(inspect.Digest, alpineManifestDigest);
      });

      it('curl pulls the manifest and a layer range over HTTP/2', async () => {
        // skopeo and podman speak HTTP/1.1 over TLS; curl negotiates h2 by ALPN.
        const base = `https://${host}/v2/${row.project}/alpine`;
        const curl = (path: string, out: string, ...extra: string[]) =>
          run('curl', [
            '-sS',
            '--fail',
            '--http2',
            '--cacert',
            berth.caFile!,
            '-u',
            creds,
            '-o',
            out,
            '-w',
            '%{http_version} %{http_code}',
            ...extra,
            `${base}${path}`,
          ]);
        const manifestFile = join(work, `manifest-${row.project}`);
        const manifest = await curl(
          `/manifests/${alpineManifestDigest}`,
          manifestFile,
          '-H',
          'accept: application/vnd.oci.image.manifest.v1+json',
        );
        assert.equal(manifest.stdout, '2 200');
        assert.deepEqual(await readFile(manifestFile), await readLayoutBlob(alpine, alpineManifestDigest));
        const layer = JSON.parse((await readFile(manifestFile)).toString()).layers[0] as {
          digest: string;
          size: number;
        };
        const rangeFile = join(work, `range-${row.project}`);
        const range = await curl(`/blobs/${layer.digest}`, rangeFile, '-r', '1000-99999');
        assert.equal(range.stdout, '2 206');
        assert.deepEqual(
          await readFile(rangeFile),
          (await readLayoutBlob(alpine, layer.digest)).subarray(1000, 100_000),
        );
      });

      it('podman logs in, pushes and pulls back', async () => {
        const image = `${host}/${row.project}/podman:1`;
        await box.podman('login', '--cert-dir', certs, '-u', login.username, '-p', login.password, host);
        await box.podman('tag', 'localhost/alpine:3.17.2', image);
        await box.podman('push', '-q', '--cert-dir', certs, image);
        await box.podman('rmi', '-f', image);
        await box.podman('pull', '-q', '--cert-dir', certs, image);
        const repoDigests = (await box.podman('image', 'inspect', '--format', '{{json .RepoDigests}}', image))
          .stdout;
        const pushed = JSON.parse(
          (await box.skopeo('inspect', '--cert-dir', certs, `docker://${image}`)).stdout,
        ) as { Digest: string };
        assert.ok(repoDigests.includes(`${host}/${row.project}/podman@${pushed.Digest}`), repoDigests);
        await box.podman('logout', host);
      });
    });
  }
});
