import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiCaller, apiRequest, auditEntries } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { RegistryClient } from '../helpers/http.ts';

/** /api/v2.0/projects over real HTTP: create, list, look up, change visibility, delete. */

interface Project {
  project_id: number;
  name: string;
  owner_name: string;
  repo_count: number;
  current_user_role_id: number;
  metadata: Record<string, string>;
}

describe('/projects', () => {
  let berth: TestBerth;
  const user = { username: 'pat', password: 'Pat-Pass-123' };
  const api = (
    caller: ApiCaller,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => apiRequest(berth, caller, method, path, body, headers);

  async function createProject(
    name: string,
    isPublic = false,
    caller: ApiCaller = testAdmin,
  ): Promise<number> {
    const response = await api(caller, 'POST', '/projects', {
      project_name: name,
      metadata: { public: String(isPublic) },
    });
    assert.equal(response.status, 201, response.body.toString());
    return Number(response.header('location')?.split('/').at(-1));
  }

  before(async () => {
    berth = await startTestBerth();
    const created = await api(testAdmin, 'POST', '/users', {
      username: user.username,
      email: 'pat@example.com',
      realname: 'Pat',
      password: user.password,
    });
    assert.equal(created.status, 201);
  });
  after(() => berth?.destroy());

  test('POST creates a project (201 with Location) and refuses bad names and duplicates', async () => {
    const response = await api(testAdmin, 'POST', '/projects', {
      project_name: 'alpha',
      metadata: { public: 'false' },
    });
    assert.equal(response.status, 201);
    assert.match(response.header('location') ?? '', /^\/api\/v2\.0\/projects\/\d+$/);
    const byName = await api(
      testAdmin,
      'POST',
      '/projects',
      { project_name: 'alpha-named' },
      {
        'x-resource-name-in-location': 'true',
      },
    );
    assert.equal(byName.header('location'), '/api/v2.0/projects/alpha-named');
    assert.equal((await api(testAdmin, 'POST', '/projects', { project_name: 'alpha' })).status, 409);
    assert.equal((await api(testAdmin, 'POST', '/projects', { project_name: 'Bad Name' })).status, 400);
    assert.equal((await api(testAdmin, 'POST', '/projects', {})).status, 400);
    assert.equal(
      (await api(testAdmin, 'POST', '/projects', { project_name: 'beta', metadata: { public: 'maybe' } }))
        .status,
      400,
    );
    assert.equal((await api(null, 'POST', '/projects', { project_name: 'anon' })).status, 401);
  });

  test('a user creates a project and becomes its project admin', async () => {
    const id = await createProject('pats', false, user);
    const project = (await api(user, 'GET', `/projects/${id}`)).json<Project>();
    assert.equal(project.name, 'pats');
    assert.equal(project.owner_name, 'pat');
    assert.equal(project.current_user_role_id, 1);
  });

  test('GET finds a project by id or by name; private ones stay hidden', async () => {
    const id = await createProject('gamma');
    const byId = await api(testAdmin, 'GET', `/projects/${id}`);
    assert.equal(byId.status, 200);
    assert.equal(byId.json<Project>().name, 'gamma');
    assert.equal(byId.json<Project>().metadata.public, 'false');
    assert.equal((await api(testAdmin, 'GET', '/projects/gamma')).json<Project>().project_id, id);
    assert.equal(
      (await api(testAdmin, 'GET', `/projects/${id}`, undefined, { 'x-is-resource-name': 'true' })).status,
      404,
    );
    assert.equal((await api(user, 'GET', '/projects/gamma')).status, 403);
    assert.equal((await api(null, 'GET', '/projects/gamma')).status, 401);
    assert.equal((await api(testAdmin, 'GET', '/projects/99999')).status, 404);
  });

  test('GET /projects lists what the caller may see, with paging headers and filters', async () => {
    await createProject('list-a', true);
    await createProject('list-b');
    await createProject('list-c', true);
    const page = await api(testAdmin, 'GET', '/projects?name=list-&page_size=2');
    assert.equal(page.status, 200);
    assert.equal(page.header('x-total-count'), '3');
    assert.deepEqual(
      page.json<Project[]>().map((project) => project.name),
      ['list-a', 'list-b'],
    );
    assert.match(page.header('link') ?? '', /rel="next"/);
    const anonymous = await api(null, 'GET', '/projects?name=list-');
    assert.deepEqual(
      anonymous.json<Project[]>().map((project) => project.name),
      ['list-a', 'list-c'],
    );
    const publicOnly = await api(testAdmin, 'GET', '/projects?q=name%3D~list-&public=false');
    assert.deepEqual(
      publicOnly.json<Project[]>().map((project) => project.name),
      ['list-b'],
    );
  });

  test('PUT changes metadata: making a project public opens it to pulls at once', async () => {
    const id = await createProject('delta');
    await new RegistryClient(berth.url).pushImage('delta/app', 'v1');
    const anonymous = new RegistryClient(berth.url, null);
    assert.equal((await anonymous.request('GET', '/v2/delta/app/manifests/v1')).status, 401);
    assert.equal((await api(user, 'PUT', `/projects/${id}`, { metadata: { public: 'true' } })).status, 403);
    const changed = await api(testAdmin, 'PUT', `/projects/${id}`, { metadata: { public: 'true' } });
    assert.equal(changed.status, 200, changed.body.toString());
    assert.equal((await api(null, 'GET', `/projects/${id}`)).json<Project>().metadata.public, 'true');
    const pulled = await anonymous.request('GET', '/v2/delta/app/manifests/v1', {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(pulled.status, 200);
    assert.equal(
      (await api(testAdmin, 'PUT', `/projects/${id}`, { metadata: { public: 'yes' } })).status,
      400,
    );
    assert.equal((await api(testAdmin, 'PUT', `/projects/${id}`, { public: false })).status, 200);
    assert.equal((await api(testAdmin, 'GET', `/projects/${id}`)).json<Project>().metadata.public, 'false');
    assert.equal((await api(testAdmin, 'GET', `/projects/${id}`)).json<Project>().repo_count, 1);
  });

  test('HEAD ?project_name= tells whether a name is taken', async () => {
    await createProject('epsilon');
    assert.equal((await api(user, 'HEAD', '/projects?project_name=epsilon')).status, 200);
    assert.equal((await api(user, 'HEAD', '/projects?project_name=no-such')).status, 404);
    assert.equal((await api(null, 'HEAD', '/projects?project_name=epsilon')).status, 401);
  });

  test('DELETE removes an empty project; one with repositories is refused with 412', async () => {
    const id = await createProject('zeta');
    assert.equal((await api(user, 'DELETE', `/projects/${id}`)).status, 403);
    assert.equal(
      (await api(testAdmin, 'GET', `/projects/${id}/_deletable`)).json<{ deletable: boolean }>().deletable,
      true,
    );
    assert.equal((await api(testAdmin, 'DELETE', `/projects/${id}`)).status, 200);
    assert.equal((await api(testAdmin, 'GET', `/projects/${id}`)).status, 404);
    assert.equal((await api(testAdmin, 'HEAD', '/projects?project_name=zeta')).status, 404);

    const busy = await createProject('eta');
    await new RegistryClient(berth.url).pushImage('eta/app', 'v1');
    const deletable = (await api(testAdmin, 'GET', `/projects/${busy}/_deletable`)).json<{
      deletable: boolean;
    }>();
    assert.equal(deletable.deletable, false);
    assert.equal((await api(testAdmin, 'DELETE', `/projects/${busy}`)).status, 412);
  });

  test('creations, metadata changes and deletions are audited', async () => {
    const entries = (await auditEntries(berth)).filter((entry) => entry.resource_type === 'project');
    const has = (operation: string, resource: string, username = 'admin') =>
      entries.some(
        (entry) =>
          entry.operation === operation &&
          entry.resource === resource &&
          entry.username === username &&
          entry.result === 'success',
      );
    assert.ok(has('create', 'pats', 'pat'));
    assert.ok(has('update', 'delta'));
    assert.ok(has('delete', 'zeta'));
  });
});
