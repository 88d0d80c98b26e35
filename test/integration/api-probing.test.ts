import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiCaller, apiRequest } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import type { Credentials } from '../helpers/http.ts';

/** Lookups that must not list every user or tell which robot ids exist, over real HTTP. */
describe('user search and robot lookups give nothing away', () => {
  let berth: TestBerth;
  const password = 'Probe-Pass-123';
  const sam: Credentials = { username: 'sam', password };
  const ada: Credentials = { username: 'ada', password };
  let robot: Credentials;
  let ownRobotId: number;
  let otherRobotId: number;
  const api = (caller: ApiCaller, method: string, path: string, body?: unknown) =>
    apiRequest(berth, caller, method, path, body);

  async function createRobot(project: string, name: string): Promise<{ id: number; login: Credentials }> {
    const response = await api(testAdmin, 'POST', '/robots', {
      name,
      level: 'project',
      duration: 30,
      permissions: [
        { kind: 'project', namespace: project, access: [{ resource: 'repository', action: 'pull' }] },
      ],
    });
    assert.equal(response.status, 201, response.body.toString());
    const body = response.json<{ id: number; name: string; secret: string }>();
    return { id: body.id, login: { username: body.name, password: body.secret } };
  }

  before(async () => {
    berth = await startTestBerth();
    for (const user of [sam, ada]) {
      const response = await api(testAdmin, 'POST', '/users', {
        username: user.username,
        email: `${user.username}@example.com`,
        realname: user.username,
        password,
      });
      assert.equal(response.status, 201);
    }
    for (const project of ['own', 'other']) {
      const response = await api(testAdmin, 'POST', '/projects', {
        project_name: project,
        metadata: { public: 'false' },
      });
      assert.equal(response.status, 201);
    }
    const member = await api(testAdmin, 'POST', '/projects/own/members', {
      role_id: 1,
      member_user: { username: ada.username },
    });
    assert.equal(member.status, 201);
    const own = await createRobot('own', 'builder');
    ownRobotId = own.id;
    robot = own.login;
    otherRobotId = (await createRobot('other', 'deployer')).id;
  });
  after(() => berth?.destroy());

  test('/users/search needs a non-empty fragment and a person', async () => {
    for (const query of ['username=', 'username=%20%20', '']) {
      const response = await api(sam, 'GET', `/users/search?${query}`);
      assert.equal(response.status, 400, query);
      assert.equal(response.json<{ errors: { code: string }[] }>().errors[0]?.code, 'BAD_REQUEST');
    }
    const found = await api(sam, 'GET', '/users/search?username=ad');
    assert.equal(found.status, 200);
    assert.deepEqual(
      found
        .json<{ username: string }[]>()
        .map((user) => user.username)
        .sort(),
      ['ada', 'admin'],
    );
    const byRobot = await api(robot, 'GET', '/users/search?username=ad');
    assert.equal(byRobot.status, 403);
    assert.ok(!byRobot.body.toString().includes('ada'));
  });

  test('GET /robots/{id} refuses before telling whether the id exists', async () => {
    const missing = 999_999;
    // A user who may read no robots: the same 403 for a real id and a free one.
    assert.equal((await api(sam, 'GET', `/robots/${otherRobotId}`)).status, 403);
    assert.equal((await api(sam, 'GET', `/robots/${missing}`)).status, 403);
    // A project admin: their own project's robot, but nothing about others' ids.
    assert.equal((await api(ada, 'GET', `/robots/${ownRobotId}`)).status, 200);
    assert.equal((await api(ada, 'GET', `/robots/${otherRobotId}`)).status, 403);
    assert.equal((await api(ada, 'GET', `/robots/${missing}`)).status, 403);
    assert.equal((await api(ada, 'DELETE', `/robots/${missing}`)).status, 403);
    // A robot asking about robots, and an anonymous caller.
    assert.equal((await api(robot, 'GET', `/robots/${missing}`)).status, 403);
    assert.equal((await api(null, 'GET', `/robots/${missing}`)).status, 401);
    // Who may act on every robot learns that an id is free.
    assert.equal((await api(testAdmin, 'GET', `/robots/${missing}`)).status, 404);
    assert.equal((await api(testAdmin, 'GET', `/robots/${otherRobotId}`)).status, 200);
  });
});
