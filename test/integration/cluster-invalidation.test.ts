import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiRequest } from '../helpers/api.ts';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { basicAuth, type Credentials, RegistryClient, send } from '../helpers/http.ts';
import {
  createTestPostgresDatabase,
  postgresUnavailable,
  type TestPostgresDatabase,
} from '../helpers/postgres.ts';

/**
 * Two Berth nodes in this process on one PostgreSQL database (one secret key, one blob
 * directory): what one node changes, the other stops serving from its caches within a second, through LISTEN/NOTIFY.
 */

const manifestType = 'application/vnd.oci.image.manifest.v1+json';
const user: Credentials = { username: 'cluster-dev', password: 'Cluster-Dev-Pass-1' };

/** Retries `probe` until it returns true, for at most `ms`; returns how long it took. */
async function within(ms: number, probe: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - start;
    if (Date.now() - start > ms) assert.fail(`not true within ${ms} ms`);
    await sleep(25);
  }
}

describe('cache invalidation across nodes on one PostgreSQL', { skip: await postgresUnavailable() }, () => {
  let database: TestPostgresDatabase;
  let sharedDir: string;
  let nodeA: TestBerth;
  let nodeB: TestBerth;
  /** How far node A's clock runs ahead (to make it rotate its signing key). */
  let clockOffset = 0;

  const api = (node: TestBerth, method: string, path: string, body?: unknown, as: Credentials = testAdmin) =>
    apiRequest(node, as, method, path, body);

  async function ok(node: TestBerth, method: string, path: string, body?: unknown) {
    const response = await api(node, method, path, body);
    assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${response.body}`);
    return response;
  }

  const pull = (
    node: TestBerth,
    repository: string,
    reference: string,
    credentials: Credentials = testAdmin,
  ) =>
    new RegistryClient(node.url, credentials).request('GET', `/v2/${repository}/manifests/${reference}`, {
      headers: { accept: manifestType },
    });

  before(async () => {
    database = await createTestPostgresDatabase();
    sharedDir = await makeTempDir('berth-cluster-shared-');
    const shared = {
      'database.url': database.url,
      'database.poolSize': 4,
      'auth.secretKeyFile': join(sharedDir, 'secret.key'),
      'storage.filesystem.root': join(sharedDir, 'storage'),
    };
    // No token rate limit on A: its token bucket would not survive its clock jumping back.
    nodeA = await startTestBerth(
      { ...shared, 'auth.tokenRatePerMinute': 0 },
      { clock: { now: () => Date.now() + clockOffset } },
    );
    nodeB = await startTestBerth(shared);
  });

  after(async () => {
    await nodeA?.destroy();
    await nodeB?.destroy();
    await database?.drop();
    await rm(sharedDir, { recursive: true, force: true });
  });

  it('enabling cosign content trust on A makes B refuse an unsigned pull it served just before', async () => {
    await ok(nodeA, 'POST', '/projects', { project_name: 'trusted', metadata: { public: 'false' } });
    await new RegistryClient(nodeA.url).pushImage('trusted/app', 'v1');
    // B serves it, and caches the policy and the decision.
    assert.equal((await pull(nodeB, 'trusted/app', 'v1')).status, 200);
    assert.equal((await pull(nodeB, 'trusted/app', 'v1')).status, 200);
    await ok(nodeA, 'PUT', '/projects/trusted', { metadata: { enable_content_trust_cosign: 'true' } });
    const took = await within(1000, async () => (await pull(nodeB, 'trusted/app', 'v1')).status === 403);
    assert.ok(took <= 1000);
    assert.equal((await pull(nodeB, 'trusted/app', 'v1')).errorCode(), 'DENIED');
  });

  it('a token issued by A verifies on B; a user deleted on A is refused on B within a second', async () => {
    await ok(nodeA, 'POST', '/users', {
      username: user.username,
      email: 'cluster-dev@example.com',
      realname: 'Cluster Dev',
      password: user.password,
    });
    await ok(nodeA, 'POST', '/projects', { project_name: 'shared', metadata: { public: 'false' } });
    const userId = (await ok(nodeA, 'GET', `/users?q=username=${user.username}`)).json<
      { user_id: number }[]
    >()[0]!.user_id;
    await ok(nodeA, 'POST', '/projects/shared/members', {
      role_id: 3,
      member_user: { username: user.username },
    });
    await new RegistryClient(nodeA.url).pushImage('shared/app', 'v1');

    const tokenResponse = await send(
      nodeA.url,
      'GET',
      `/service/token?service=${nodeA.config.auth.tokenService}&scope=repository:shared/app:pull`,
      { headers: { authorization: basicAuth(user) } },
    );
    assert.equal(tokenResponse.status, 200, tokenResponse.body.toString());
    const token = tokenResponse.json<{ token: string }>().token;
    const bearerPull = () =>
      send(nodeB.url, 'GET', '/v2/shared/app/manifests/v1', {
        headers: { authorization: `Bearer ${token}`, accept: manifestType },
      });
    // B verifies A's token (the signing key is in the shared table) and caches the user as active;
    // Basic on B succeeds and is cached too.
    assert.equal((await bearerPull()).status, 200);
    assert.equal((await pull(nodeB, 'shared/app', 'v1', user)).status, 200);

    await ok(nodeA, 'DELETE', `/users/${userId}`);
    await within(1000, async () => (await pull(nodeB, 'shared/app', 'v1', user)).status === 401);
    await within(1000, async () => (await bearerPull()).status === 401);
  });

  it('a robot disabled on A is refused on B within a second, Basic and token alike', async () => {
    const permissions = [
      { kind: 'project', namespace: 'shared', access: [{ resource: 'repository', action: 'pull' }] },
    ];
    const created = await ok(nodeA, 'POST', '/robots', { name: 'puller', level: 'project', permissions });
    const robot = created.json<{ id: number; name: string; secret: string }>();
    const credentials: Credentials = { username: robot.name, password: robot.secret };
    const tokenResponse = await send(
      nodeB.url,
      'GET',
      `/service/token?service=${nodeB.config.auth.tokenService}&scope=repository:shared/app:pull`,
      { headers: { authorization: basicAuth(credentials) } },
    );
    assert.equal(tokenResponse.status, 200, tokenResponse.body.toString());
    const token = tokenResponse.json<{ token: string }>().token;
    const bearerPull = () =>
      send(nodeB.url, 'GET', '/v2/shared/app/manifests/v1', {
        headers: { authorization: `Bearer ${token}`, accept: manifestType },
      });
    // B caches the robot's login and that it is active.
    assert.equal((await pull(nodeB, 'shared/app', 'v1', credentials)).status, 200);
    assert.equal((await bearerPull()).status, 200);

    await ok(nodeA, 'PUT', `/robots/${robot.id}`, {
      name: robot.name,
      level: 'project',
      disable: true,
      permissions,
    });
    await within(1000, async () => (await pull(nodeB, 'shared/app', 'v1', credentials)).status === 401);
    await within(1000, async () => (await bearerPull()).status === 401);
  });

  it('an immutable rule created on A is enforced on B within a second', async () => {
    await ok(nodeA, 'POST', '/projects', { project_name: 'frozen', metadata: { public: 'false' } });
    const onB = new RegistryClient(nodeB.url);
    await onB.pushImage('frozen/app', 'v1');
    // B has looked at the project's (empty) rules: moving the tag works and is cached.
    await onB.pushImage('frozen/app', 'v1', { layers: ['second layer'] });
    await ok(nodeA, 'POST', '/projects/frozen/immutabletagrules', {
      action: 'immutable',
      template: 'immutable_template',
      priority: 0,
      disabled: false,
      tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v*' }],
      scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
    });
    let attempt = 0;
    await within(1000, async () => {
      attempt += 1;
      try {
        await onB.pushImage('frozen/app', 'v1', { layers: [`attempt ${attempt}`] });
        return false;
      } catch (error) {
        assert.match((error as Error).message, /manifest push: 4\d\d/);
        return true;
      }
    });
  });

  it('a signing key rotated on A is loaded by B at once', async () => {
    const tokenUrl = `/service/token?service=${nodeA.config.auth.tokenService}&scope=repository:trusted/app:pull`;
    const issue = async () => {
      const response = await send(nodeA.url, 'GET', tokenUrl, {
        headers: { authorization: basicAuth(testAdmin) },
      });
      assert.equal(response.status, 200, response.body.toString());
      return response.json<{ token: string }>().token;
    };
    const check = (token: string) =>
      send(nodeB.url, 'GET', '/v2/', { headers: { authorization: `Bearer ${token}` } });
    const kid = (token: string) =>
      (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    const rotationMs = nodeA.config.auth.keyRotationDays * 24 * 3600 * 1000;
    /**
     * A's clock passes its current key's retirement, so its next token is signed with a new key;
     * then back to now, so tokens are not from the future (A keeps signing with the new key).
     */
    const rotateOnA = async (times: number) => {
      clockOffset = times * (rotationMs + 60_000);
      await issue();
      clockOffset = 0;
      return issue();
    };
    const first = await rotateOnA(1);
    // B reads its keys now (an unknown kid), so by itself it would not read them again for a second.
    await within(1000, async () => (await check(first)).status === 200);
    const second = await rotateOnA(2);
    assert.notEqual(kid(second), kid(first));
    await within(300, async () => (await check(second)).status === 200);
  });
});
