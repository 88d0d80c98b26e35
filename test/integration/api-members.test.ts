import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiCaller, apiRequest, auditEntries } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { type Credentials, RegistryClient } from '../helpers/http.ts';

/** /projects/{p}/members and /usergroups over real HTTP, and what membership means on /v2. */

interface Member {
  id: number;
  project_id: number;
  entity_name: string;
  entity_type: string;
  entity_id: number;
  role_id: number;
  role_name: string;
}

interface Group {
  id: number;
  group_name: string;
  group_type: number;
  ldap_group_dn: string;
}

const password = 'Member-Pass-1';
const project = 'team';

describe('project members and user groups', () => {
  let berth: TestBerth;
  let projectId: number;
  const ids = new Map<string, number>();
  const api = (caller: ApiCaller, method: string, path: string, body?: unknown) =>
    apiRequest(berth, caller, method, path, body);
  const as = (username: string): Credentials => ({ username, password });

  async function addMember(body: unknown, caller: ApiCaller = testAdmin): Promise<number> {
    const response = await api(caller, 'POST', `/projects/${project}/members`, body);
    assert.equal(response.status, 201, response.body.toString());
    const location = response.header('location') ?? '';
    assert.match(location, new RegExp(`^/api/v2\\.0/projects/${project}/members/\\d+$`));
    return Number(location.split('/').at(-1));
  }

  before(async () => {
    berth = await startTestBerth();
    const created = await api(testAdmin, 'POST', '/projects', {
      project_name: project,
      metadata: { public: 'false' },
    });
    assert.equal(created.status, 201);
    projectId = Number(created.header('location')?.split('/').at(-1));
    for (const username of ['alice', 'bob', 'carol', 'dave']) {
      const response = await api(testAdmin, 'POST', '/users', {
        username,
        email: `${username}@example.com`,
        realname: username,
        password,
      });
      assert.equal(response.status, 201);
      ids.set(username, Number(response.header('location')?.split('/').at(-1)));
    }
    await new RegistryClient(berth.url).pushImage(`${project}/app`, 'v1');
  });
  after(() => berth?.destroy());

  test('a project admin member manages members; others get 401 or 403', async () => {
    await addMember({ role_id: 1, member_user: { user_id: ids.get('bob') } });
    const bob = as('bob');
    const aliceId = await addMember({ role_id: 3, member_user: { username: 'alice' } }, bob);

    const listed = await api(bob, 'GET', `/projects/${project}/members`);
    assert.equal(listed.status, 200);
    const names = listed.json<Member[]>().map((member) => member.entity_name);
    assert.deepEqual(names.sort(), ['admin', 'alice', 'bob']);

    const alice = (await api(bob, 'GET', `/projects/${project}/members/${aliceId}`)).json<Member>();
    assert.deepEqual(alice, {
      id: aliceId,
      project_id: projectId,
      entity_name: 'alice',
      entity_type: 'u',
      entity_id: ids.get('alice'),
      role_id: 3,
      role_name: 'guest',
    });

    // Members who are not project admins may look, not change; strangers may do neither.
    assert.equal((await api(as('alice'), 'GET', `/projects/${project}/members`)).status, 200);
    assert.equal(
      (
        await api(as('alice'), 'POST', `/projects/${project}/members`, {
          role_id: 2,
          member_user: { username: 'carol' },
        })
      ).status,
      403,
    );
    assert.equal(
      (await api(as('alice'), 'PUT', `/projects/${project}/members/${aliceId}`, { role_id: 1 })).status,
      403,
    );
    assert.equal((await api(as('alice'), 'DELETE', `/projects/${project}/members/${aliceId}`)).status, 403);
    assert.equal((await api(as('carol'), 'GET', `/projects/${project}/members`)).status, 403);
    assert.equal((await api(null, 'GET', `/projects/${project}/members`)).status, 401);
    assert.equal(
      (
        await api(null, 'POST', `/projects/${project}/members`, {
          role_id: 2,
          member_user: { username: 'carol' },
        })
      ).status,
      401,
    );
  });

  test('POST refuses bad requests (400), unknown names (404) and duplicates (409)', async () => {
    const post = (body: unknown) => api(testAdmin, 'POST', `/projects/${project}/members`, body);
    assert.equal((await post({ role_id: 2 })).status, 400);
    assert.equal((await post({ role_id: 9, member_user: { username: 'carol' } })).status, 400);
    assert.equal((await post({ member_user: { username: 'carol' } })).status, 400);
    assert.equal((await post({ role_id: 2, member_user: { user_id: 99999 } })).status, 400);
    assert.equal((await post({ role_id: 2, member_group: { id: 99999 } })).status, 400);
    assert.equal((await post({ role_id: 2, member_user: { username: 'nobody' } })).status, 404);
    assert.equal(
      (await post({ role_id: 2, member_group: { group_name: 'nobody', group_type: 3 } })).status,
      404,
    );
    const duplicate = await post({ role_id: 2, member_user: { username: 'alice' } });
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.errorCode(), 'CONFLICT');
    assert.equal(
      (
        await api(testAdmin, 'POST', '/projects/99999/members', {
          role_id: 2,
          member_user: { username: 'carol' },
        })
      ).status,
      404,
    );
  });

  test('GET pages members and filters them by entityname', async () => {
    const first = await api(testAdmin, 'GET', `/projects/${project}/members?page_size=2`);
    assert.equal(first.header('x-total-count'), '3');
    assert.equal(first.json<Member[]>().length, 2);
    assert.match(first.header('link') ?? '', /rel="next"/);
    const last = await api(testAdmin, 'GET', `/projects/${project}/members?page_size=2&page=2`);
    assert.equal(last.json<Member[]>().length, 1);
    const filtered = await api(testAdmin, 'GET', `/projects/${projectId}/members?entityname=LIC`);
    assert.deepEqual(
      filtered.json<Member[]>().map((member) => member.entity_name),
      ['alice'],
    );
    assert.equal(filtered.header('x-total-count'), '1');
    assert.equal((await api(testAdmin, 'GET', `/projects/${project}/members/99999`)).status, 404);
    assert.equal((await api(testAdmin, 'GET', `/projects/${project}/members/0`)).status, 400);
  });

  test('the role decides /v2 access at once: guest pulls, developer pushes, removed has nothing', async () => {
    const carol = new RegistryClient(berth.url, as('carol'));
    assert.equal((await carol.request('GET', `/v2/${project}/app/manifests/v1`)).status, 403);
    const memberId = await addMember({ role_id: 3, member_user: { username: 'carol' } });
    const pulled = await carol.request('GET', `/v2/${project}/app/manifests/v1`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(pulled.status, 200);
    await assert.rejects(carol.pushImage(`${project}/carols`, 'v1'), /403/);

    const put = (body: unknown) => api(testAdmin, 'PUT', `/projects/${project}/members/${memberId}`, body);
    assert.equal((await put({})).status, 400);
    assert.equal((await put({ role_id: 7 })).status, 400);
    assert.equal(
      (await api(testAdmin, 'PUT', `/projects/${project}/members/99999`, { role_id: 2 })).status,
      404,
    );
    assert.equal((await put({ role_id: 2 })).status, 200);
    assert.equal(
      (await api(testAdmin, 'GET', `/projects/${project}/members/${memberId}`)).json<Member>().role_name,
      'developer',
    );
    await carol.pushImage(`${project}/carols`, 'v1');

    assert.equal((await api(testAdmin, 'DELETE', `/projects/${project}/members/${memberId}`)).status, 200);
    assert.equal((await carol.request('GET', `/v2/${project}/app/manifests/v1`)).status, 403);
    await assert.rejects(carol.pushImage(`${project}/carols`, 'v2'), /403/);
    assert.equal((await api(testAdmin, 'GET', `/projects/${project}/members/${memberId}`)).status, 404);
    assert.equal((await api(testAdmin, 'DELETE', `/projects/${project}/members/${memberId}`)).status, 200);
  });

  test('/usergroups: administrators create, list, rename and delete groups', async () => {
    const create = (body: unknown, caller: ApiCaller = testAdmin) => api(caller, 'POST', '/usergroups', body);
    const created = await create({ group_name: 'ops', group_type: 3 });
    assert.equal(created.status, 201, created.body.toString());
    const location = created.header('location') ?? '';
    assert.match(location, /^\/api\/v2\.0\/usergroups\/\d+$/);
    const groupId = Number(location.split('/').at(-1));
    assert.equal((await create({ group_name: 'ops', group_type: 3 })).status, 409);
    assert.equal((await create({ group_name: '', group_type: 3 })).status, 400);
    assert.equal((await create({ group_name: 'x', group_type: 9 })).status, 400);
    assert.equal(
      (await create({ group_name: 'ldap', group_type: 1 })).status,
      400,
      'an LDAP group needs its DN',
    );
    assert.equal(
      (await create({ group_name: 'ldap', group_type: 1, ldap_group_dn: 'not a dn' })).status,
      400,
    );
    const ldap = await create({
      group_name: 'devs',
      group_type: 1,
      ldap_group_dn: 'cn=devs,ou=groups,dc=example,dc=com',
    });
    assert.equal(ldap.status, 201);
    assert.equal(
      (
        await create({
          group_name: 'devs2',
          group_type: 1,
          ldap_group_dn: 'cn=devs,ou=groups,dc=example,dc=com',
        })
      ).status,
      409,
    );
    assert.equal((await create({ group_name: 'web', group_type: 2 })).status, 201);
    assert.equal((await create({ group_name: 'z', group_type: 2 }, as('alice'))).status, 403);
    assert.equal((await create({ group_name: 'z', group_type: 2 }, null)).status, 401);

    const listed = await api(testAdmin, 'GET', '/usergroups?page_size=2');
    assert.equal(listed.header('x-total-count'), '3');
    assert.equal(listed.json<Group[]>().length, 2);
    const byDn = await api(
      testAdmin,
      'GET',
      '/usergroups?ldap_group_dn=cn%3Ddevs%2Cou%3Dgroups%2Cdc%3Dexample%2Cdc%3Dcom',
    );
    assert.deepEqual(
      byDn.json<Group[]>().map((group) => group.group_name),
      ['devs'],
    );
    assert.equal((await api(as('alice'), 'GET', '/usergroups')).status, 403);
    const found = await api(as('alice'), 'GET', '/usergroups/search?groupname=OP');
    assert.equal(found.status, 200);
    assert.deepEqual(found.json(), [{ id: groupId, group_name: 'ops', group_type: 3 }]);
    assert.equal((await api(as('alice'), 'GET', '/usergroups/search')).status, 400);

    assert.deepEqual((await api(testAdmin, 'GET', `/usergroups/${groupId}`)).json(), {
      id: groupId,
      group_name: 'ops',
      group_type: 3,
      ldap_group_dn: '',
    });
    assert.equal((await api(testAdmin, 'GET', '/usergroups/99999')).status, 404);
    assert.equal(
      (await api(testAdmin, 'PUT', `/usergroups/${groupId}`, { group_name: 'operations' })).status,
      200,
    );
    assert.equal(
      (await api(testAdmin, 'GET', `/usergroups/${groupId}`)).json<Group>().group_name,
      'operations',
    );
    assert.equal((await api(testAdmin, 'PUT', `/usergroups/${groupId}`, {})).status, 400);
    assert.equal((await api(testAdmin, 'PUT', '/usergroups/99999', { group_name: 'x' })).status, 404);
    assert.equal((await api(as('alice'), 'PUT', `/usergroups/${groupId}`, { group_name: 'x' })).status, 403);

    // A group can be a member, by id or by name and type; deleting the group removes that.
    const byId = await addMember({ role_id: 2, member_group: { id: groupId } });
    const member = (await api(testAdmin, 'GET', `/projects/${project}/members/${byId}`)).json<Member>();
    assert.equal(member.entity_type, 'g');
    assert.equal(member.entity_name, 'operations');
    await addMember({ role_id: 3, member_group: { group_name: 'web', group_type: 2 } });
    const byDnMember = await addMember({
      role_id: 3,
      member_group: { group_type: 1, ldap_group_dn: 'cn=qa,ou=groups,dc=example,dc=com' },
    });
    assert.equal(
      (await api(testAdmin, 'GET', `/projects/${project}/members/${byDnMember}`)).json<Member>().entity_name,
      'qa',
      'an unknown LDAP DN is added as a group named after its first RDN',
    );
    const respelled = await api(testAdmin, 'POST', `/projects/${project}/members`, {
      role_id: 2,
      member_group: { group_type: 1, ldap_group_dn: 'CN=QA, OU=Groups,DC=example,DC=com' },
    });
    assert.equal(respelled.status, 409, 'the same DN spelled otherwise is the same group, already a member');
    assert.equal((await api(as('alice'), 'DELETE', `/usergroups/${groupId}`)).status, 403);
    assert.equal((await api(testAdmin, 'DELETE', `/usergroups/${groupId}`)).status, 200);
    assert.equal((await api(testAdmin, 'GET', `/usergroups/${groupId}`)).status, 404);
    assert.equal((await api(testAdmin, 'GET', `/projects/${project}/members/${byId}`)).status, 404);
  });

  test('member and group changes are audited', async () => {
    const entries = await auditEntries(berth);
    const has = (type: string, operation: string, resource: string) =>
      entries.some(
        (entry) =>
          entry.resource_type === type &&
          entry.operation === operation &&
          entry.resource === resource &&
          entry.result === 'success',
      );
    assert.ok(has('member', 'create', 'alice'));
    assert.ok(has('member', 'update', 'carol'));
    assert.ok(has('member', 'delete', 'carol'));
    assert.ok(has('user-group', 'create', 'ops'));
    assert.ok(has('user-group', 'update', 'operations'));
    assert.ok(has('user-group', 'delete', 'operations'));
    assert.ok(entries.some((entry) => entry.resource_type === 'member' && entry.result === 'denied'));
    const memberEntry = entries.find(
      (entry) => entry.resource_type === 'member' && entry.resource === 'alice',
    );
    assert.equal(memberEntry?.project_id, projectId);
  });
});
