import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { basicAuth, type Credentials, RegistryClient, send, sha256 } from '../helpers/http.ts';

/**
 * The whole permission matrix over real HTTP: every kind of caller × every action (pull, push, delete, list, scan, manage members, robots and project settings), on a public
 * and a private project, through /v2 and /api/v2.0 alike. The expectations are Harbor's role
 * meanings written out by hand here, not read from Berth's own tables.
 */

type Visibility = 'public' | 'private';
type Action = 'pull' | 'push' | 'delete' | 'list' | 'scan' | 'members' | 'robots' | 'policies';
const actions: readonly Action[] = [
  'pull',
  'push',
  'delete',
  'list',
  'scan',
  'members',
  'robots',
  'policies',
];

type Row = Partial<Record<Action, boolean | Visibility>>;

/** `true`: allowed in both projects; `'public'`: only in the public one; absent: never. */
const expected: Record<string, Row> = {
  anonymous: { pull: 'public', list: 'public' },
  'logged in, not a member': { pull: 'public', list: 'public' },
  'limited guest': { pull: true, list: true },
  guest: { pull: true, list: true },
  developer: { pull: true, push: true, list: true },
  maintainer: { pull: true, push: true, delete: true, list: true, scan: true },
  'project admin': {
    pull: true,
    push: true,
    delete: true,
    list: true,
    scan: true,
    members: true,
    robots: true,
    policies: true,
  },
  'system admin': {
    pull: true,
    push: true,
    delete: true,
    list: true,
    scan: true,
    members: true,
    robots: true,
    policies: true,
  },
  'robot: pull': { pull: true, list: 'public' },
  'robot: pull+push': { pull: true, push: true, list: 'public' },
  'robot: delete': { pull: 'public', delete: true, list: 'public' },
  'robot: list': { pull: 'public', list: true },
  'robot: scan': { pull: 'public', list: 'public', scan: true },
};

const memberRoles: Record<string, number> = {
  'project admin': 1,
  developer: 2,
  guest: 3,
  maintainer: 4,
  'limited guest': 5,
};

const robotAccess: Record<string, { resource: string; action: string }[]> = {
  'robot: pull': [{ resource: 'repository', action: 'pull' }],
  'robot: pull+push': [
    { resource: 'repository', action: 'pull' },
    { resource: 'repository', action: 'push' },
  ],
  'robot: delete': [{ resource: 'repository', action: 'delete' }],
  'robot: list': [
    { resource: 'repository', action: 'list' },
    { resource: 'artifact', action: 'list' },
  ],
  'robot: scan': [{ resource: 'scan', action: 'create' }],
};

const password = 'Matrix-Pass-1';
const projects: Record<Visibility, string> = { public: 'matrix-pub', private: 'matrix-priv' };
const admin = basicAuth(testAdmin);
const json = { 'content-type': 'application/json', authorization: admin };

function allowedIn(row: Row, action: Action, visibility: Visibility): boolean {
  const cell = row[action];
  return cell === true || cell === visibility;
}

async function api(berth: TestBerth, method: string, path: string, body?: unknown, authorization = admin) {
  return send(berth.url, method, `/api/v2.0${path}`, {
    headers: body === undefined ? { authorization } : { ...json, authorization },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function imageManifest(configDigest: string, configSize = 2) {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configSize },
    layers: [],
  };
}

describe('permission matrix', () => {
  let berth: TestBerth;
  const callers = new Map<string, Credentials | null>();
  let cell = 0;

  before(async () => {
    berth = await startTestBerth();
    const registry = new RegistryClient(berth.url);
    for (const [visibility, name] of Object.entries(projects)) {
      const created = await api(berth, 'POST', '/projects', {
        project_name: name,
        metadata: { public: visibility === 'public' ? 'true' : 'false' },
      });
      assert.equal(created.status, 201, created.body.toString());
      const config = await registry.pushBlob(`${name}/app`, '{}');
      assert.equal((await registry.putManifest(`${name}/app`, 'v1', imageManifest(config))).status, 201);
    }
    callers.set('anonymous', null);
    callers.set('system admin', testAdmin);
    const users = ['logged in, not a member', ...Object.keys(memberRoles), 'spare'];
    for (const [index, label] of users.entries()) {
      const username = `user${index}`;
      const created = await api(berth, 'POST', '/users', {
        username,
        email: `${username}@example.com`,
        realname: label.replace(/[^a-z ]/gi, ''),
        password,
      });
      assert.equal(created.status, 201, created.body.toString());
      callers.set(label, { username, password });
      const role = memberRoles[label];
      if (role === undefined) continue;
      for (const project of Object.values(projects)) {
        const added = await api(berth, 'POST', `/projects/${project}/members`, {
          role_id: role,
          member_user: { username },
        });
        assert.equal(added.status, 201, added.body.toString());
      }
    }
    for (const [label, access] of Object.entries(robotAccess)) {
      const created = await api(berth, 'POST', '/robots', {
        name: label.replace(/\W+/g, '-').replace(/-+$/, ''),
        level: 'system',
        duration: -1,
        permissions: [{ kind: 'project', namespace: '*', access }],
      });
      assert.equal(created.status, 201, created.body.toString());
      const robot = created.json<{ name: string; secret: string }>();
      callers.set(label, { username: robot.name, password: robot.secret });
    }
  });
  after(() => berth?.destroy());

  /** Performs `action` in `project` as `caller`; whether it was allowed, checked against the answer. */
  async function attempt(caller: Credentials | null, action: Action, project: string): Promise<boolean> {
    const client = new RegistryClient(berth.url).as(caller);
    const authorization = caller ? basicAuth(caller) : '';
    const asCaller = (method: string, path: string, body?: unknown) =>
      send(berth.url, method, `/api/v2.0${path}`, {
        headers: {
          ...(caller ? { authorization } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const unique = `cell${++cell}`;
    const outcome = (response: { status: number; body: Buffer }, ok: number) => {
      if (response.status === ok) return true;
      assert.ok(
        [401, 403, 404].includes(response.status),
        `refusals are 401/403/404, got ${response.status} ${response.body}`,
      );
      return false;
    };
    switch (action) {
      case 'pull':
        return outcome(await client.request('GET', `/v2/${project}/app/manifests/v1`), 200);
      case 'push': {
        const bytes = Buffer.from(`{"cell":"${unique}"}`);
        return outcome(
          await client.request('POST', `/v2/${project}/app/blobs/uploads/?digest=${sha256(bytes)}`, {
            headers: { 'content-type': 'application/octet-stream', 'content-length': bytes.length },
            body: bytes,
          }),
          201,
        );
      }
      case 'delete': {
        // A manifest of this cell's own, so that one cell's delete leaves the others' intact.
        const admin = new RegistryClient(berth.url);
        const content = `{"cell":"${unique}"}`;
        const config = await admin.pushBlob(`${project}/app`, content);
        const put = await admin.putManifest(`${project}/app`, unique, imageManifest(config, content.length));
        assert.equal(put.status, 201);
        const digest = put.header('docker-content-digest')!;
        return outcome(await client.request('DELETE', `/v2/${project}/app/manifests/${digest}`), 202);
      }
      case 'list':
        return outcome(await asCaller('GET', `/projects/${project}/repositories`), 200);
      case 'scan':
        return outcome(
          await asCaller('POST', `/projects/${project}/repositories/app/artifacts/v1/scan`),
          202,
        );
      case 'members': {
        const response = await asCaller('POST', `/projects/${project}/members`, {
          role_id: 3,
          member_user: { username: callers.get('spare')!.username },
        });
        if (response.status === 201) {
          const id = response.header('location')!.split('/').at(-1)!;
          assert.equal((await api(berth, 'DELETE', `/projects/${project}/members/${id}`)).status, 200);
        }
        return outcome(response, 201);
      }
      case 'robots':
        return outcome(
          await asCaller('POST', '/robots', {
            name: unique,
            level: 'project',
            duration: 30,
            permissions: [
              { kind: 'project', namespace: project, access: [{ resource: 'repository', action: 'pull' }] },
            ],
          }),
          201,
        );
      case 'policies':
        return outcome(
          await asCaller('PUT', `/projects/${project}`, { metadata: { auto_scan: 'true' } }),
          200,
        );
    }
  }

  for (const [label, row] of Object.entries(expected)) {
    for (const visibility of ['public', 'private'] as const) {
      test(`${label} in a ${visibility} project`, async () => {
        const caller = callers.get(label);
        assert.ok(caller !== undefined, `no caller for ${label}`);
        const got: Record<string, boolean> = {};
        const want: Record<string, boolean> = {};
        for (const action of actions) {
          got[action] = await attempt(caller, action, projects[visibility]);
          want[action] = allowedIn(row, action, visibility);
        }
        assert.deepEqual(got, want);
      });
    }
  }

  test('a robot cannot be given member or robot management', async () => {
    for (const resource of ['member', 'robot']) {
      const response = await api(berth, 'POST', '/robots', {
        name: `bad-${resource}`,
        level: 'system',
        duration: -1,
        permissions: [{ kind: 'project', namespace: '*', access: [{ resource, action: 'create' }] }],
      });
      assert.equal(response.status, 400, `${resource}: ${response.body}`);
    }
  });

  test('system administration stays with system administrators', async () => {
    const projectAdmin = basicAuth(callers.get('project admin')!);
    for (const [method, path, body] of [
      ['GET', '/users', undefined],
      ['GET', '/configurations', undefined],
      ['PUT', '/configurations', { auth_mode: 'ldap_auth' }],
      ['GET', '/audit-logs', undefined],
    ] as const) {
      const response = await api(berth, method, path, body, projectAdmin);
      assert.equal(response.status, 403, `${method} ${path}: ${response.status}`);
    }
  });
});
