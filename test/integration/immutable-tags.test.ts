import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ApiCaller, apiRequest } from '../helpers/api.ts';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { ContainersSandbox } from '../helpers/containers.ts';
import { alpineLayout, alpineManifestDigest } from '../helpers/fixtures.ts';
import { type Credentials, RegistryClient } from '../helpers/http.ts';
import { readLayoutBlob } from '../helpers/oci-layout.ts';
import { missingTools } from '../helpers/tools.ts';

/**
 * Harbor's immutable tag rules over real HTTP: the rules API and its permissions, and a tag the
 * rules protect refusing `skopeo copy` over it and every way of deleting it.
 */

interface Selector {
  kind: string;
  decoration: string;
  pattern: string;
}

interface TagStatus {
  name: string;
  immutable: boolean;
}

interface Rule {
  id: number;
  priority: number;
  disabled: boolean;
  action: string;
  template: string;
  tag_selectors: Selector[];
  scope_selectors: Record<string, Selector[]>;
}

const password = 'Immutable-Pass-1';
const project = 'immu';

function ruleBody(repository: [string, string], tag: [string, string], extra: Partial<Rule> = {}) {
  return {
    action: 'immutable',
    template: 'immutable_template',
    priority: 0,
    disabled: false,
    tag_selectors: [{ kind: 'doublestar', decoration: tag[0], pattern: tag[1] }],
    scope_selectors: {
      repository: [{ kind: 'doublestar', decoration: repository[0], pattern: repository[1] }],
    },
    ...extra,
  };
}

describe('immutable tag rules', { skip: missingTools('skopeo') }, () => {
  let berth: TestBerth;
  let host: string;
  let box: ContainersSandbox;
  let projectId: number;
  let registry: RegistryClient;
  const api = (caller: ApiCaller, method: string, path: string, body?: unknown) =>
    apiRequest(berth, caller, method, path, body);
  const as = (username: string): Credentials => ({ username, password });
  const rules = `/projects/${project}/immutabletagrules`;

  async function createRule(body: unknown, caller: ApiCaller = as('maint')): Promise<number> {
    const response = await api(caller, 'POST', rules, body);
    assert.equal(response.status, 201, response.body.toString());
    const location = response.header('location') ?? '';
    assert.match(location, new RegExp(`^/api/v2\\.0${rules}/\\d+$`));
    return Number(location.split('/').at(-1));
  }

  async function listRules(name = project): Promise<Rule[]> {
    const response = await api(as('maint'), 'GET', `/projects/${name}/immutabletagrules`);
    assert.equal(response.status, 200, response.body.toString());
    return response.json() as Rule[];
  }

  /** `skopeo copy` as the maintainer; the error text when it fails. */
  async function copy(source: string, destination: string): Promise<string | undefined> {
    try {
      await box.skopeo('copy', '--src-tls-verify=false', '--dest-tls-verify=false', source, destination);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  async function tagDigest(repository: string, tag: string): Promise<string | undefined> {
    const response = await registry.request('HEAD', `/v2/${repository}/manifests/${tag}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    return response.status === 200 ? response.header('docker-content-digest') : undefined;
  }

  before(async () => {
    berth = await startTestBerth();
    host = new URL(berth.url).host;
    registry = new RegistryClient(berth.url);
    const created = await api(testAdmin, 'POST', '/projects', {
      project_name: project,
      metadata: { public: 'false' },
    });
    assert.equal(created.status, 201);
    projectId = Number(created.header('location')?.split('/').at(-1));
    for (const [username, roleId] of [
      ['maint', 4],
      ['dev', 2],
      ['guest', 3],
    ] as const) {
      const user = await api(testAdmin, 'POST', '/users', {
        username,
        email: `${username}@example.com`,
        realname: username,
        password,
      });
      assert.equal(user.status, 201);
      const member = await api(testAdmin, 'POST', `/projects/${project}/members`, {
        role_id: roleId,
        member_user: { username },
      });
      assert.equal(member.status, 201);
    }
    box = await ContainersSandbox.create(join(await makeTempDir('berth-immutable-'), 'containers'));
    await box.skopeo('login', '--tls-verify=false', '-u', 'maint', '-p', password, host);
  });
  after(() => berth?.destroy());

  test('maintainers manage rules; guests, developers and anonymous callers are refused', async () => {
    const body = ruleBody(['repoMatches', 'crud/**'], ['matches', 'v{1,2}.*']);
    assert.equal((await api(null, 'GET', rules)).status, 401);
    for (const username of ['guest', 'dev']) {
      assert.equal((await api(as(username), 'GET', rules)).status, 403, username);
      assert.equal((await api(as(username), 'POST', rules, body)).status, 403, username);
    }

    const id = await createRule(body);
    const [listed] = await listRules();
    assert.deepEqual(listed, { id, ...body, params: {} });
    // By project id too, as Harbor's {project_name_or_id} allows.
    const byId = await api(as('maint'), 'GET', `/projects/${projectId}/immutabletagrules`);
    assert.equal(byId.status, 200);
    assert.equal(byId.header('x-total-count'), '1');

    assert.equal((await api(as('guest'), 'PUT', `${rules}/${id}`, { ...body, id })).status, 403);
    assert.equal((await api(as('guest'), 'DELETE', `${rules}/${id}`)).status, 403);

    // The same rule twice is a conflict, as in Harbor.
    const duplicate = await api(as('maint'), 'POST', rules, body);
    assert.equal(duplicate.status, 409);
    assert.match(duplicate.body.toString(), /immutable rule already exists/);

    const mismatched = await api(as('maint'), 'PUT', `${rules}/${id}`, { ...body, id: id + 100 });
    assert.equal(mismatched.status, 400);
    assert.match(mismatched.body.toString(), /doesn't match the id in the payload/);
    const disabled = await api(as('maint'), 'PUT', `${rules}/${id}`, { ...body, id, disabled: true });
    assert.equal(disabled.status, 200, disabled.body.toString());
    assert.equal((await listRules())[0]!.disabled, true);
    assert.equal((await api(as('maint'), 'PUT', `${rules}/9999`, { ...body, id: 9999 })).status, 404);

    assert.equal((await api(as('maint'), 'DELETE', `${rules}/${id}`)).status, 200);
    assert.equal((await api(as('maint'), 'DELETE', `${rules}/${id}`)).status, 404);
    assert.deepEqual(await listRules(), []);

    const openapi = (await api(null, 'GET', '/openapi.json')).json() as { paths: Record<string, object> };
    const verbs = (path: string) => Object.keys(openapi.paths[path] ?? {}).sort();
    assert.deepEqual(verbs('/projects/{project_name_or_id}/immutabletagrules'), ['get', 'post']);
    assert.deepEqual(verbs('/projects/{project_name_or_id}/immutabletagrules/{immutable_rule_id}'), [
      'delete',
      'put',
    ]);
  });

  test('bad rules get a 400 that says what is wrong', async () => {
    for (const [body, message] of [
      [ruleBody(['repoMatches', '**'], ['matches', 'v[1-']), /character class/],
      [ruleBody(['repoMatches', '{a,b'], ['matches', '**']), /unclosed \{/],
      [ruleBody(['matches', '**'], ['matches', '**']), /decoration "matches"/],
      [{ ...ruleBody(['repoMatches', '**'], ['matches', '**']), action: 'retain' }, /unsupported action/],
      [{ ...ruleBody(['repoMatches', '**'], ['matches', '**']), scope_selectors: {} }, /repository selector/],
    ] as const) {
      const response = await api(as('maint'), 'POST', rules, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match((response.json() as { errors: { message: string }[] }).errors[0]!.message, message);
    }
  });

  test('a project holds at most 15 rules', async () => {
    const created = await api(testAdmin, 'POST', '/projects', { project_name: 'many', metadata: {} });
    assert.equal(created.status, 201);
    const path = '/projects/many/immutabletagrules';
    for (let index = 0; index < 15; index++) {
      const response = await api(
        testAdmin,
        'POST',
        path,
        ruleBody(['repoMatches', '**'], ['matches', `v${index}`]),
      );
      assert.equal(response.status, 201, response.body.toString());
    }
    const sixteenth = await api(testAdmin, 'POST', path, ruleBody(['repoMatches', '**'], ['matches', 'v15']));
    assert.equal(sixteenth.status, 400);
    assert.match(sixteenth.body.toString(), /15 immutable tag rules/);
  });

  test('a protected tag cannot be overwritten by skopeo copy nor deleted; other tags can', async () => {
    const repository = `${project}/base/alpine`;
    const alpine = `oci:${alpineLayout()}:v2`;
    assert.equal(await copy(alpine, `docker://${host}/${repository}:3.17.2`), undefined);
    assert.equal(await copy(alpine, `docker://${host}/${repository}:latest`), undefined);
    const other = await registry.pushImage(repository, 'other');

    // The repository is matched without the project's name, as Harbor matches it.
    const ruleId = await createRule(ruleBody(['repoMatches', 'base/**'], ['matches', '{3.*,stable}']));

    // Harbor's `immutable` tag status, on artifacts and on tag lists.
    const encoded = encodeURIComponent(encodeURIComponent('base/alpine'));
    const content = `/projects/${project}/repositories/${encoded}`;
    const statuses = async (path: string) => {
      const response = await api(as('guest'), 'GET', `${content}${path}`);
      assert.equal(response.status, 200, response.body.toString());
      const json = response.json() as { tags?: TagStatus[] } | TagStatus[];
      const tags = Array.isArray(json) ? json : (json.tags ?? []);
      return Object.fromEntries(tags.map((tag) => [tag.name, tag.immutable]));
    };
    assert.deepEqual(await statuses('/artifacts/latest?with_immutable_status=true'), {
      '3.17.2': true,
      latest: false,
    });
    assert.deepEqual(await statuses(`/artifacts/${alpineManifestDigest}/tags?with_immutable_status=true`), {
      '3.17.2': true,
      latest: false,
    });
    assert.deepEqual(await statuses('/artifacts/latest'), { '3.17.2': false, latest: false });

    const refused = await copy(
      `docker://${host}/${repository}:other`,
      `docker://${host}/${repository}:3.17.2`,
    );
    assert.ok(refused, 'skopeo copy over the immutable tag succeeded');
    assert.match(refused, /denied/);
    assert.match(
      refused,
      new RegExp(`'base/alpine:3\\.17\\.2' configured as immutable \\(immutable tag rule ${ruleId}\\)`),
    );
    assert.equal(await tagDigest(repository, '3.17.2'), alpineManifestDigest);

    // Harbor refuses any push to an existing immutable tag, the same content included.
    const same = await registry.putManifest(
      repository,
      '3.17.2',
      await readLayoutBlob(alpineLayout(), alpineManifestDigest),
      'application/vnd.oci.image.manifest.v1+json',
    );
    assert.equal(same.status, 412);
    assert.equal((same.json() as { errors: { code: string }[] }).errors[0]!.code, 'DENIED');

    // A matching tag that does not exist yet may be created once, then no more.
    assert.equal(
      await copy(`docker://${host}/${repository}:other`, `docker://${host}/${repository}:stable`),
      undefined,
    );
    assert.match(
      (await copy(alpine, `docker://${host}/${repository}:stable`)) ?? '',
      /configured as immutable/,
    );

    // Tags and repositories the rule does not match stay mutable.
    assert.equal(
      await copy(`docker://${host}/${repository}:other`, `docker://${host}/${repository}:latest`),
      undefined,
    );
    assert.equal(await tagDigest(repository, 'latest'), other.digest);
    assert.equal(await copy(alpine, `docker://${host}/${project}/elsewhere:3.17.2`), undefined);
    assert.equal(
      await copy(`docker://${host}/${repository}:other`, `docker://${host}/${project}/elsewhere:3.17.2`),
      undefined,
    );

    // /v2 deletes: by the tag, and by the digest that carries it.
    for (const reference of ['3.17.2', alpineManifestDigest]) {
      const response = await registry.request('DELETE', `/v2/${repository}/manifests/${reference}`);
      assert.equal(response.status, 412, reference);
      const error = (response.json() as { errors: { code: string; message: string }[] }).errors[0]!;
      assert.equal(error.code, 'DENIED');
      assert.match(error.message, /configured as immutable/);
    }

    // The management API: tag, artifact and repository deletes are Harbor's 412 PRECONDITION.
    for (const path of [
      `${content}/artifacts/${alpineManifestDigest}/tags/3.17.2`,
      `${content}/artifacts/3.17.2`,
      content,
    ]) {
      const response = await api(as('maint'), 'DELETE', path);
      assert.equal(response.status, 412, path);
      const error = (response.json() as { errors: { code: string; message: string }[] }).errors[0]!;
      assert.equal(error.code, 'PRECONDITION');
      assert.match(error.message, /the tag (3\.17\.2|stable) configured as immutable, cannot be deleted/);
    }
    assert.equal(await tagDigest(repository, '3.17.2'), alpineManifestDigest);

    // A tag the rule does not protect is still deleted.
    assert.equal((await registry.request('DELETE', `/v2/${repository}/manifests/latest`)).status, 202);

    // Disabled, the rule protects nothing, at once (the cache is invalidated).
    const rule = (await listRules()).find((candidate) => candidate.id === ruleId)!;
    const disable = await api(as('maint'), 'PUT', `${rules}/${ruleId}`, { ...rule, disabled: true });
    assert.equal(disable.status, 200, disable.body.toString());
    assert.equal(
      await copy(`docker://${host}/${repository}:other`, `docker://${host}/${repository}:3.17.2`),
      undefined,
    );
    assert.equal(await tagDigest(repository, '3.17.2'), other.digest);
    assert.equal((await registry.request('DELETE', `/v2/${repository}/manifests/stable`)).status, 202);

    // Enabled again, it protects again.
    assert.equal(
      (await api(as('maint'), 'PUT', `${rules}/${ruleId}`, { ...rule, disabled: false })).status,
      200,
    );
    assert.match(
      (await copy(alpine, `docker://${host}/${repository}:3.17.2`)) ?? '',
      /configured as immutable/,
    );
  });

  test('excluding selectors protect everything else', async () => {
    const repository = `${project}/excl`;
    await registry.pushImage(repository, 'dev-1');
    await registry.pushImage(repository, 'v1');
    await createRule(ruleBody(['repoMatches', 'excl'], ['excludes', 'dev-*']));
    const replacement = await registry.pushImage(repository, 'replacement');
    const moved = await registry.putManifest(repository, 'dev-1', replacement.bytes);
    assert.equal(moved.status, 201);
    const refused = await registry.putManifest(repository, 'v1', replacement.bytes);
    assert.equal(refused.status, 412);
  });
});
