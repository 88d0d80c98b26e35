import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiCaller, apiRequest, auditEntries } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import type { Credentials } from '../helpers/http.ts';

/** /api/v2.0/users over real HTTP: accounts, profiles, passwords, the sysadmin flag, permissions. */

interface UserResp {
  user_id: number;
  username: string;
  email: string;
  realname: string;
  comment: string;
  sysadmin_flag: boolean;
  creation_time: string;
}

const password = 'User-Pass-123';

describe('/users', () => {
  let berth: TestBerth;
  const api = (caller: ApiCaller, method: string, path: string, body?: unknown) =>
    apiRequest(berth, caller, method, path, body);

  /** Creates a local user as the administrator; returns their id and credentials. */
  async function createUser(username: string, extra: Record<string, string> = {}) {
    const response = await api(testAdmin, 'POST', '/users', {
      username,
      email: `${username}@example.com`,
      realname: `${username} example`,
      password,
      ...extra,
    });
    assert.equal(response.status, 201, response.body.toString());
    const location = response.header('location') ?? '';
    assert.match(location, /^\/api\/v2\.0\/users\/\d+$/);
    const credentials: Credentials = { username, password: extra.password ?? password };
    return { id: Number(location.split('/').at(-1)), credentials };
  }

  before(async () => {
    berth = await startTestBerth();
  });
  after(() => berth?.destroy());

  test('POST creates a user whose profile GET shows, never with a password', async () => {
    const { id, credentials } = await createUser('ursula', { comment: 'first one' });
    const response = await api(testAdmin, 'GET', `/users/${id}`);
    assert.equal(response.status, 200);
    const user = response.json<UserResp & Record<string, unknown>>();
    assert.equal(user.user_id, id);
    assert.equal(user.username, 'ursula');
    assert.equal(user.email, 'ursula@example.com');
    assert.equal(user.realname, 'ursula example');
    assert.equal(user.comment, 'first one');
    assert.equal(user.sysadmin_flag, false);
    assert.ok(!Number.isNaN(Date.parse(user.creation_time)));
    assert.ok(!response.body.toString().includes(password));
    assert.ok(!('password' in user) && !('password_hash' in user));
    // The new user can log in at once.
    assert.equal((await api(credentials, 'GET', '/users/current')).json<UserResp>().username, 'ursula');
  });

  test('POST refuses weak passwords and bad profiles with 400, duplicates with 409', async () => {
    await createUser('victor');
    const attempt = (body: Record<string, unknown>) =>
      api(testAdmin, 'POST', '/users', {
        username: 'walter',
        email: 'walter@example.com',
        realname: 'Walter',
        password,
        ...body,
      });
    for (const weak of ['Short1', 'nouppercase1', 'NOLOWERCASE1', 'NoDigitsHere', `Aa1${'x'.repeat(126)}`]) {
      const response = await attempt({ password: weak });
      assert.equal(response.status, 400, weak);
      assert.equal(response.errorCode(), 'BAD_REQUEST');
    }
    for (const body of [
      { email: '' },
      { email: 'not-an-email' },
      { realname: '' },
      { realname: 'has#hash' },
      { comment: 'c'.repeat(31) },
      { username: '' },
      { username: 'bad,name' },
      { username: 'robot$walter' },
    ]) {
      assert.equal((await attempt(body)).status, 400, JSON.stringify(body));
    }
    const taken = await attempt({ username: 'victor' });
    assert.equal(taken.status, 409);
    assert.equal(taken.errorCode(), 'CONFLICT');
    assert.equal((await attempt({ email: 'victor@example.com' })).status, 409);
    assert.equal((await attempt({})).status, 201, 'the same request with nothing wrong passes');
  });

  test('only system administrators list or create users: 401 anonymous, 403 others', async () => {
    const { credentials } = await createUser('xena');
    assert.equal((await api(null, 'GET', '/users')).status, 401);
    assert.equal((await api(credentials, 'GET', '/users')).status, 403);
    const created = await api(credentials, 'POST', '/users', {
      username: 'yves',
      email: 'yves@example.com',
      realname: 'Yves',
      password,
    });
    assert.equal(created.status, 403);
    assert.equal(
      (
        await api(null, 'POST', '/users', {
          username: 'zed',
          email: 'z@example.com',
          realname: 'Z',
          password,
        })
      ).status,
      401,
    );
  });

  test('GET lists with Harbor paging headers, q=username=~ and sort', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) await createUser(name);
    const first = await api(testAdmin, 'GET', '/users?q=username%3D~page-&page_size=2&sort=-username');
    assert.equal(first.status, 200);
    assert.equal(first.header('x-total-count'), '3');
    assert.deepEqual(
      first.json<UserResp[]>().map((user) => user.username),
      ['page-c', 'page-b'],
    );
    const next = first.header('link') ?? '';
    assert.match(next, /^<\/api\/v2\.0\/users\?[^>]*>; rel="next"$/);
    assert.match(next, /[?&]page=2[&>]/);
    assert.match(next, /[?&]page_size=2[&>]/);
    const second = await api(
      testAdmin,
      'GET',
      '/users?q=username%3D~page-&page_size=2&page=2&sort=-username',
    );
    assert.deepEqual(
      second.json<UserResp[]>().map((user) => user.username),
      ['page-a'],
    );
    assert.match(second.header('link') ?? '', /rel="prev"/);
    const byParam = await api(testAdmin, 'GET', '/users?username=PAGE-B');
    assert.deepEqual(
      byParam.json<UserResp[]>().map((user) => user.username),
      ['page-b'],
    );
    assert.equal((await api(testAdmin, 'GET', '/users?page_size=101')).status, 400);
    assert.equal((await api(testAdmin, 'GET', '/users?sort=password')).status, 400);
  });

  test('/users/search is open to any logged-in user and shows ids and names only', async () => {
    const { credentials } = await createUser('searcher');
    const response = await api(credentials, 'GET', '/users/search?username=SEARCH');
    assert.equal(response.status, 200);
    assert.deepEqual(Object.keys(response.json<object[]>()[0] ?? {}).sort(), ['user_id', 'username']);
    assert.equal(response.header('x-total-count'), '1');
    assert.equal((await api(null, 'GET', '/users/search?username=s')).status, 401);
    assert.equal((await api(credentials, 'GET', '/users/search')).status, 400);
  });

  test('a user reads and edits their own profile; others may not, administrators may', async () => {
    const { id, credentials } = await createUser('olga');
    const other = await createUser('oscar');
    assert.equal((await api(credentials, 'GET', `/users/${id}`)).status, 200);
    assert.equal((await api(credentials, 'GET', `/users/${other.id}`)).status, 403);
    assert.equal((await api(null, 'GET', `/users/${id}`)).status, 401);

    const own = await api(credentials, 'PUT', `/users/${id}`, { realname: 'Olga Renamed', comment: 'hi' });
    assert.equal(own.status, 200, own.body.toString());
    const user = (await api(credentials, 'GET', '/users/current')).json<UserResp>();
    assert.equal(user.realname, 'Olga Renamed');
    assert.equal(user.email, 'olga@example.com', 'fields left out keep their values');
    assert.equal((await api(credentials, 'PUT', `/users/${other.id}`, { realname: 'Hacked' })).status, 403);
    assert.equal((await api(testAdmin, 'PUT', `/users/${other.id}`, { comment: 'by admin' })).status, 200);
    assert.equal((await api(testAdmin, 'PUT', `/users/${id}`, { email: 'bad' })).status, 400);
    assert.equal((await api(testAdmin, 'PUT', `/users/${id}`, { email: 'oscar@example.com' })).status, 409);
    assert.equal((await api(testAdmin, 'PUT', '/users/99999', { comment: 'x' })).status, 404);
    assert.equal((await api(testAdmin, 'GET', '/users/99999')).status, 404);
    assert.equal((await api(testAdmin, 'GET', '/users/abc')).status, 400);
  });

  test('a password change takes effect at once: the old password stops working immediately', async () => {
    const { id, credentials } = await createUser('paula');
    // Log in first, so the server has these credentials in its login cache.
    assert.equal((await api(credentials, 'GET', '/users/current')).status, 200);
    const wrongOld = await api(credentials, 'PUT', `/users/${id}/password`, {
      old_password: 'Not-The-Password-1',
      new_password: 'Paula-New-Pass-2',
    });
    assert.equal(wrongOld.status, 403);
    const noOld = await api(credentials, 'PUT', `/users/${id}/password`, {
      new_password: 'Paula-New-Pass-2',
    });
    assert.equal(noOld.status, 403, 'users changing their own password must give the old one');
    const weak = await api(credentials, 'PUT', `/users/${id}/password`, {
      old_password: password,
      new_password: 'weak',
    });
    assert.equal(weak.status, 400);
    const same = await api(credentials, 'PUT', `/users/${id}/password`, {
      old_password: password,
      new_password: password,
    });
    assert.equal(same.status, 400);

    const changed = await api(credentials, 'PUT', `/users/${id}/password`, {
      old_password: password,
      new_password: 'Paula-New-Pass-2',
    });
    assert.equal(changed.status, 200, changed.body.toString());
    assert.equal((await api(credentials, 'GET', '/users/current')).status, 401);
    const renewed = { username: 'paula', password: 'Paula-New-Pass-2' };
    assert.equal((await api(renewed, 'GET', '/users/current')).status, 200);

    // An administrator resets it without the old one; a plain user cannot touch another's.
    const other = await createUser('peter');
    assert.equal(
      (await api(other.credentials, 'PUT', `/users/${id}/password`, { new_password: 'Peter-Sets-It-3' }))
        .status,
      403,
    );
    const reset = await api(testAdmin, 'PUT', `/users/${id}/password`, {
      new_password: 'Admin-Reset-Pass-4',
    });
    assert.equal(reset.status, 200);
    assert.equal((await api(renewed, 'GET', '/users/current')).status, 401);
    assert.equal(
      (await api({ username: 'paula', password: 'Admin-Reset-Pass-4' }, 'GET', '/users/current')).status,
      200,
    );
    assert.equal(
      (await api(testAdmin, 'PUT', '/users/99999/password', { new_password: 'Whatever-Pass-5' })).status,
      404,
    );
  });

  test('the sysadmin flag grants and revokes administration at once', async () => {
    const { id, credentials } = await createUser('sam');
    assert.equal((await api(credentials, 'GET', '/users')).status, 403);
    assert.equal(
      (await api(credentials, 'PUT', `/users/${id}/sysadmin`, { sysadmin_flag: true })).status,
      403,
    );
    assert.equal((await api(testAdmin, 'PUT', `/users/${id}/sysadmin`, { sysadmin_flag: true })).status, 200);
    assert.equal((await api(credentials, 'GET', '/users')).status, 200);
    assert.equal((await api(credentials, 'GET', `/users/${id}`)).json<UserResp>().sysadmin_flag, true);
    assert.equal(
      (await api(testAdmin, 'PUT', `/users/${id}/sysadmin`, { sysadmin_flag: false })).status,
      200,
    );
    assert.equal((await api(credentials, 'GET', '/users')).status, 403);
    assert.equal((await api(testAdmin, 'PUT', `/users/${id}/sysadmin`, {})).status, 400);
    assert.equal((await api(testAdmin, 'PUT', '/users/99999/sysadmin', { sysadmin_flag: true })).status, 404);
    const adminId = (await api(testAdmin, 'GET', '/users/current')).json<UserResp>().user_id;
    assert.equal(
      (await api(testAdmin, 'PUT', `/users/${adminId}/sysadmin`, { sysadmin_flag: false })).status,
      403,
    );
  });

  test('DELETE removes a user at once; admin and oneself cannot be deleted', async () => {
    const { id, credentials } = await createUser('dora');
    const other = await createUser('dirk');
    assert.equal((await api(credentials, 'GET', '/users/current')).status, 200);
    assert.equal((await api(other.credentials, 'DELETE', `/users/${id}`)).status, 403);
    assert.equal((await api(null, 'DELETE', `/users/${id}`)).status, 401);
    assert.equal((await api(testAdmin, 'DELETE', `/users/${id}`)).status, 200);
    assert.equal((await api(credentials, 'GET', '/users/current')).status, 401);
    assert.equal((await api(testAdmin, 'GET', `/users/${id}`)).status, 404);
    assert.equal((await api(testAdmin, 'DELETE', `/users/${id}`)).status, 404);
    const adminId = (await api(testAdmin, 'GET', '/users/current')).json<UserResp>().user_id;
    assert.equal((await api(testAdmin, 'DELETE', `/users/${adminId}`)).status, 403);
    // Another administrator cannot delete `admin` either, nor themselves.
    await api(testAdmin, 'PUT', `/users/${other.id}/sysadmin`, { sysadmin_flag: true });
    assert.equal((await api(other.credentials, 'DELETE', `/users/${adminId}`)).status, 403);
    assert.equal((await api(other.credentials, 'DELETE', `/users/${other.id}`)).status, 403);
    // The name is free again.
    await createUser('dora');
  });

  test('/users/current/permissions reports what the evaluator allows in a scope', async () => {
    const { credentials } = await createUser('perm');
    const project = await api(testAdmin, 'POST', '/projects', {
      project_name: 'perms',
      metadata: { public: 'false' },
    });
    assert.equal(project.status, 201);
    const projectId = Number(project.header('location')?.split('/').at(-1));
    const added = await api(testAdmin, 'POST', `/projects/${projectId}/members`, {
      role_id: 2,
      member_user: { username: 'perm' },
    });
    assert.equal(added.status, 201, added.body.toString());

    type Permission = { resource: string; action: string };
    const has = (list: Permission[], resource: string, action: string) =>
      list.some((entry) => entry.resource === resource && entry.action === action);
    const relative = (
      await api(credentials, 'GET', `/users/current/permissions?scope=/project/${projectId}&relative=true`)
    ).json<Permission[]>();
    assert.ok(has(relative, 'repository', 'push'));
    assert.ok(has(relative, 'repository', 'pull'));
    assert.ok(has(relative, '.', 'read'));
    assert.ok(!has(relative, 'member', 'create'), 'developers do not manage members');
    assert.ok(!has(relative, 'repository', 'delete'));
    const absolute = (
      await api(credentials, 'GET', `/users/current/permissions?scope=/project/${projectId}`)
    ).json<Permission[]>();
    assert.ok(has(absolute, `/project/${projectId}/repository`, 'push'));

    const asAdmin = (
      await api(testAdmin, 'GET', `/users/current/permissions?scope=/project/${projectId}&relative=true`)
    ).json<Permission[]>();
    assert.ok(has(asAdmin, 'member', 'create') && has(asAdmin, '.', 'delete'));
    const system = (
      await api(testAdmin, 'GET', '/users/current/permissions?scope=/system&relative=true')
    ).json<Permission[]>();
    assert.ok(has(system, 'user', 'create') && has(system, 'configuration', 'update'));
    const noSystem = await api(credentials, 'GET', '/users/current/permissions?scope=/system');
    assert.deepEqual(noSystem.json(), []);
    assert.deepEqual(
      (await api(credentials, 'GET', '/users/current/permissions?scope=/project/99999')).json(),
      [],
    );
    assert.equal((await api(null, 'GET', '/users/current/permissions?scope=/system')).status, 401);
  });

  test('every change is audited, without passwords', async () => {
    const entries = await auditEntries(berth);
    const users = entries.filter((entry) => entry.resource_type === 'user');
    const has = (operation: string, resource: string, result = 'success') =>
      users.some(
        (entry) => entry.operation === operation && entry.resource === resource && entry.result === result,
      );
    assert.ok(has('create', 'ursula'));
    assert.ok(has('update', 'paula'));
    assert.ok(has('update', 'sam'));
    assert.ok(has('delete', 'dora'));
    assert.ok(users.some((entry) => entry.result === 'denied' && entry.username === 'xena'));
    const text = JSON.stringify(entries);
    for (const secret of [password, 'Paula-New-Pass-2', 'Admin-Reset-Pass-4'])
      assert.ok(!text.includes(secret));
  });
});
