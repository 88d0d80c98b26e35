import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../../src/db/database.ts';
import { openDatabase } from '../../src/db/open.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { basicAuth, RegistryClient, send } from '../helpers/http.ts';
import { directory, type Slapd, slapdMissing, startSlapd } from '../helpers/slapd.ts';

/**
 * LDAP logins against a real OpenLDAP slapd seeded from test/fixtures/ldap/seed.ldif: Basic and
 * token logins, refusals, onboarding, groups → project roles, the admin group, ldaps:// and
 * StartTLS with CA verification, and Harbor's /ldap API.
 */

const admin = basicAuth(testAdmin);
const users = directory.users;
const credentials = (name: keyof typeof users) => ({ username: name, password: users[name] });

describe('LDAP authentication', { skip: slapdMissing() }, () => {
  let slapd: Slapd;
  let berth: TestBerth;
  let db: Database;
  const logLines: string[] = [];

  async function api(method: string, path: string, body?: unknown, authorization: string | null = admin) {
    const headers: Record<string, string> = {};
    if (authorization) headers.authorization = authorization;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return send(berth.url, method, `/api/v2.0${path}`, {
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async function configure(entries: Record<string, unknown>): Promise<void> {
    const response = await api('PUT', '/configurations', entries);
    assert.equal(response.status, 200, response.body.toString());
  }

  async function v2(name: keyof typeof users | { username: string; password: string }) {
    const user = typeof name === 'string' ? credentials(name) : name;
    return send(berth.url, 'GET', '/v2/', { headers: { authorization: basicAuth(user) } });
  }

  const baseSettings = () => ({
    auth_mode: 'ldap_auth',
    ldap_url: slapd.url,
    ldap_search_dn: directory.searchDn,
    ldap_search_password: directory.searchPassword,
    ldap_base_dn: directory.suffix,
    ldap_filter: '(&(objectClass=inetOrgPerson)(employeeType=staff))',
    ldap_uid: 'uid',
    ldap_scope: 2,
    ldap_timeout: 5,
    ldap_verify_cert: true,
    ldap_start_tls: false,
    ldap_ca_cert: '',
    ldap_group_base_dn: directory.groupsDn,
    ldap_group_search_filter: '(|(objectClass=groupOfNames)(objectClass=posixGroup))',
    ldap_group_attribute_name: 'cn',
    ldap_group_search_scope: 2,
    ldap_group_admin_dn: directory.adminsDn,
    ldap_group_membership_attribute: 'memberOf',
  });

  before(async () => {
    slapd = await startSlapd();
    berth = await startTestBerth(
      {
        'auth.credentialCacheSeconds': 0,
        'auth.maxFailedLogins': 1000,
        'auth.failedLoginsPerMinute': 0,
        'registry.autoCreateProjects': false,
      },
      { logLines },
    );
    db = openDatabase(berth.config.database);
    await configure(baseSettings());
  });

  after(async () => {
    await db?.close();
    await berth?.destroy();
    await slapd?.stop();
  });

  test('an LDAP user logs in with Basic on /v2 and is onboarded from the directory', async () => {
    assert.equal((await v2('alice')).status, 200);
    const alice = await db.users.findByUsername('alice');
    assert.ok(alice);
    assert.equal(alice.source, 'ldap');
    assert.equal(alice.external_id, 'uid=alice,ou=people,dc=berth,dc=test');
    assert.equal(alice.email, 'alice@berth.test');
    assert.equal(alice.realname, 'Alice Example');
    assert.equal(alice.password_hash, null);
    // A second login finds the same user, not a new one.
    assert.equal((await v2('alice')).status, 200);
    assert.equal((await db.users.findByUsername('alice'))?.id, alice.id);
  });

  test('/service/token issues tokens to LDAP users', async () => {
    const response = await send(
      berth.url,
      'GET',
      `/service/token?service=${berth.config.auth.tokenService}&scope=repository:library/app:pull`,
      { headers: { authorization: basicAuth(credentials('alice')) } },
    );
    assert.equal(response.status, 200, response.body.toString());
    assert.ok(response.json<{ token: string }>().token);
    const refused = await send(berth.url, 'GET', `/service/token?service=${berth.config.auth.tokenService}`, {
      headers: { authorization: basicAuth({ username: 'alice', password: 'wrong' }) },
    });
    assert.equal(refused.status, 401);
  });

  test('wrong, empty and unknown credentials are refused', async () => {
    assert.equal((await v2({ username: 'alice', password: 'not-her-password' })).status, 401);
    // An empty password would be an "unauthenticated bind", which slapd or AD may accept.
    assert.equal((await v2({ username: 'alice', password: '' })).status, 401);
    assert.equal((await v2({ username: 'nobody', password: 'Whatever-1' })).status, 401);
    assert.equal(await db.users.findByUsername('nobody'), undefined);
  });

  test('users outside the filter, ambiguous names and filter syntax in names are refused', async () => {
    assert.equal((await v2('carol')).status, 401, 'carol is a contractor, outside ldap_filter');
    assert.equal(await db.users.findByUsername('carol'), undefined);
    assert.equal((await v2({ username: 'twin', password: users.alice })).status, 401, 'two entries');
    assert.equal((await v2({ username: '*', password: users.alice })).status, 401);
    assert.equal((await v2({ username: 'al*', password: users.alice })).status, 401);
    assert.equal((await v2({ username: 'alice)(uid=*', password: users.alice })).status, 401);
  });

  test('directory groups grant the project roles given to them', async () => {
    for (const name of ['team', 'other']) {
      const created = await api('POST', '/projects', { project_name: name, metadata: { public: 'false' } });
      assert.equal(created.status, 201, created.body.toString());
    }
    const addGroup = async (project: string, dn: string) => {
      const response = await api('POST', `/projects/${project}/members`, {
        role_id: 2,
        member_group: { group_type: 1, ldap_group_dn: dn },
      });
      assert.equal(response.status, 201, response.body.toString());
    };
    await addGroup('team', directory.developersDn); // groupOfNames, found through memberOf
    await addGroup('other', directory.operatorsDn); // posixGroup, found through memberUid

    const alice = new RegistryClient(berth.url, credentials('alice'));
    await alice.pushImage('team/app', 'v1');
    await assert.rejects(alice.pushImage('other/app', 'v1'), /40[13]/);
    const dave = new RegistryClient(berth.url, credentials('dave'));
    await dave.pushImage('other/app', 'v1');
    await assert.rejects(dave.pushImage('team/app', 'v2'), /40[13]/);

    // The groups were recorded at login, by DN; the one outside the group base DN was not.
    const groups = await db.groups.findAll();
    const ldapDns = groups.map((group) => group.ldap_dn);
    assert.ok(ldapDns.includes(directory.developersDn));
    assert.ok(!ldapDns.some((dn) => dn?.includes('ou=other')));
    const aliceRow = await db.users.findByUsername('alice');
    const developers = groups.find((group) => group.ldap_dn === directory.developersDn);
    assert.deepEqual(await db.users.groupIds(Number(aliceRow?.id)), [Number(developers?.id)]);
  });

  test('members of the admin group are system administrators until they leave it', async () => {
    const asBob = basicAuth(credentials('bob'));
    assert.equal((await api('POST', '/ldap/ping', {}, asBob)).status, 200);
    assert.equal((await api('POST', '/ldap/ping', {}, basicAuth(credentials('alice')))).status, 403);
    assert.equal((await db.users.findByUsername('bob'))?.sysadmin, 1);

    await slapd.modify(
      `dn: ${directory.adminsDn}\nchangetype: modify\nreplace: member\nmember: uid=alice,ou=people,dc=berth,dc=test\n`,
    );
    assert.equal((await api('POST', '/ldap/ping', {}, asBob)).status, 403);
    assert.equal((await db.users.findByUsername('bob'))?.sysadmin, 0);
    await slapd.modify(
      `dn: ${directory.adminsDn}\nchangetype: modify\nreplace: member\nmember: uid=bob,ou=people,dc=berth,dc=test\n`,
    );
  });

  test('ldaps:// verifies the server against the configured CA and honours ldap_verify_cert', async () => {
    await configure({ ldap_url: slapd.secureUrl, ldap_ca_cert: slapd.caPem });
    assert.equal((await v2('alice')).status, 200);
    await configure({ ldap_ca_cert: slapd.otherCaPem });
    const refused = await v2('alice');
    assert.equal(refused.status, 503, refused.body.toString());
    await configure({ ldap_verify_cert: false });
    assert.equal((await v2('alice')).status, 200);
    await configure({ ldap_url: slapd.url, ldap_ca_cert: '', ldap_verify_cert: true });
  });

  test('StartTLS upgrades ldap:// and verifies the certificate', async () => {
    await configure({ ldap_start_tls: true, ldap_ca_cert: slapd.caPem });
    assert.equal((await v2('alice')).status, 200);
    await configure({ ldap_ca_cert: slapd.otherCaPem });
    assert.equal((await v2('alice')).status, 503);
    await configure({ ldap_start_tls: false, ldap_ca_cert: '' });
  });

  test('POST /ldap/ping tests the stored or the given settings', async () => {
    const ok = await api('POST', '/ldap/ping');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json(), { success: true, message: 'success' });

    const wrongPassword = await api('POST', '/ldap/ping', { ldap_search_password: 'not-the-password' });
    assert.deepEqual(wrongPassword.json(), { success: false, message: 'error: invalid credential' });

    const closed = await api('POST', '/ldap/ping', {
      ldap_url: 'ldap://127.0.0.1:1',
      ldap_connection_timeout: 2,
    });
    const result = closed.json<{ success: boolean; message: string }>();
    assert.equal(result.success, false);
    assert.match(result.message, /^error: cannot reach/);

    assert.equal((await api('POST', '/ldap/ping', {}, null)).status, 401);
  });

  test('GET /ldap/users/search and /ldap/groups/search search the directory', async () => {
    const alice = await api('GET', '/ldap/users/search?username=alice');
    assert.equal(alice.status, 200);
    assert.deepEqual(alice.json(), [
      { username: 'alice', realname: 'Alice Example', email: 'alice@berth.test' },
    ]);
    const everyone = (await api('GET', '/ldap/users/search')).json<{ username: string }[]>();
    const names = everyone.map((user) => user.username).sort();
    assert.deepEqual(names, ['alice', 'bob', 'dave', 'twin', 'twin']);
    assert.equal(
      (await api('GET', '/ldap/users/search?username=alice', undefined, basicAuth(credentials('alice'))))
        .status,
      403,
    );

    const byName = await api('GET', '/ldap/groups/search?groupname=developers');
    assert.equal(byName.status, 200);
    const [group] =
      byName.json<{ id: number; group_name: string; group_type: number; ldap_group_dn: string }[]>();
    assert.equal(group?.group_name, 'developers');
    assert.equal(group?.group_type, 1);
    assert.equal(group?.ldap_group_dn, directory.developersDn);
    assert.ok(Number(group?.id) > 0, 'the group is known to Berth since alice logged in');

    const byDn = await api('GET', `/ldap/groups/search?groupdn=${encodeURIComponent(directory.operatorsDn)}`);
    assert.equal(byDn.status, 200);
    assert.equal(byDn.json<{ group_name: string }[]>()[0]?.group_name, 'operators');
    const outside = await api(
      'GET',
      `/ldap/groups/search?groupdn=${encodeURIComponent('cn=elsewhere,ou=other,dc=berth,dc=test')}`,
    );
    assert.equal(outside.status, 404);
  });

  test('POST /ldap/users/import onboards users before their first login, and audits it', async () => {
    await configure({ ldap_filter: '(objectClass=inetOrgPerson)' });
    const response = await api('POST', '/ldap/users/import', { ldap_uid_list: ['carol', 'nobody', 'twin'] });
    assert.equal(response.status, 404);
    assert.deepEqual(response.json(), [
      { uid: 'nobody', error: 'unknown_user' },
      { uid: 'twin', error: 'ambiguous_user' },
    ]);
    const carol = await db.users.findByUsername('carol');
    assert.equal(carol?.source, 'ldap');
    assert.equal(carol?.email, 'carol@berth.test');
    assert.equal((await api('POST', '/ldap/users/import', { ldap_uid_list: ['carol'] })).status, 200);
    await configure({ ldap_filter: baseSettings().ldap_filter });

    await sleep(400); // the audit log writes in batches
    const { rows } = await db.auditLogs.find(
      { resourceType: { exact: 'user' }, operation: { exact: 'create' } },
      10,
      0,
    );
    assert.ok(
      rows.some((row) => row.resource === 'carol' && row.result === 'success' && row.username === 'admin'),
    );
    assert.ok(rows.some((row) => row.resource === 'nobody' && row.result === 'failure'));
  });

  test('the search password is never shown: not by GET /configurations, not in any log line', async () => {
    const configuration = await api('GET', '/configurations');
    assert.equal(configuration.status, 200);
    assert.ok(!configuration.body.toString().includes(directory.searchPassword));
    assert.ok(logLines.length > 0, 'the server logged');
    const logged = logLines.join('\n');
    assert.ok(!logged.includes(directory.searchPassword));
    for (const password of Object.values(users)) assert.ok(!logged.includes(password));
  });

  test('an unreachable directory answers 503, not a refused password', async () => {
    await configure({ ldap_url: 'ldap://127.0.0.1:1' });
    assert.equal((await v2('alice')).status, 503);
    await configure({ ldap_url: slapd.url });
    assert.equal((await v2('alice')).status, 200);
  });

  test('ldap_timeout bounds the wait for a directory that accepts connections and never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      await configure({ ldap_url: `ldap://127.0.0.1:${port}`, ldap_timeout: 1 });
      const started = Date.now();
      assert.equal((await v2('alice')).status, 503);
      assert.ok(Date.now() - started < 4000, `waited ${Date.now() - started} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await configure({ ldap_url: slapd.url, ldap_timeout: 5 });
    }
  });
});
