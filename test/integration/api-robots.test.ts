import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Caller } from '../../src/access/caller.ts';
import { PermissionEvaluator } from '../../src/access/evaluator.ts';
import { hashPassword } from '../../src/access/passwords.ts';
import { roles } from '../../src/access/permissions.ts';
import { ProjectDirectory } from '../../src/access/project-directory.ts';
import { openDatabase } from '../../src/db/open.ts';
import { newUser } from '../../src/db/users.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { basicAuth, type Credentials, RegistryClient, send, type TestResponse } from '../helpers/http.ts';
import { storedRows } from '../helpers/stored-rows.ts';

/** A clock the test moves by hand. */
function manualClock(start = Date.now()) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

const dayMs = 24 * 3600 * 1000;
const admin = basicAuth(testAdmin);
const manifestType = 'application/vnd.oci.image.manifest.v1+json';

interface RobotCreated {
  id: number;
  name: string;
  secret: string;
  creation_time: string;
  expires_at: number;
}

interface RobotJson {
  id: number;
  name: string;
  level: string;
  duration: number;
  disable: boolean;
  expires_at: number;
  editable: boolean;
  permissions: { kind: string; namespace: string; access: { resource: string; action: string }[] }[];
  secret?: string;
}

function pullPush(project: string, ...actions: string[]) {
  return [
    {
      kind: 'project',
      namespace: project,
      access: actions.map((action) => ({ resource: 'repository', action })),
    },
  ];
}

function assertHarborError(response: TestResponse, status: number, code: string): string {
  assert.equal(response.status, status, response.body.toString());
  const body = response.json<{ errors: { code: string; message: string }[] }>();
  assert.equal(body.errors.length, 1);
  assert.equal(body.errors[0]!.code, code);
  assert.equal(typeof body.errors[0]!.message, 'string');
  return body.errors[0]!.message;
}

describe('robot accounts', () => {
  const clock = manualClock();
  const logLines: string[] = [];
  /** Every secret the API handed out or the test chose: none may ever be logged. */
  const secrets: string[] = [];
  let berth: TestBerth;
  let registry: RegistryClient;
  const projectIds: Record<string, number> = {};
  const people = {
    alice: { username: 'alice', password: 'Alice-Password-1' },
    dave: { username: 'dave', password: 'Dave-Password-1' },
    mia: { username: 'mia', password: 'Mia-Password-1' },
  };

  function api(method: string, path: string, authorization: string, body?: unknown) {
    const headers: Record<string, string> = { authorization };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return send(berth.url, method, `/api/v2.0${path}`, {
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  async function createRobot(body: Record<string, unknown>, authorization = admin): Promise<RobotCreated> {
    const response = await api('POST', '/robots', authorization, body);
    assert.equal(response.status, 201, response.body.toString());
    const created = response.json<RobotCreated>();
    assert.equal(response.header('location'), `/api/v2.0/robots/${created.id}`);
    secrets.push(created.secret);
    return created;
  }

  const credentialsOf = (robot: { name: string; secret: string }): Credentials => ({
    username: robot.name,
    password: robot.secret,
  });

  function pull(credentials: Credentials, repository = 'alpha/app') {
    return registry.as(credentials).request('GET', `/v2/${repository}/manifests/v1`, {
      headers: { accept: manifestType },
    });
  }

  async function tokenFor(credentials: Credentials, scope = 'repository:alpha/app:pull'): Promise<string> {
    const response = await send(
      berth.url,
      'GET',
      `/service/token?service=${berth.config.auth.tokenService}&scope=${scope}`,
      { headers: { authorization: basicAuth(credentials) } },
    );
    assert.equal(response.status, 200, response.body.toString());
    return response.json<{ token: string }>().token;
  }

  function pullWithToken(token: string) {
    return send(berth.url, 'GET', '/v2/alpha/app/manifests/v1', {
      headers: { authorization: `Bearer ${token}`, accept: manifestType },
    });
  }

  /** Sets up users and memberships the members API would: straight in the database. */
  async function addPeople(): Promise<void> {
    const db = openDatabase(berth.config.database);
    try {
      const now = clock.now();
      const memberships: [keyof typeof people, number][] = [
        ['alice', roles.projectAdmin],
        ['dave', roles.developer],
        ['mia', roles.maintainer],
      ];
      for (const [who, role] of memberships) {
        const id = await db.users.insert(
          newUser(
            {
              username: people[who].username,
              realname: who,
              password_hash: await hashPassword(people[who].password),
              source: 'local',
            },
            now,
          ),
        );
        await db.members.insert({
          project_id: projectIds.alpha!,
          entity_type: 'u',
          entity_id: id,
          role_id: role,
          created_at: now,
        });
      }
    } finally {
      await db.close();
    }
  }

  before(async () => {
    berth = await startTestBerth({ 'auth.failedLoginsPerMinute': 0 }, { clock, logLines });
    registry = new RegistryClient(berth.url);
    for (const name of ['alpha', 'beta']) {
      const created = await api('POST', '/projects', admin, { project_name: name });
      assert.equal(created.status, 201, created.body.toString());
      projectIds[name] = (await api('GET', `/projects/${name}`, admin)).json<{
        project_id: number;
      }>().project_id;
    }
    await registry.pushImage('alpha/app', 'v1');
    await registry.pushImage('beta/app', 'v1');
    await addPeople();
  });

  after(async () => {
    await berth?.destroy();
  });

  test('a system robot: created by an administrator, its secret shown once, then it pulls and pushes', async () => {
    const robot = await createRobot({
      name: 'ci',
      description: 'builds everything',
      level: 'system',
      duration: -1,
      permissions: [
        {
          kind: 'project',
          namespace: '*',
          access: [
            { resource: 'repository', action: 'pull' },
            { resource: 'repository', action: 'push' },
          ],
        },
        { kind: 'system', namespace: '/', access: [{ resource: 'catalog', action: 'read' }] },
      ],
    });
    assert.equal(robot.name, 'robot$ci');
    assert.equal(robot.expires_at, -1);
    assert.match(robot.secret, /^[A-Za-z0-9]{32}$/);
    assert.match(robot.secret, /[A-Z]/);
    assert.match(robot.secret, /[a-z]/);
    assert.match(robot.secret, /[0-9]/);
    assert.ok(!Number.isNaN(Date.parse(robot.creation_time)));

    const shown = await api('GET', `/robots/${robot.id}`, admin);
    assert.equal(shown.status, 200);
    assert.ok(!shown.body.toString().includes(robot.secret));
    const json = shown.json<RobotJson>();
    assert.equal(json.secret, undefined);
    assert.equal(json.name, 'robot$ci');
    assert.equal(json.level, 'system');
    assert.equal(json.duration, -1);
    assert.equal(json.disable, false);
    assert.equal(json.editable, true);
    assert.deepEqual(
      json.permissions.map((p) => [
        p.kind,
        p.namespace,
        p.access.map((a) => `${a.resource}:${a.action}`).sort(),
      ]),
      [
        ['project', '*', ['repository:pull', 'repository:push']],
        ['system', '/', ['catalog:read']],
      ],
    );

    const list = await api('GET', '/robots', admin);
    assert.equal(list.status, 200);
    assert.equal(list.header('x-total-count'), '1');
    assert.ok(!list.body.toString().includes(robot.secret));
    assert.deepEqual(
      list.json<RobotJson[]>().map((r) => r.name),
      ['robot$ci'],
    );

    const asRobot = registry.as(credentialsOf(robot));
    await asRobot.pushImage('beta/built', 'v1');
    assert.equal((await pull(credentialsOf(robot), 'beta/built')).status, 200);
    assert.equal((await asRobot.request('GET', '/v2/_catalog')).status, 200);

    const again = await api('POST', '/robots', admin, {
      name: 'ci',
      level: 'system',
      permissions: pullPush('*', 'pull'),
    });
    assertHarborError(again, 409, 'CONFLICT');

    const openapi = (await api('GET', '/openapi.json', admin)).json<{ paths: Record<string, object> }>();
    assert.deepEqual(Object.keys(openapi.paths['/robots'] ?? {}).sort(), ['get', 'post']);
    assert.deepEqual(Object.keys(openapi.paths['/robots/{robot_id}'] ?? {}).sort(), [
      'delete',
      'get',
      'patch',
      'put',
    ]);
  });

  test('a project robot is robot$project+name and holds only its permissions, only in its project', async () => {
    const robot = await createRobot({
      name: 'puller',
      level: 'project',
      duration: 30,
      permissions: pullPush('alpha', 'pull'),
    });
    assert.equal(robot.name, 'robot$alpha+puller');
    assert.equal(robot.expires_at, Math.floor((clock.now() + 30 * dayMs) / 1000));
    const credentials = credentialsOf(robot);

    assert.equal((await pull(credentials)).status, 200);
    const push = await registry.as(credentials).request('POST', '/v2/alpha/app/blobs/uploads/');
    assertHarborError(push, 403, 'DENIED');
    assertHarborError(await pull(credentials, 'beta/app'), 403, 'DENIED');
    const catalog = await registry.as(credentials).request('GET', '/v2/_catalog');
    assertHarborError(catalog, 403, 'DENIED');

    // Through the token service: the token carries only what the robot holds.
    const service = berth.config.auth.tokenService;
    const tokenResponse = await send(
      berth.url,
      'GET',
      `/service/token?service=${service}&scope=repository:alpha/app:pull,push&scope=repository:beta/app:pull`,
      { headers: { authorization: basicAuth(credentials) } },
    );
    assert.equal(tokenResponse.status, 200, tokenResponse.body.toString());
    const token = tokenResponse.json<{ token: string }>().token;
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as {
      sub: string;
      access: { name: string; actions: string[] }[];
    };
    assert.equal(claims.sub, 'robot$alpha+puller');
    assert.deepEqual(
      claims.access.map((a) => [a.name, a.actions]),
      [
        ['alpha/app', ['pull']],
        ['beta/app', []],
      ],
    );
    const withToken = await send(berth.url, 'GET', '/v2/alpha/app/manifests/v1', {
      headers: { authorization: `Bearer ${token}`, accept: manifestType },
    });
    assert.equal(withToken.status, 200);
    const pushWithToken = await send(berth.url, 'POST', '/v2/alpha/app/blobs/uploads/', {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(pushWithToken.status, 401);

    // The OAuth2 password grant (containerd) takes robot credentials too.
    const form = new URLSearchParams({
      grant_type: 'password',
      service,
      scope: 'repository:alpha/app:pull',
      username: robot.name,
      password: robot.secret,
    });
    const posted = await send(berth.url, 'POST', '/service/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    assert.equal(posted.status, 200, posted.body.toString());

    const listed = await api('GET', `/robots?q=Level=project,ProjectID=${projectIds.alpha}`, admin);
    assert.equal(listed.status, 200);
    assert.equal(listed.header('x-total-count'), '1');
    const [entry] = listed.json<RobotJson[]>();
    assert.equal(entry!.name, 'robot$alpha+puller');
    assert.equal(entry!.level, 'project');
    assert.deepEqual(entry!.permissions, [
      { kind: 'project', namespace: 'alpha', access: [{ resource: 'repository', action: 'pull' }] },
    ]);
    // System robots are listed apart from project robots.
    const system = await api('GET', '/robots?q=Level=system', admin);
    assert.deepEqual(
      system.json<RobotJson[]>().map((r) => r.name),
      ['robot$ci'],
    );
  });

  test('project admins grant only what they hold; developers and maintainers cannot create robots', async () => {
    const alice = basicAuth(people.alice);
    const robot = await createRobot(
      { name: 'deployer', level: 'project', duration: 7, permissions: pullPush('alpha', 'pull', 'push') },
      alice,
    );
    assert.equal(robot.name, 'robot$alpha+deployer');
    await registry.as(credentialsOf(robot)).pushImage('alpha/deployed', 'v1');

    // A project admin does not hold immutable-tag:read (Harbor's matrix), so cannot grant it.
    const beyond = await api('POST', '/robots', alice, {
      name: 'beyond',
      level: 'project',
      permissions: [
        { kind: 'project', namespace: 'alpha', access: [{ resource: 'immutable-tag', action: 'read' }] },
      ],
    });
    assert.match(assertHarborError(beyond, 403, 'FORBIDDEN'), /do not hold/);
    const elsewhere = await api('POST', '/robots', alice, {
      name: 'elsewhere',
      level: 'project',
      permissions: pullPush('beta', 'pull'),
    });
    assertHarborError(elsewhere, 403, 'FORBIDDEN');
    const system = await api('POST', '/robots', alice, {
      name: 'mine',
      level: 'system',
      permissions: pullPush('*', 'pull'),
    });
    assertHarborError(system, 403, 'FORBIDDEN');
    assertHarborError(await api('GET', '/robots', alice), 403, 'FORBIDDEN');
    const ciId = (await api('GET', '/robots', admin)).json<RobotJson[]>()[0]!.id;
    assertHarborError(await api('GET', `/robots/${ciId}`, alice), 403, 'FORBIDDEN');

    for (const who of [people.dave, people.mia]) {
      const refused = await api('POST', '/robots', basicAuth(who), {
        name: `by-${who.username}`,
        level: 'project',
        permissions: pullPush('alpha', 'pull'),
      });
      assertHarborError(refused, 403, 'FORBIDDEN');
      const listed = await api(
        'GET',
        `/robots?q=Level=project,ProjectID=${projectIds.alpha}`,
        basicAuth(who),
      );
      assert.equal(listed.status, 200);
      assert.equal(listed.header('x-total-count'), '2');
      assertHarborError(await api('DELETE', `/robots/${robot.id}`, basicAuth(who)), 403, 'FORBIDDEN');
      assertHarborError(await api('PATCH', `/robots/${robot.id}`, basicAuth(who)), 403, 'FORBIDDEN');
    }

    const anonymous = await send(berth.url, 'GET', '/api/v2.0/robots');
    assertHarborError(anonymous, 401, 'UNAUTHORIZED');
  });

  test('robots cannot manage robots or members, and cannot be granted that', async () => {
    const system = (await api('GET', '/robots', admin)).json<RobotJson[]>()[0]!;
    const ci = { name: system.name, secret: secrets[0]! };
    const asRobot = basicAuth(credentialsOf(ci));
    const create = await api('POST', '/robots', asRobot, {
      name: 'child',
      level: 'project',
      permissions: pullPush('alpha', 'pull'),
    });
    assertHarborError(create, 403, 'FORBIDDEN');
    assertHarborError(await api('GET', '/robots', asRobot), 403, 'FORBIDDEN');
    assertHarborError(await api('PATCH', `/robots/${system.id}`, asRobot), 403, 'FORBIDDEN');
    assertHarborError(await api('DELETE', `/robots/${system.id}`, asRobot), 403, 'FORBIDDEN');

    assert.equal((await api('GET', `/projects/${projectIds.alpha}/members`, admin)).status, 200);
    assertHarborError(await api('GET', `/projects/${projectIds.alpha}/members`, asRobot), 403, 'FORBIDDEN');
    const addMember = await api('POST', `/projects/${projectIds.alpha}/members`, asRobot, {
      role_id: roles.projectAdmin,
      member_user: { username: 'dave' },
    });
    assertHarborError(addMember, 403, 'FORBIDDEN');

    for (const [kind, namespace, resource, action] of [
      ['project', 'alpha', 'member', 'create'],
      ['project', 'alpha', 'robot', 'create'],
      ['system', '/', 'robot', 'create'],
      ['system', '/', 'user', 'create'],
    ]) {
      const refused = await api('POST', '/robots', admin, {
        name: 'overreach',
        level: kind,
        permissions: [{ kind, namespace, access: [{ resource, action }] }],
      });
      assert.match(assertHarborError(refused, 400, 'BAD_REQUEST'), new RegExp(`${resource}:${action}`));
    }

    // Even a permission row slipped into the database gives a robot no members or robots.
    const db = openDatabase(berth.config.database);
    try {
      const evaluator = new PermissionEvaluator(new ProjectDirectory(db, clock));
      const alpha = { id: projectIds.alpha!, name: 'alpha', public: false };
      const robot: Caller = {
        kind: 'robot',
        id: 999,
        name: 'robot$alpha+forged',
        projectId: alpha.id,
        permissions: [
          { kind: 'project', namespace: 'alpha', resource: 'member', action: 'create' },
          { kind: 'project', namespace: 'alpha', resource: 'robot', action: 'create' },
          { kind: 'project', namespace: 'alpha', resource: 'repository', action: 'pull' },
        ],
      };
      assert.equal(await evaluator.canInProject(robot, alpha, 'member', 'create'), false);
      assert.equal(await evaluator.canInProject(robot, alpha, 'robot', 'create'), false);
      assert.equal(await evaluator.canInProject(robot, alpha, 'repository', 'pull'), true);
      const beta = { id: projectIds.beta!, name: 'beta', public: false };
      const wildcard: Caller = { ...robot, permissions: [{ ...robot.permissions[2]!, namespace: '*' }] };
      // A project robot stays in its project even with a wildcard namespace.
      assert.equal(await evaluator.canInProject(wildcard, beta, 'repository', 'pull'), false);
    } finally {
      await db.close();
    }
  });

  test('a disabled robot is refused at once, and works again when enabled', async () => {
    const robot = await createRobot({
      name: 'toggled',
      level: 'project',
      permissions: pullPush('alpha', 'pull'),
    });
    const credentials = credentialsOf(robot);
    assert.equal((await pull(credentials)).status, 200);
    const token = await tokenFor(credentials);
    assert.equal((await pullWithToken(token)).status, 200);

    const disable = await api('PUT', `/robots/${robot.id}`, admin, {
      name: robot.name,
      level: 'project',
      disable: true,
      permissions: pullPush('alpha', 'pull'),
    });
    assert.equal(disable.status, 200, disable.body.toString());
    assert.equal((await api('GET', `/robots/${robot.id}`, admin)).json<RobotJson>().disable, true);
    assertHarborError(await pull(credentials), 401, 'UNAUTHORIZED');
    // A token issued before stops working too, long before it expires.
    assertHarborError(await pullWithToken(token), 401, 'UNAUTHORIZED');
    const refused = await send(berth.url, 'GET', `/service/token?service=${berth.config.auth.tokenService}`, {
      headers: { authorization: basicAuth(credentials) },
    });
    assert.equal(refused.status, 401);

    const enable = await api('PUT', `/robots/${robot.id}`, admin, { disable: false });
    assert.equal(enable.status, 200);
    assert.equal((await pull(credentials)).status, 200);
    assert.equal((await pullWithToken(token)).status, 200);

    // Permissions changed by an update hold from the next request.
    const widen = await api('PUT', `/robots/${robot.id}`, admin, {
      permissions: pullPush('alpha', 'pull', 'push'),
    });
    assert.equal(widen.status, 200);
    await registry.as(credentials).pushBlob('alpha/app', 'pushed after an update');
    const narrow = await api('PUT', `/robots/${robot.id}`, admin, { permissions: pullPush('alpha', 'pull') });
    assert.equal(narrow.status, 200);
    const push = await registry.as(credentials).request('POST', '/v2/alpha/app/blobs/uploads/');
    assertHarborError(push, 403, 'DENIED');

    const rename = await api('PUT', `/robots/${robot.id}`, admin, { name: 'robot$renamed' });
    assertHarborError(rename, 400, 'BAD_REQUEST');
    const relevel = await api('PUT', `/robots/${robot.id}`, admin, { level: 'system' });
    assertHarborError(relevel, 400, 'BAD_REQUEST');
    const move = await api('PUT', `/robots/${robot.id}`, admin, { permissions: pullPush('beta', 'pull') });
    assertHarborError(move, 400, 'BAD_REQUEST');
  });

  test('a refreshed secret replaces the old one at once', async () => {
    const robot = await createRobot({
      name: 'rotated',
      level: 'project',
      permissions: pullPush('alpha', 'pull'),
    });
    assert.equal((await pull(credentialsOf(robot))).status, 200);

    const refreshed = await api('PATCH', `/robots/${robot.id}`, admin);
    assert.equal(refreshed.status, 200, refreshed.body.toString());
    const { secret } = refreshed.json<{ secret: string }>();
    secrets.push(secret);
    assert.match(secret, /^[A-Za-z0-9]{32}$/);
    assert.notEqual(secret, robot.secret);
    assertHarborError(await pull(credentialsOf(robot)), 401, 'UNAUTHORIZED');
    assert.equal((await pull({ username: robot.name, password: secret })).status, 200);

    const weak = await api('PATCH', `/robots/${robot.id}`, admin, { secret: 'weakling' });
    assert.match(assertHarborError(weak, 400, 'BAD_REQUEST'), /uppercase/);

    const chosen = 'Chosen-Secret-42';
    secrets.push(chosen);
    const set = await api('PATCH', `/robots/${robot.id}`, admin, { secret: chosen });
    assert.equal(set.status, 200, set.body.toString());
    assert.ok(!set.body.toString().includes(chosen));
    assertHarborError(await pull({ username: robot.name, password: secret }), 401, 'UNAUTHORIZED');
    assert.equal((await pull({ username: robot.name, password: chosen })).status, 200);
  });

  test('a deleted robot is refused at once', async () => {
    const robot = await createRobot({
      name: 'doomed',
      level: 'project',
      permissions: pullPush('alpha', 'pull'),
    });
    assert.equal((await pull(credentialsOf(robot))).status, 200);
    const token = await tokenFor(credentialsOf(robot));
    assert.equal((await api('DELETE', `/robots/${robot.id}`, admin)).status, 200);
    assertHarborError(await pull(credentialsOf(robot)), 401, 'UNAUTHORIZED');
    assertHarborError(await pullWithToken(token), 401, 'UNAUTHORIZED');
    assertHarborError(await api('GET', `/robots/${robot.id}`, admin), 404, 'NOT_FOUND');
    assertHarborError(await api('DELETE', `/robots/${robot.id}`, admin), 404, 'NOT_FOUND');
  });

  test('bad input is refused with 400 and Harbor’s error body', async () => {
    const target = await createRobot({
      name: 'target',
      level: 'project',
      permissions: pullPush('alpha', 'pull'),
    });
    const cases: [string, string, unknown][] = [
      ['POST', '/robots', { level: 'system', permissions: pullPush('*', 'pull') }],
      ['POST', '/robots', { name: 'Bad Name', level: 'system', permissions: pullPush('*', 'pull') }],
      ['POST', '/robots', { name: 'x', level: 'galaxy', permissions: pullPush('*', 'pull') }],
      ['POST', '/robots', { name: 'x', level: 'system', duration: -5, permissions: pullPush('*', 'pull') }],
      ['POST', '/robots', { name: 'x', level: 'system', duration: 1.5, permissions: pullPush('*', 'pull') }],
      ['POST', '/robots', { name: 'x', level: 'system', permissions: [] }],
      [
        'POST',
        '/robots',
        { name: 'x', level: 'system', permissions: [{ kind: 'project', namespace: '*', access: [] }] },
      ],
      [
        'POST',
        '/robots',
        {
          name: 'x',
          level: 'system',
          permissions: [
            { kind: 'galaxy', namespace: '*', access: [{ resource: 'repository', action: 'pull' }] },
          ],
        },
      ],
      [
        'POST',
        '/robots',
        {
          name: 'x',
          level: 'project',
          permissions: [...pullPush('alpha', 'pull'), ...pullPush('beta', 'pull')],
        },
      ],
      ['POST', '/robots', { name: 'x', level: 'project', permissions: pullPush('*', 'pull') }],
      ['POST', '/robots', { name: 'x', level: 'system', permissions: pullPush('alpha', 'fly') }],
      ['POST', '/robots', '{"name": "x", '],
      ['GET', '/robots?q=Level=project', undefined],
      ['GET', '/robots?q=Level=project,ProjectID=abc', undefined],
      ['GET', '/robots?q=Level=galaxy', undefined],
      ['GET', '/robots?page_size=1000', undefined],
      ['GET', '/robots?sort=secret', undefined],
      ['GET', '/robots/abc', undefined],
      ['PUT', `/robots/${target.id}`, { duration: -7 }],
      ['PATCH', `/robots/${target.id}`, { secret: 42 }],
    ];
    for (const [method, path, body] of cases) {
      const response = await api(method, path, admin, body);
      assertHarborError(response, 400, 'BAD_REQUEST');
    }
  });

  test('paging: X-Total-Count and Link over a project’s robots', async () => {
    const first = await api(
      'GET',
      `/robots?q=Level=project,ProjectID=${projectIds.alpha}&page=1&page_size=2`,
      admin,
    );
    assert.equal(first.status, 200);
    const total = Number(first.header('x-total-count'));
    assert.ok(total >= 4, `total ${total}`);
    assert.equal(first.json<RobotJson[]>().length, 2);
    assert.match(first.header('link') ?? '', /rel="next"/);
    const names = new Set<string>();
    for (let page = 1; (page - 1) * 2 < total; page++) {
      const response = await api(
        'GET',
        `/robots?q=Level=project,ProjectID=${projectIds.alpha}&page=${page}&page_size=2`,
        admin,
      );
      for (const robot of response.json<RobotJson[]>()) names.add(robot.name);
    }
    assert.equal(names.size, total);
    // Harbor's legacy listing under the project, by name or id, says the same.
    for (const project of ['alpha', String(projectIds.alpha)]) {
      const legacy = await api('GET', `/projects/${project}/robots?page_size=100`, basicAuth(people.mia));
      assert.equal(legacy.status, 200);
      assert.equal(Number(legacy.header('x-total-count')), total);
      assert.deepEqual(new Set(legacy.json<RobotJson[]>().map((r) => r.name)), names);
    }
    assertHarborError(await api('GET', '/projects/beta/robots', basicAuth(people.mia)), 403, 'FORBIDDEN');
    const fuzzy = await api('GET', `/robots?q=Level=project,ProjectID=${projectIds.alpha},name=~dep`, admin);
    assert.deepEqual(
      fuzzy.json<RobotJson[]>().map((r) => r.name),
      ['robot$alpha+deployer'],
    );
  });

  test('an expired robot is refused with 401, even right after a cached login', async () => {
    const robot = await createRobot({
      name: 'shortlived',
      level: 'project',
      duration: 1,
      permissions: pullPush('alpha', 'pull'),
    });
    assert.equal(robot.expires_at, Math.floor((clock.now() + dayMs) / 1000));
    const credentials = credentialsOf(robot);
    clock.advance(dayMs - 5000);
    assert.equal((await pull(credentials)).status, 200);
    const token = await tokenFor(credentials);
    assert.equal((await pullWithToken(token)).status, 200);
    // The login above is cached, but never past the robot's expiry; nor is its token honoured.
    clock.advance(10_000);
    assertHarborError(await pull(credentials), 401, 'UNAUTHORIZED');
    assertHarborError(await pullWithToken(token), 401, 'UNAUTHORIZED');
    const refused = await send(
      berth.url,
      'GET',
      `/service/token?service=${berth.config.auth.tokenService}&scope=repository:alpha/app:pull`,
      { headers: { authorization: basicAuth(credentials) } },
    );
    assert.equal(refused.status, 401);

    // Lengthening the duration brings it back; it counts from the robot's creation.
    const longer = await api('PUT', `/robots/${robot.id}`, admin, { duration: 3 });
    assert.equal(longer.status, 200);
    const shown = (await api('GET', `/robots/${robot.id}`, admin)).json<RobotJson>();
    assert.equal(shown.expires_at, robot.expires_at + 2 * 24 * 3600);
    assert.equal((await pull(credentials)).status, 200);
  });

  test('every change to a robot is audited', async () => {
    await sleep(400);
    {
      const rows = await storedRows<{
        username: string;
        resource: string;
        operation: string;
        result: string;
        detail: string | null;
      }>(
        berth,
        "SELECT username, resource, operation, result, detail FROM audit_logs WHERE resource_type = 'robot'",
      );
      const has = (operation: string, resource: string, result = 'success', detail?: string) =>
        rows.some(
          (row) =>
            row.operation === operation &&
            row.resource === resource &&
            row.result === result &&
            // Repeats within one flush are one row whose detail carries a count.
            (detail === undefined || (row.detail ?? '').includes(detail)),
        );
      assert.ok(has('create', 'robot$ci'), JSON.stringify(rows));
      assert.ok(has('create', 'robot$alpha+deployer'));
      assert.ok(has('update', 'robot$alpha+toggled', 'success', 'disabled'));
      assert.ok(has('update', 'robot$alpha+rotated', 'success', 'secret refreshed'));
      assert.ok(has('delete', 'robot$alpha+doomed'));
      assert.ok(has('create', 'beyond', 'denied'));
      assert.ok(rows.every((row) => secrets.every((secret) => !JSON.stringify(row).includes(secret))));
    }
  });

  test('no robot secret ever reaches the log', () => {
    assert.ok(logLines.length > 0);
    const log = logLines.join('\n');
    assert.ok(secrets.length >= 7);
    for (const secret of secrets) assert.ok(!log.includes(secret), 'a robot secret was logged');
  });
});
