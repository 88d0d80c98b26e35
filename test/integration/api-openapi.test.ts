import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { send } from '../helpers/http.ts';

/** Harbor v2.0 paths (and verbs) Berth implements: the OpenAPI document must describe each. */
const harborPaths: Record<string, string[]> = {
  '/ping': ['get'],
  '/health': ['get'],
  '/systeminfo': ['get'],
  '/projects': ['get', 'post'],
  '/projects/{project_name_or_id}': ['delete', 'get', 'put'],
  '/projects/{project_name_or_id}/_deletable': ['get'],
  '/projects/{project_name_or_id}/summary': ['get'],
  '/projects/{project_name_or_id}/metadatas/': ['get', 'post'],
  '/projects/{project_name_or_id}/metadatas/{meta_name}': ['delete', 'get', 'put'],
  '/projects/{project_name_or_id}/members': ['get', 'post'],
  '/projects/{project_name_or_id}/members/{mid}': ['delete', 'get', 'put'],
  '/projects/{project_name}/repositories': ['get'],
  '/projects/{project_name}/repositories/{repository_name}': ['delete', 'get', 'put'],
  '/projects/{project_name}/repositories/{repository_name}/artifacts': ['get'],
  '/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}': ['delete', 'get'],
  '/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/tags': ['get', 'post'],
  '/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/tags/{tag_name}': ['delete'],
  '/projects/{project_name}/logs': ['get'],
  '/repositories': ['get'],
  '/robots': ['get', 'post'],
  '/robots/{robot_id}': ['delete', 'get', 'patch', 'put'],
  '/users': ['get', 'post'],
  '/users/current': ['get'],
  '/users/current/permissions': ['get'],
  '/users/search': ['get'],
  '/users/{user_id}': ['delete', 'get', 'put'],
  '/users/{user_id}/password': ['put'],
  '/users/{user_id}/sysadmin': ['put'],
  '/users/{user_id}/cli_secret': ['put'],
  '/usergroups': ['get', 'post'],
  '/usergroups/search': ['get'],
  '/usergroups/{group_id}': ['delete', 'get', 'put'],
  '/configurations': ['get', 'put'],
  '/ldap/ping': ['post'],
  '/ldap/users/search': ['get'],
  '/ldap/users/import': ['post'],
  '/ldap/groups/search': ['get'],
  '/audit-logs': ['get'],
  '/quotas': ['get'],
  '/quotas/{id}': ['get', 'put'],
};

describe('/api/v2.0/openapi.json', () => {
  let berth: TestBerth;
  before(async () => {
    berth = await startTestBerth();
  });
  after(() => berth.destroy());

  test('describes every implemented Harbor path, with schemas, for anyone to read', async () => {
    const response = await send(berth.url, 'GET', '/api/v2.0/openapi.json');
    assert.equal(response.status, 200);
    const document = response.json<{
      openapi: string;
      servers: { url: string }[];
      paths: Record<string, Record<string, { responses?: object; tags?: string[] }>>;
    }>();
    assert.match(document.openapi, /^3\./);
    assert.deepEqual(document.servers, [{ url: '/api/v2.0' }]);
    for (const [path, verbs] of Object.entries(harborPaths)) {
      const described = document.paths[path];
      assert.ok(described, `${path} is missing`);
      for (const verb of verbs) {
        assert.ok(described[verb]?.responses, `${verb.toUpperCase()} ${path} has no responses`);
      }
    }
    assert.ok(
      Object.keys(document.paths).every((path) => !path.startsWith('/v2') && !path.startsWith('/api')),
      'only management API paths, relative to the server URL',
    );
  });
});
