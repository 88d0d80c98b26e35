import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiCaller, apiRequest, auditEntries } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';

/** /api/v2.0/configurations over real HTTP: administrators only, strict types, secrets never shown. */

type Items = Record<string, { value: unknown; editable: boolean }>;

const ldapSecret = 'Ldap-Bind-Secret-9';
const oidcSecret = 'Oidc-Client-Secret-7';

describe('/configurations', () => {
  let berth: TestBerth;
  const user = { username: 'casey', password: 'Casey-Pass-1' };
  const api = (caller: ApiCaller, method: string, path: string, body?: unknown) =>
    apiRequest(berth, caller, method, path, body);
  const put = (body: unknown, caller: ApiCaller = testAdmin) => api(caller, 'PUT', '/configurations', body);

  before(async () => {
    berth = await startTestBerth();
  });
  after(() => berth?.destroy());

  test('GET shows every setting as {value, editable} to administrators', async () => {
    const response = await api(testAdmin, 'GET', '/configurations');
    assert.equal(response.status, 200);
    const items = response.json<Items>();
    assert.deepEqual(items.auth_mode, { value: 'db_auth', editable: true });
    assert.deepEqual(items.self_registration, { value: false, editable: true });
    assert.deepEqual(items.token_expiration, { value: 30, editable: true });
    assert.equal(items.ldap_uid?.value, 'uid');
    assert.ok(!('ldap_search_password' in items));
    assert.ok(!('oidc_client_secret' in items));
  });

  test('PUT stores secrets that GET, the response and the audit log never show', async () => {
    const response = await put({
      ldap_search_password: ldapSecret,
      oidc_client_secret: oidcSecret,
      ldap_uid: 'cn',
    });
    assert.equal(response.status, 200, response.body.toString());
    assert.ok(!response.body.toString().includes(ldapSecret));
    const shown = await api(testAdmin, 'GET', '/configurations');
    const text = shown.body.toString();
    assert.ok(!text.includes(ldapSecret) && !text.includes(oidcSecret));
    assert.ok(!text.includes('ldap_search_password') && !text.includes('oidc_client_secret'));
    assert.equal(shown.json<Items>().ldap_uid?.value, 'cn');

    const entries = await auditEntries(berth);
    const change = entries.find(
      (entry) => entry.resource_type === 'configuration' && entry.result === 'success',
    );
    assert.ok(change, 'the change is audited');
    assert.match(change.detail ?? '', /ldap_search_password/);
    assert.ok(!JSON.stringify(entries).includes(ldapSecret) && !JSON.stringify(entries).includes(oidcSecret));
  });

  test('PUT refuses unknown keys, wrong types and bad values with 400, changing nothing', async () => {
    for (const body of [
      { no_such_setting: true },
      { self_registration: 'yes' },
      { token_expiration: '5' },
      { token_expiration: 1.5 },
      { token_expiration: 0 },
      { ldap_scope: true },
      { ldap_url: 5 },
      { auth_mode: 'magic' },
      { project_creation_restriction: 'nobody' },
      {},
      [],
      'text',
    ]) {
      const response = await put(body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.errorCode(), 'BAD_REQUEST');
    }
    const broken = await api(testAdmin, 'PUT', '/configurations', '{not json');
    assert.equal(broken.status, 400);
    const items = (await api(testAdmin, 'GET', '/configurations')).json<Items>();
    assert.equal(items.self_registration?.value, false);
    assert.equal(items.token_expiration?.value, 30);
  });

  test('a change shows at once', async () => {
    assert.equal(
      (await put({ project_creation_restriction: 'adminonly', token_expiration: 60 })).status,
      200,
    );
    const items = (await api(testAdmin, 'GET', '/configurations')).json<Items>();
    assert.equal(items.project_creation_restriction?.value, 'adminonly');
    assert.equal(items.token_expiration?.value, 60);
    const info = (await api(null, 'GET', '/systeminfo')).json<{ project_creation_restriction: string }>();
    assert.equal(info.project_creation_restriction, 'adminonly');
    assert.equal((await put({ project_creation_restriction: 'everyone' })).status, 200);
  });

  test('the auth mode may change only while admin is the only user', async () => {
    assert.equal((await put({ auth_mode: 'oidc_auth' })).status, 200);
    assert.equal(
      (await api(testAdmin, 'GET', '/configurations')).json<Items>().auth_mode?.value,
      'oidc_auth',
    );
    // Local users cannot be created outside database mode.
    const refused = await api(testAdmin, 'POST', '/users', {
      username: user.username,
      email: 'casey@example.com',
      realname: 'Casey',
      password: user.password,
    });
    assert.equal(refused.status, 403);
    assert.equal((await put({ auth_mode: 'db_auth' })).status, 200);
    const created = await api(testAdmin, 'POST', '/users', {
      username: user.username,
      email: 'casey@example.com',
      realname: 'Casey',
      password: user.password,
    });
    assert.equal(created.status, 201);

    const locked = await put({ auth_mode: 'ldap_auth' });
    assert.equal(locked.status, 400);
    assert.match(locked.body.toString(), /auth mode cannot be modified/);
    const items = (await api(testAdmin, 'GET', '/configurations')).json<Items>();
    assert.deepEqual(items.auth_mode, { value: 'db_auth', editable: false });
    assert.equal((await put({ auth_mode: 'db_auth' })).status, 200, 'setting the same mode is no change');
  });

  test('only system administrators read or change settings: 401 anonymous, 403 others', async () => {
    assert.equal((await api(null, 'GET', '/configurations')).status, 401);
    assert.equal((await put({ read_only: true }, null)).status, 401);
    assert.equal((await api(user, 'GET', '/configurations')).status, 403);
    assert.equal((await put({ read_only: true }, user)).status, 403);
    assert.equal((await api(testAdmin, 'GET', '/configurations')).json<Items>().read_only?.value, false);
    const entries = await auditEntries(berth);
    assert.ok(entries.some((entry) => entry.resource_type === 'configuration' && entry.result === 'denied'));
  });
});
