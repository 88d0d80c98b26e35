import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiCaller, apiRequest, auditEntries } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { type Credentials, RegistryClient } from '../helpers/http.ts';

/**
 * /projects/{p}/metadatas over real HTTP: only Harbor's metadata keys with valid values, and
 * visibility (`public`) only for those who may update the project, whichever route they use.
 */
describe('/projects/{p}/metadatas', () => {
  let berth: TestBerth;
  const project = 'secret';
  const password = 'Member-Pass-123';
  const mallory: Credentials = { username: 'mallory', password };
  const paula: Credentials = { username: 'paula', password };
  let robot: Credentials;
  const api = (caller: ApiCaller, method: string, path: string, body?: unknown) =>
    apiRequest(berth, caller, method, path, body);
  const metadatas = `/projects/${project}/metadatas`;

  async function anonymousPull(): Promise<number> {
    const response = await new RegistryClient(berth.url, null).request(
      'GET',
      `/v2/${project}/app/manifests/v1`,
      { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } },
    );
    return response.status;
  }

  async function isPublic(): Promise<string | undefined> {
    const response = await api(testAdmin, 'GET', `/projects/${project}`);
    return response.json<{ metadata: Record<string, string> }>().metadata.public;
  }

  before(async () => {
    berth = await startTestBerth();
    const created = await api(testAdmin, 'POST', '/projects', {
      project_name: project,
      metadata: { public: 'false' },
    });
    assert.equal(created.status, 201);
    for (const [user, role] of [
      [mallory, 4],
      [paula, 1],
    ] as const) {
      const response = await api(testAdmin, 'POST', '/users', {
        username: user.username,
        email: `${user.username}@example.com`,
        realname: user.username,
        password,
      });
      assert.equal(response.status, 201);
      const member = await api(testAdmin, 'POST', `/projects/${project}/members`, {
        role_id: role,
        member_user: { username: user.username },
      });
      assert.equal(member.status, 201, member.body.toString());
    }
    const made = await api(testAdmin, 'POST', '/robots', {
      name: 'meta',
      level: 'project',
      duration: 30,
      permissions: [
        {
          kind: 'project',
          namespace: project,
          access: ['create', 'update', 'delete', 'read'].map((action) => ({ resource: 'metadata', action })),
        },
      ],
    });
    assert.equal(made.status, 201, made.body.toString());
    const { name, secret } = made.json<{ name: string; secret: string }>();
    robot = { username: name, password: secret };
    await new RegistryClient(berth.url).pushImage(`${project}/app`, 'v1');
  });
  after(() => berth?.destroy());

  test('a maintainer or a robot with metadata rights cannot make a private project public', async () => {
    assert.equal(await anonymousPull(), 401);
    for (const caller of [mallory, robot]) {
      const who = caller.username;
      assert.equal((await api(caller, 'POST', `${metadatas}/`, { public: 'true' })).status, 403, who);
      assert.equal((await api(caller, 'PUT', `${metadatas}/public`, { public: 'true' })).status, 403, who);
      assert.equal((await api(caller, 'DELETE', `${metadatas}/public`)).status, 403, who);
      assert.equal(
        (await api(caller, 'PUT', `/projects/${project}`, { metadata: { public: 'true' } })).status,
        403,
      );
      assert.equal((await api(caller, 'PUT', `/projects/${project}`, { public: true })).status, 403, who);
    }
    assert.equal(await isPublic(), 'false');
    assert.equal(await anonymousPull(), 401);
    assert.equal((await api(null, 'GET', `/projects/${project}`)).status, 401);
  });

  test('the metadata rights still cover the other switches', async () => {
    assert.equal((await api(mallory, 'POST', `${metadatas}/`, { auto_scan: 'true' })).status, 200);
    assert.equal((await api(robot, 'PUT', `${metadatas}/severity`, { severity: 'high' })).status, 200);
    const stored = (await api(mallory, 'GET', `${metadatas}/`)).json<Record<string, string>>();
    assert.equal(stored.auto_scan, 'true');
    assert.equal(stored.severity, 'high');
    assert.equal((await api(mallory, 'DELETE', `${metadatas}/severity`)).status, 200);
  });

  test('unknown keys and invalid values are refused with 400 on every route', async () => {
    const refused = [
      ['POST', `${metadatas}/`, { owner: 'mallory' }],
      ['POST', `${metadatas}/`, { auto_scan: 'yes' }],
      ['POST', `${metadatas}/`, { severity: 'catastrophic' }],
      ['POST', `${metadatas}/`, { prevent_vul: 'TRUE' }],
      ['POST', `${metadatas}/`, { proxy_speed_kb: 'fast' }],
      ['POST', `${metadatas}/`, { retention_id: '-3' }],
      ['PUT', `${metadatas}/owner`, { owner: 'mallory' }],
      ['PUT', `/projects/${project}`, { metadata: { owner: 'mallory' } }],
      ['POST', '/projects', { project_name: 'other', metadata: { owner: 'mallory' } }],
    ] as const;
    for (const [method, path, body] of refused) {
      const response = await api(testAdmin, method, path, body);
      assert.equal(response.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
      assert.equal(response.json<{ errors: { code: string }[] }>().errors[0]?.code, 'BAD_REQUEST');
    }
    assert.equal((await api(mallory, 'POST', `${metadatas}/`, { owner: 'mallory' })).status, 400);
    const stored = (await api(testAdmin, 'GET', `${metadatas}/`)).json<Record<string, string>>();
    assert.equal(stored.owner, undefined);
  });

  test('a single-key route changes only the key it names', async () => {
    const other = await api(testAdmin, 'PUT', `${metadatas}/auto_scan`, {
      auto_scan: 'false',
      public: 'true',
    });
    assert.equal(other.status, 400);
    assert.equal((await api(testAdmin, 'PUT', `${metadatas}/auto_scan`, { public: 'true' })).status, 400);
    assert.equal((await api(mallory, 'PUT', `${metadatas}/auto_scan`, { public: 'true' })).status, 400);
    assert.equal((await api(testAdmin, 'PUT', `${metadatas}/auto_scan`, {})).status, 400);
    assert.equal(await isPublic(), 'false');
    assert.equal((await api(testAdmin, 'PUT', `${metadatas}/auto_scan`, { auto_scan: 'false' })).status, 200);
  });

  test('a project admin (and a system administrator) may change visibility through metadatas', async () => {
    const opened = await api(paula, 'POST', `${metadatas}/`, { public: 'true' });
    assert.equal(opened.status, 200, opened.body.toString());
    assert.equal(await isPublic(), 'true');
    assert.equal(await anonymousPull(), 200);
    assert.equal((await api(paula, 'PUT', `${metadatas}/public`, { public: 'false' })).status, 200);
    assert.equal(await anonymousPull(), 401);
    assert.equal((await api(testAdmin, 'PUT', `${metadatas}/public`, { public: 'true' })).status, 200);
    assert.equal((await api(testAdmin, 'DELETE', `${metadatas}/public`)).status, 200);
    assert.equal(await anonymousPull(), 401);
  });

  test('metadata changes are audited under who made them', async () => {
    const entries = (await auditEntries(berth)).filter((entry) => entry.resource_type === 'project');
    assert.ok(entries.some((entry) => entry.username === 'paula' && entry.resource === project));
    assert.ok(entries.some((entry) => entry.username === 'mallory' && entry.resource === project));
  });
});
