import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqliteDatabase } from '../../src/db/sqlite.ts';
import { apiRequest } from '../helpers/api.ts';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { basicAuth, type Credentials, RegistryClient } from '../helpers/http.ts';

/**
 * Harbor's audit log API over events that real requests caused: pushes through /v2, and tag,
 * artifact and repository changes through /api/v2.0.
 */

const _admin = basicAuth(testAdmin);
const member: Credentials = { username: 'ledger-guest', password: 'Ledger-Guest-1' };
const outsider: Credentials = { username: 'ledger-outsider', password: 'Ledger-Outsider-1' };

interface AuditLog {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  op_time: string;
}

let berth: TestBerth;
let registry: RegistryClient;
let started: number;

/** The management API as `as` (the administrator unless told; null: anonymous). */
function api(method: string, path: string, options: { body?: unknown; as?: Credentials | null } = {}) {
  return apiRequest(berth, options.as === undefined ? testAdmin : options.as, method, path, options.body);
}

async function ok(method: string, path: string, options: { body?: unknown; as?: Credentials | null } = {}) {
  const response = await api(method, path, options);
  assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${response.body}`);
  return response;
}

function logs(path: string, q: string, extra = '', as?: Credentials) {
  return api('GET', `${path}?q=${encodeURIComponent(q)}&page_size=100${extra}`, { as });
}

/** The log is written in batches a moment later: ask until `count` entries match, or give up. */
async function waitForLogs(q: string, count: number): Promise<AuditLog[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const response = await logs('/audit-logs', q);
    assert.equal(response.status, 200, response.body.toString());
    const found = response.json<AuditLog[]>();
    if (found.length >= count) return found;
    await sleep(100);
  }
  assert.fail(`fewer than ${count} audit entries for ${q}`);
}

before(async () => {
  berth = await startTestBerth();
  registry = new RegistryClient(berth.url);
  started = Date.now();
  for (const project of ['ledger', 'elsewhere']) {
    await ok('POST', '/projects', { body: { project_name: project, metadata: { public: 'false' } } });
  }
  for (const user of [member, outsider]) {
    await ok('POST', '/users', {
      body: {
        username: user.username,
        email: `${user.username}@example.com`,
        realname: 'x',
        password: user.password,
      },
    });
  }
  await ok('POST', '/projects/ledger/members', {
    body: { role_id: 3, member_user: { username: member.username } },
  });

  await registry.pushImage('ledger/app', 'v1');
  await registry.pushImage('ledger/app', 'v2');
  await registry.pushImage('ledger/tools', 'v1');
  await registry.pushImage('elsewhere/app', 'v1');
  await ok('POST', '/projects/ledger/repositories/app/artifacts/v1/tags', { body: { name: 'release' } });
  await ok('DELETE', '/projects/ledger/repositories/app/artifacts/v1/tags/release');
  await ok('DELETE', '/projects/ledger/repositories/app/artifacts/v2');
  await ok('DELETE', '/projects/ledger/repositories/tools');
});
after(() => berth.destroy());

describe('audit logs', () => {
  it('records tag, artifact and repository changes made through the API', async () => {
    const tags = await waitForLogs('resource_type=tag', 2);
    assert.deepEqual(
      tags.map((entry) => [entry.operation, entry.resource, entry.username]),
      [
        ['delete', 'ledger/app:release', 'admin'],
        ['create', 'ledger/app:release', 'admin'],
      ],
    );
    const repositories = await waitForLogs('resource_type=repository,operation=delete', 1);
    assert.deepEqual(
      repositories.map((entry) => entry.resource),
      ['ledger/tools'],
    );
    const artifacts = await waitForLogs('resource_type=artifact,operation=delete', 1);
    assert.match(artifacts[0]!.resource, /^ledger\/app@sha256:[0-9a-f]{64}$/);
    for (const entry of [...tags, ...repositories, ...artifacts]) {
      assert.ok(Number.isInteger(entry.id));
      const time = Date.parse(entry.op_time);
      assert.ok(time >= started - 1000 && time <= Date.now() + 1000, entry.op_time);
    }
  });

  it('filters by fuzzy resource, exact username, operation lists and time ranges', async () => {
    await waitForLogs('resource_type=repository,operation=delete', 1);
    const pushes = await logs('/audit-logs', 'operation=create,resource=~ledger/app');
    const resources = pushes.json<AuditLog[]>().map((entry) => entry.resource);
    assert.ok(resources.includes('ledger/app:v1'));
    assert.ok(resources.includes('ledger/app:v2'));
    assert.ok(resources.includes('ledger/app:release'));
    assert.ok(resources.every((resource) => resource.toLowerCase().includes('ledger/app')));

    const nobody = await logs('/audit-logs', 'username=nobody-at-all');
    assert.equal(nobody.json<AuditLog[]>().length, 0);
    assert.equal(nobody.header('x-total-count'), '0');

    const either = await logs('/audit-logs', 'resource_type={tag repository}');
    assert.ok(either.json<AuditLog[]>().length >= 3);
    assert.ok(
      either.json<AuditLog[]>().every((entry) => ['tag', 'repository'].includes(entry.resource_type)),
    );

    const from = new Date(started - 60_000).toISOString();
    const inRange = await logs(
      '/audit-logs',
      `op_time=[${from}~${new Date(Date.now() + 60_000).toISOString()}]`,
    );
    assert.ok(inRange.json<AuditLog[]>().length > 0);
    const future = new Date(Date.now() + 3_600_000).toISOString().replace('T', ' ').slice(0, 19);
    const none = await logs('/audit-logs', `op_time=[${future}~]`);
    assert.equal(none.json<AuditLog[]>().length, 0);

    assert.equal((await logs('/audit-logs', 'colour=red')).status, 400);
    assert.equal((await logs('/audit-logs', 'op_time=yesterday')).status, 400);
  });

  it('pages newest first with X-Total-Count and Link, and sorts on request', async () => {
    await waitForLogs('resource_type=repository', 1);
    const all = (await logs('/audit-logs', 'username=admin')).json<AuditLog[]>();
    assert.ok(all.length >= 6);
    const times = all.map((entry) => Date.parse(entry.op_time));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );

    const first = await api('GET', '/audit-logs?q=username%3Dadmin&page=1&page_size=2');
    assert.equal(first.header('x-total-count'), String(all.length));
    assert.match(first.header('link') ?? '', /page=2&page_size=2>; rel="next"/);
    assert.deepEqual(
      first.json<AuditLog[]>().map((entry) => entry.id),
      all.slice(0, 2).map((entry) => entry.id),
    );
    const second = await api('GET', '/audit-logs?q=username%3Dadmin&page=2&page_size=2');
    assert.deepEqual(
      second.json<AuditLog[]>().map((entry) => entry.id),
      all.slice(2, 4).map((entry) => entry.id),
    );

    const ascending = (await api('GET', '/audit-logs?q=username%3Dadmin&sort=op_time&page_size=100')).json<
      AuditLog[]
    >();
    const ascendingTimes = ascending.map((entry) => Date.parse(entry.op_time));
    assert.deepEqual(
      ascendingTimes,
      [...ascendingTimes].sort((a, b) => a - b),
    );
    assert.equal((await api('GET', '/audit-logs?sort=colour')).status, 400);
  });

  it('shows the whole log only to administrators', async () => {
    assert.equal((await api('GET', '/audit-logs', { as: null })).status, 401);
    assert.equal((await api('GET', '/audit-logs', { as: member })).status, 403);
  });

  it('shows a project’s log to its members, and nothing of other projects', async () => {
    await waitForLogs('resource_type=repository', 1);
    const response = await logs('/projects/ledger/logs', 'operation={create delete}', '', member);
    assert.equal(response.status, 200, response.body.toString());
    const entries = response.json<AuditLog[]>();
    assert.ok(entries.length >= 6);
    // Registry events name their repository; others (members, say) carry the project's id.
    assert.ok(entries.some((entry) => entry.resource === 'ledger/app:v1' && entry.operation === 'create'));
    assert.ok(
      entries.every((entry) => !entry.resource.startsWith('elsewhere')),
      JSON.stringify(entries),
    );
    assert.ok(entries.some((entry) => entry.resource === 'ledger/tools' && entry.operation === 'delete'));
    assert.equal(response.header('x-total-count'), String(entries.length));

    const paged = await api('GET', '/projects/ledger/logs?page=1&page_size=1', { as: member });
    assert.equal(paged.json<AuditLog[]>().length, 1);
    assert.match(paged.header('link') ?? '', /rel="next"/);

    const elsewhere = (await logs('/projects/elsewhere/logs', 'operation=create')).json<AuditLog[]>();
    // The project's own creation (by its id) and the push into it (by its repository).
    assert.deepEqual(elsewhere.map((entry) => entry.resource).sort(), ['elsewhere', 'elsewhere/app:v1']);

    for (const project of ['ledger', 'no-such-project']) {
      assert.equal((await api('GET', `/projects/${project}/logs`, { as: outsider })).status, 403, project);
      assert.equal((await api('GET', `/projects/${project}/logs`, { as: null })).status, 401, project);
    }
  });
});

describe('audit log queries', () => {
  it('matches fuzzy text literally (no LIKE wildcards) and scopes a project by id or resource', async () => {
    const dir = await makeTempDir();
    const db = openSqliteDatabase({ path: join(dir, 'audit.db') });
    try {
      await db.migrate();
      const entry = (resource: string, projectId: number | null, operation = 'create') => ({
        op_time: 1000,
        username: 'someone',
        client_ip: '',
        user_agent: '',
        resource_type: 'artifact',
        resource,
        operation,
        result: 'success',
        project_id: projectId,
        detail: null,
      });
      await db.auditLogs.append([
        entry('my_proj/app:v1', null),
        entry('myXproj/app:v1', null),
        entry('100%/app:v1', null),
        entry('a-member', 7, 'delete'),
        entry('other/app:v1', 8),
      ]);
      const resources = async (filter: Parameters<typeof db.auditLogs.find>[0]) =>
        (await db.auditLogs.find(filter, 100, 0)).rows.map((row) => row.resource).sort();
      assert.deepEqual(await resources({ resource: { contains: 'MY_PROJ' } }), ['my_proj/app:v1']);
      assert.deepEqual(await resources({ resource: { contains: '0%' } }), ['100%/app:v1']);
      assert.deepEqual(await resources({ project: { id: 7, name: 'my_proj' } }), [
        'a-member',
        'my_proj/app:v1',
      ]);
      assert.deepEqual(await resources({ operation: { oneOf: [] } }), []);
      const page = await db.auditLogs.find({ operation: { exact: 'create' } }, 2, 2, [
        { column: 'resource', descending: false },
      ]);
      assert.equal(page.total, 4);
      assert.deepEqual(
        page.rows.map((row) => row.resource),
        // Byte order: 'X' sorts before '_'.
        ['my_proj/app:v1', 'other/app:v1'],
      );
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
