import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiRequest } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { basicAuth, type Credentials, RegistryClient, sha256 } from '../helpers/http.ts';

/**
 * Harbor's repository, artifact and tag API over content pushed through /v2 with a real
 * client, and the registry's view of changes made through the API.
 */

const _admin = basicAuth(testAdmin);
const guest: Credentials = { username: 'content-guest', password: 'Content-Guest-1' };
const outsider: Credentials = { username: 'content-outsider', password: 'Content-Outsider-1' };

let berth: TestBerth;
let registry: RegistryClient;

/** The management API as `as` (the administrator unless told; null: anonymous). */
function api(method: string, path: string, options: { body?: unknown; as?: Credentials | null } = {}) {
  return apiRequest(berth, options.as === undefined ? testAdmin : options.as, method, path, options.body);
}

async function ok<T>(
  method: string,
  path: string,
  options: { body?: unknown; as?: Credentials | null } = {},
) {
  const response = await api(method, path, options);
  assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${response.body}`);
  return response.body.length > 0 ? response.json<T>() : (undefined as T);
}

interface Repository {
  id: number;
  project_id: number;
  name: string;
  description: string;
  artifact_count: number;
  pull_count: number;
  creation_time: string;
  update_time: string;
}

interface Tag {
  id: number;
  name: string;
  repository_id: number;
  artifact_id: number;
  immutable: boolean;
  push_time: string;
}

interface Artifact {
  id: number;
  type: string;
  media_type: string;
  manifest_media_type: string;
  project_id: number;
  repository_id: number;
  repository_name: string;
  digest: string;
  size: number;
  push_time: string;
  tags?: Tag[];
  references: {
    parent_id: number;
    child_id: number;
    child_digest: string;
    platform?: Record<string, string>;
  }[];
  extra_attrs: Record<string, unknown>;
  annotations: Record<string, string>;
  labels: unknown[];
  accessories?: { digest: string; subject_artifact_digest: string }[];
}

async function pushIndex(repository: string, tag: string, children: { digest: string; size: number }[]) {
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: children.map((child, position) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: child.digest,
      size: child.size,
      platform: { architecture: position === 0 ? 'amd64' : 'arm64', os: 'linux' },
    })),
  };
  const bytes = Buffer.from(JSON.stringify(index));
  const put = await registry.putManifest(repository, tag, bytes, index.mediaType);
  assert.equal(put.status, 201, put.body.toString());
  return { digest: sha256(bytes), size: bytes.length };
}

before(async () => {
  berth = await startTestBerth();
  registry = new RegistryClient(berth.url);
  await ok('POST', '/projects', { body: { project_name: 'shelf', metadata: { public: 'true' } } });
  await ok('POST', '/projects', { body: { project_name: 'vault', metadata: { public: 'false' } } });
  for (const user of [guest, outsider]) {
    await ok('POST', '/users', {
      body: {
        username: user.username,
        email: `${user.username}@example.com`,
        realname: user.username,
        password: user.password,
      },
    });
  }
  await ok('POST', '/projects/vault/members', {
    body: { role_id: 3, member_user: { username: guest.username } },
  });
});
after(() => berth.destroy());

describe('repositories', () => {
  before(async () => {
    for (const name of ['alpha', 'beta', 'team/gamma']) await registry.pushImage(`shelf/${name}`, 'v1');
    await registry.pushImage('vault/secret', 'v1');
  });

  it('lists a project’s repositories with Harbor’s fields and paging headers', async () => {
    const first = await api('GET', '/projects/shelf/repositories?page=1&page_size=2&sort=name');
    assert.equal(first.status, 200);
    assert.equal(first.header('x-total-count'), '3');
    assert.match(
      first.header('link') ?? '',
      /<\/api\/v2\.0\/projects\/shelf\/repositories\?page=2&page_size=2&sort=name>; rel="next"/,
    );
    const page = first.json<Repository[]>();
    assert.deepEqual(
      page.map((repository) => repository.name),
      ['shelf/alpha', 'shelf/beta'],
    );
    const project = await ok<{ project_id: number }>('GET', '/projects/shelf');
    for (const repository of page) {
      assert.equal(repository.project_id, project.project_id);
      assert.equal(repository.artifact_count, 1);
      assert.equal(repository.pull_count, 0);
      assert.equal(repository.description, '');
      assert.ok(Number.isInteger(repository.id) && repository.id > 0);
      assert.ok(!Number.isNaN(Date.parse(repository.creation_time)));
      assert.ok(Date.parse(repository.update_time) >= Date.parse(repository.creation_time));
    }
    const second = await api('GET', '/projects/shelf/repositories?page=2&page_size=2&sort=name');
    assert.deepEqual(
      second.json<Repository[]>().map((repository) => repository.name),
      ['shelf/team/gamma'],
    );
    assert.match(second.header('link') ?? '', /rel="prev"/);
    // Ids stay the same from one request to the next.
    const again = await ok<Repository[]>('GET', '/projects/shelf/repositories?sort=name');
    assert.deepEqual(
      again.slice(0, 2).map((repository) => repository.id),
      page.map((repository) => repository.id),
    );
  });

  it('filters by q=name=~ and sorts descending', async () => {
    const fuzzy = await ok<Repository[]>(
      'GET',
      `/projects/shelf/repositories?q=${encodeURIComponent('name=~gam')}`,
    );
    assert.deepEqual(
      fuzzy.map((repository) => repository.name),
      ['shelf/team/gamma'],
    );
    const sorted = await ok<Repository[]>('GET', '/projects/shelf/repositories?sort=-name');
    assert.deepEqual(
      sorted.map((repository) => repository.name),
      ['shelf/team/gamma', 'shelf/beta', 'shelf/alpha'],
    );
    assert.equal((await api('GET', '/projects/shelf/repositories?sort=colour')).status, 400);
    assert.equal((await api('GET', '/projects/shelf/repositories?q=colour=red')).status, 400);
  });

  it('reads one repository by a name with slashes encoded once or twice', async () => {
    for (const encoded of ['team%2Fgamma', 'team%252Fgamma']) {
      const repository = await ok<Repository>('GET', `/projects/shelf/repositories/${encoded}`);
      assert.equal(repository.name, 'shelf/team/gamma');
    }
    const missing = await api('GET', '/projects/shelf/repositories/nothing-here');
    assert.equal(missing.status, 404);
    assert.equal(missing.errorCode(), 'NOT_FOUND');
  });

  it('takes a project name of digits as a name, not an id', async () => {
    const shelf = await ok<{ project_id: number }>('GET', '/projects/shelf');
    const digits = String(shelf.project_id);
    await ok('POST', '/projects', { body: { project_name: digits, metadata: { public: 'true' } } });
    await registry.pushImage(`${digits}/numbered`, 'v1');
    const listed = await ok<Repository[]>('GET', `/projects/${digits}/repositories`);
    assert.deepEqual(
      listed.map((repository) => repository.name),
      [`${digits}/numbered`],
    );
    const artifacts = await ok<Artifact[]>('GET', `/projects/${digits}/repositories/numbered/artifacts`);
    assert.equal(artifacts.length, 1);
  });

  it('updates the description', async () => {
    await ok('PUT', '/projects/shelf/repositories/alpha', { body: { description: 'the first letter' } });
    const repository = await ok<Repository>('GET', '/projects/shelf/repositories/alpha');
    assert.equal(repository.description, 'the first letter');
    const refused = await api('PUT', '/projects/shelf/repositories/alpha', {
      body: { description: 'x' },
      as: null,
    });
    assert.equal(refused.status, 401);
  });

  it('lists every repository the caller may see under /repositories', async () => {
    const all = await ok<Repository[]>('GET', '/repositories?page_size=100');
    const names = all.map((repository) => repository.name);
    assert.ok(names.includes('vault/secret'));
    assert.ok(names.includes('shelf/alpha'));
    const anonymous = await ok<Repository[]>('GET', '/repositories?page_size=100', { as: null });
    assert.ok(anonymous.every((repository) => !repository.name.startsWith('vault/')));
    assert.ok(anonymous.length >= 3);
    const member = await ok<Repository[]>('GET', '/repositories?page_size=100&q=name%3D~secret', {
      as: guest,
    });
    assert.deepEqual(
      member.map((repository) => repository.name),
      ['vault/secret'],
    );
  });

  it('shows public content to anonymous callers and hides private projects without telling them apart', async () => {
    assert.equal((await api('GET', '/projects/shelf/repositories', { as: null })).status, 200);
    assert.equal((await api('GET', '/projects/shelf/repositories/beta', { as: null })).status, 200);
    assert.equal((await api('GET', '/projects/shelf/repositories/gone', { as: null })).status, 404);
    assert.equal((await api('GET', '/projects/shelf/repositories/beta/artifacts', { as: null })).status, 200);
    for (const project of ['vault', 'no-such-project']) {
      const anonymous = await api('GET', `/projects/${project}/repositories`, { as: null });
      assert.equal(anonymous.status, 401, project);
      const stranger = await api('GET', `/projects/${project}/repositories`, { as: outsider });
      assert.equal(stranger.status, 403, project);
      const artifacts = await api('GET', `/projects/${project}/repositories/secret/artifacts`, {
        as: outsider,
      });
      assert.equal(artifacts.status, 403, project);
    }
    assert.equal(
      (await api('GET', '/projects/vault/repositories/secret/artifacts', { as: guest })).status,
      200,
    );
  });

  it('deletes a repository with all its artifacts, which /v2 then no longer serves', async () => {
    await registry.pushImage('shelf/doomed', 'one');
    await registry.pushImage('shelf/doomed', 'two');
    const refused = await api('DELETE', '/projects/vault/repositories/secret', { as: guest });
    assert.equal(refused.status, 403);
    await ok('DELETE', '/projects/shelf/repositories/doomed');
    assert.equal((await api('GET', '/projects/shelf/repositories/doomed')).status, 404);
    const manifest = await registry.request('GET', '/v2/shelf/doomed/manifests/one');
    assert.equal(manifest.status, 404);
    assert.equal(manifest.errorCode(), 'MANIFEST_UNKNOWN');
    assert.equal((await api('DELETE', '/projects/shelf/repositories/doomed')).status, 404);
  });
});

describe('artifacts and tags', () => {
  let image: { digest: string; size: number };
  let arm: { digest: string; size: number };
  let index: { digest: string; size: number };

  before(async () => {
    image = await registry.pushImage('shelf/app', 'v1', { annotations: { 'org.example.note': 'hello' } });
    await registry.pushImage('shelf/app', 'v2');
    arm = await registry.pushImage('shelf/app', 'arm-only');
    index = await pushIndex('shelf/app', 'multi', [image, arm]);
    await registry.pushImage('shelf/app', 'chart', {
      configMediaType: 'application/vnd.cncf.helm.config.v1+json',
    });
  });

  it('lists top-level artifacts, newest first, with tags and paging', async () => {
    const response = await api('GET', '/projects/shelf/repositories/app/artifacts?page_size=2');
    assert.equal(response.status, 200);
    // v1 and arm-only are children of the index: not listed on their own, as in Harbor.
    assert.equal(response.header('x-total-count'), '3');
    assert.match(response.header('link') ?? '', /rel="next"/);
    const [chart, multi] = response.json<Artifact[]>();
    assert.equal(chart!.type, 'CHART');
    assert.equal(chart!.media_type, 'application/vnd.cncf.helm.config.v1+json');
    assert.equal(multi!.digest, index.digest);
    assert.equal(multi!.type, 'IMAGE');
    assert.equal(multi!.manifest_media_type, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      multi!.tags!.map((tag) => tag.name),
      ['multi'],
    );
    assert.deepEqual(
      multi!.references.map((reference) => [reference.child_digest, reference.platform?.architecture]),
      [
        [image.digest, 'amd64'],
        [arm.digest, 'arm64'],
      ],
    );
    assert.ok(
      multi!.references.every((reference) => reference.parent_id === multi!.id && reference.child_id > 0),
    );
    assert.ok(multi!.size > index.size + image.size + arm.size);
    const all = await ok<Artifact[]>(
      'GET',
      '/projects/shelf/repositories/app/artifacts?q=base%3D*&page_size=10',
    );
    assert.equal(all.length, 5);
  });

  it('reads an artifact by tag or digest with Harbor’s fields', async () => {
    const byTag = await ok<Artifact>('GET', '/projects/shelf/repositories/app/artifacts/v1');
    const byDigest = await ok<Artifact>('GET', `/projects/shelf/repositories/app/artifacts/${image.digest}`);
    assert.deepEqual(byTag, byDigest);
    assert.equal(byTag.digest, image.digest);
    assert.equal(byTag.type, 'IMAGE');
    assert.equal(byTag.media_type, 'application/vnd.oci.image.config.v1+json');
    assert.equal(byTag.manifest_media_type, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(byTag.repository_name, 'shelf/app');
    assert.deepEqual(byTag.annotations, { 'org.example.note': 'hello' });
    assert.equal(byTag.extra_attrs.architecture, 'amd64');
    assert.equal(byTag.extra_attrs.os, 'linux');
    assert.deepEqual(byTag.labels, []);
    assert.deepEqual(byTag.references, []);
    const repository = await ok<Repository>('GET', '/projects/shelf/repositories/app');
    assert.equal(byTag.repository_id, repository.id);
    assert.equal(byTag.project_id, repository.project_id);
    assert.equal(byTag.tags![0]!.artifact_id, byTag.id);
    assert.equal(byTag.tags![0]!.repository_id, repository.id);
    assert.equal(byTag.tags![0]!.immutable, false);
    const withoutTags = await ok<Artifact>(
      'GET',
      '/projects/shelf/repositories/app/artifacts/v1?with_tag=false',
    );
    assert.equal(withoutTags.tags, undefined);
    const missing = await api('GET', '/projects/shelf/repositories/app/artifacts/nope');
    assert.equal(missing.status, 404);
    const references = await ok<unknown[]>(
      'GET',
      '/projects/shelf/repositories/app/artifacts/multi/references',
    );
    assert.equal(references.length, 2);
  });

  it('filters artifacts with q', async () => {
    const get = (q: string) =>
      ok<Artifact[]>('GET', `/projects/shelf/repositories/app/artifacts?q=${encodeURIComponent(q)}`);
    assert.deepEqual(
      (await get('tags=v2')).map((artifact) => artifact.tags![0]!.name),
      ['v2'],
    );
    assert.equal((await get('type=CHART')).length, 1);
    assert.equal((await get(`digest=${index.digest}`)).length, 1);
    assert.equal((await get('tags=~mul')).length, 1);
    assert.equal((await get('tags=*')).length, 3);
    const future = new Date(Date.now() + 3600_000).toISOString();
    assert.equal((await get(`push_time=[${future}~]`)).length, 0);
    assert.equal((await api('GET', '/projects/shelf/repositories/app/artifacts?q=colour=red')).status, 400);
  });

  it('creates and deletes tags, as /v2 sees them', async () => {
    const created = await api('POST', '/projects/shelf/repositories/app/artifacts/v2/tags', {
      body: { name: 'stable' },
    });
    assert.equal(created.status, 201, created.body.toString());
    const tags = await registry.request('GET', '/v2/shelf/app/tags/list');
    assert.ok(tags.json<{ tags: string[] }>().tags.includes('stable'));
    const v2 = await registry.request('GET', '/v2/shelf/app/manifests/v2');
    const stable = await registry.request('GET', '/v2/shelf/app/manifests/stable');
    assert.equal(stable.header('docker-content-digest'), v2.header('docker-content-digest'));

    const listed = await api('GET', '/projects/shelf/repositories/app/artifacts/v2/tags?sort=name');
    assert.equal(listed.header('x-total-count'), '2');
    assert.deepEqual(
      listed.json<Tag[]>().map((tag) => tag.name),
      ['stable', 'v2'],
    );

    const duplicate = await api('POST', '/projects/shelf/repositories/app/artifacts/v1/tags', {
      body: { name: 'stable' },
    });
    assert.equal(duplicate.status, 409);
    const invalid = await api('POST', '/projects/shelf/repositories/app/artifacts/v1/tags', {
      body: { name: '-bad' },
    });
    assert.equal(invalid.status, 400);
    const anonymous = await api('POST', '/projects/shelf/repositories/app/artifacts/v1/tags', {
      body: { name: 'anon' },
      as: null,
    });
    assert.equal(anonymous.status, 401);

    // A tag is removed only through the artifact it points at.
    assert.equal(
      (await api('DELETE', '/projects/shelf/repositories/app/artifacts/v1/tags/stable')).status,
      404,
    );
    await ok('DELETE', '/projects/shelf/repositories/app/artifacts/v2/tags/stable');
    const after = await registry.request('GET', '/v2/shelf/app/tags/list');
    assert.ok(!after.json<{ tags: string[] }>().tags.includes('stable'));
    assert.equal((await registry.request('GET', '/v2/shelf/app/manifests/stable')).status, 404);
  });

  it('refuses to delete an index’s child, then deletes artifacts and their accessories', async () => {
    const child = await api('DELETE', `/projects/shelf/repositories/app/artifacts/${image.digest}`);
    assert.equal(child.status, 412);

    const subject = await registry.pushImage('shelf/app', 'signed');
    const signature = await registry.pushImage('shelf/app', 'sig', {
      artifactType: 'application/vnd.example.signature',
      configMediaType: 'application/vnd.oci.empty.v1+json',
      subject: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: subject.digest,
        size: subject.size,
      },
    });
    const withAccessories = await ok<Artifact>(
      'GET',
      '/projects/shelf/repositories/app/artifacts/signed?with_accessory=true',
    );
    assert.deepEqual(
      withAccessories.accessories!.map((accessory) => accessory.digest),
      [signature.digest],
    );
    await ok('DELETE', '/projects/shelf/repositories/app/artifacts/signed');
    for (const digest of [subject.digest, signature.digest]) {
      const gone = await registry.request('GET', `/v2/shelf/app/manifests/${digest}`);
      assert.equal(gone.status, 404);
      assert.equal(gone.errorCode(), 'MANIFEST_UNKNOWN');
    }

    await ok('DELETE', '/projects/shelf/repositories/app/artifacts/multi');
    assert.equal((await registry.request('GET', `/v2/shelf/app/manifests/${index.digest}`)).status, 404);
    // With the index gone, its children are artifacts of their own.
    await ok('DELETE', `/projects/shelf/repositories/app/artifacts/${image.digest}`);
    const gone = await registry.request('GET', '/v2/shelf/app/manifests/v1');
    assert.equal(gone.status, 404);
    assert.equal(gone.errorCode(), 'MANIFEST_UNKNOWN');
    assert.equal((await api('GET', '/projects/shelf/repositories/app/artifacts/v1')).status, 404);
  });

  it('deletes an index’s untagged children with it, and keeps tagged ones', async () => {
    const untagged = await registry.pushImage('shelf/nest', 'temporary');
    await ok('DELETE', '/projects/shelf/repositories/nest/artifacts/temporary/tags/temporary');
    const tagged = await registry.pushImage('shelf/nest', 'keep');
    const parent = await pushIndex('shelf/nest', 'both', [untagged, tagged]);
    const listed = await ok<Artifact[]>('GET', '/projects/shelf/repositories/nest/artifacts');
    assert.deepEqual(
      listed.map((artifact) => artifact.digest),
      [parent.digest],
    );
    await ok('DELETE', '/projects/shelf/repositories/nest/artifacts/both');
    assert.equal((await registry.request('GET', `/v2/shelf/nest/manifests/${untagged.digest}`)).status, 404);
    assert.equal((await registry.request('GET', `/v2/shelf/nest/manifests/${tagged.digest}`)).status, 200);
    const left = await ok<Artifact[]>('GET', '/projects/shelf/repositories/nest/artifacts');
    assert.deepEqual(
      left.map((artifact) => artifact.digest),
      [tagged.digest],
    );
  });

  it('lets only callers with the right role delete', async () => {
    await registry.pushImage('vault/kept', 'v1');
    const asGuest = await api('DELETE', '/projects/vault/repositories/kept/artifacts/v1', { as: guest });
    assert.equal(asGuest.status, 403);
    const asAnonymous = await api('DELETE', '/projects/shelf/repositories/app/artifacts/v2', { as: null });
    assert.equal(asAnonymous.status, 401);
    assert.equal(
      (await api('GET', '/projects/vault/repositories/kept/artifacts/v1', { as: guest })).status,
      200,
    );
    assert.equal(
      (await api('GET', '/projects/vault/repositories/kept/artifacts/v1', { as: null })).status,
      401,
    );
  });
});
