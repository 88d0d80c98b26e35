import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readAll } from '../../src/lib/streams.ts';
import { AdapterCredential } from '../../src/scanner-adapter/adapter-credential.ts';
import { parseBearerChallenge, RemoteRegistry } from '../../src/scanner-adapter/registry-client.ts';

const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('parseBearerChallenge', () => {
  it('reads realm, service and a scope that holds commas', () => {
    assert.deepEqual(
      parseBearerChallenge(
        'Bearer realm="https://r.example/service/token",service="berth",scope="repository:lib/app:pull,push"',
      ),
      { realm: 'https://r.example/service/token', service: 'berth', scope: 'repository:lib/app:pull,push' },
    );
    assert.equal(parseBearerChallenge('Basic realm="Berth"'), undefined);
    assert.equal(parseBearerChallenge('Bearer service="x"'), undefined);
    assert.equal(parseBearerChallenge(null), undefined);
  });
});

describe('AdapterCredential', () => {
  const credential = new AdapterCredential('s3cret-token');
  it('accepts the token as Bearer, API key, or Basic password, and nothing else', () => {
    assert.ok(credential.accepts('Bearer s3cret-token', undefined));
    assert.ok(credential.accepts(undefined, 's3cret-token'));
    assert.ok(
      credential.accepts(`Basic ${Buffer.from('harbor:s3cret-token').toString('base64')}`, undefined),
    );
    assert.ok(!credential.accepts('Bearer s3cret-tokeN', undefined));
    assert.ok(!credential.accepts(undefined, undefined));
    assert.ok(!credential.accepts('Bearer s3cret-token', 'wrong'));
    assert.ok(!credential.accepts('Token s3cret-token', undefined));
  });
  it('refuses to exist without a token', () => {
    assert.throws(() => new AdapterCredential(''), /authToken must be set/);
  });
});

/**
 * A small registry on a real port: /v2 answers 401 with a Bearer challenge unless given the
 * token, which its token endpoint gives for the right Basic login only.
 */
describe('RemoteRegistry against a registry that challenges', () => {
  const manifest = Buffer.from(
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}',
  );
  const blob = Buffer.from('layer bytes');
  const tampered = Buffer.from('other bytes');
  const tamperedDigest = digestOf(Buffer.from('what the manifest promised'));
  const login = `Basic ${Buffer.from('puller:pw').toString('base64')}`;
  const tokenRequests: { authorization?: string; scope: string | null }[] = [];
  let server: Server;
  let base = '';

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', base);
    if (url.pathname === '/token') {
      tokenRequests.push({
        authorization: request.headers.authorization,
        scope: url.searchParams.get('scope'),
      });
      if (request.headers.authorization !== login) return void response.writeHead(401).end();
      return void response.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"tok"}');
    }
    if (request.headers.authorization !== 'Bearer tok') {
      response.writeHead(401, {
        'www-authenticate': `Bearer realm="${base}/token",service="test",scope="repository:lib/app:pull"`,
      });
      return void response.end();
    }
    const routes = new Map<string, [string, Buffer]>([
      [
        `/v2/lib/app/manifests/${digestOf(manifest)}`,
        ['application/vnd.oci.image.manifest.v1+json', manifest],
      ],
      [`/v2/lib/app/blobs/${digestOf(blob)}`, ['application/octet-stream', blob]],
      [`/v2/lib/app/blobs/${tamperedDigest}`, ['application/octet-stream', tampered]],
    ]);
    const found = routes.get(url.pathname);
    if (!found) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': found[0] }).end(found[1]);
  }

  before(async () => {
    server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  it('exchanges the Basic login for a token once, then pulls and verifies manifest and blob', async () => {
    tokenRequests.length = 0;
    const remote = new RemoteRegistry(base, 'lib/app', login);
    const got = await remote.manifest(digestOf(manifest));
    assert.deepEqual(got, { bytes: manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    assert.deepEqual(await readAll(await remote.blob(digestOf(blob)), 1024), blob);
    assert.deepEqual(tokenRequests, [{ authorization: login, scope: 'repository:lib/app:pull' }]);
  });

  it('fails a blob whose bytes do not match its digest', async () => {
    const remote = new RemoteRegistry(base, 'lib/app', login);
    await assert.rejects(readAll(await remote.blob(tamperedDigest), 1024), /arrived as sha256:/);
  });

  it('says so when the login is refused, and never sends a refused token to the realm', async () => {
    await assert.rejects(
      new RemoteRegistry(base, 'lib/app', `Basic ${Buffer.from('puller:no').toString('base64')}`).manifest(
        digestOf(manifest),
      ),
      /token service .* answered 401/,
    );
    tokenRequests.length = 0;
    await assert.rejects(
      new RemoteRegistry(base, 'lib/app', 'Bearer stale').manifest(digestOf(manifest)),
      /answered 401/,
    );
    assert.deepEqual(tokenRequests, [{ authorization: undefined, scope: 'repository:lib/app:pull' }]);
  });

  it('reports a missing manifest with the registry status', async () => {
    await assert.rejects(
      new RemoteRegistry(base, 'lib/app', login).manifest(digestOf(Buffer.from('nope'))),
      /answered 404/,
    );
  });
});
