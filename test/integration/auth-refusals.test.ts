import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { basicAuth, RegistryClient, send } from '../helpers/http.ts';

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

const admin = basicAuth(testAdmin);

async function tokenFor(berth: TestBerth, scope: string, authorization = admin): Promise<string> {
  const response = await send(
    berth.url,
    'GET',
    `/service/token?service=${berth.config.auth.tokenService}&scope=${scope}`,
    {
      headers: { authorization },
    },
  );
  assert.equal(response.status, 200, response.body.toString());
  return response.json<{ token: string }>().token;
}

function parts(token: string): [Record<string, unknown>, Record<string, unknown>, string] {
  const [header, payload, signature] = token.split('.');
  const decode = (part: string) => JSON.parse(Buffer.from(part!, 'base64url').toString('utf8'));
  return [decode(header!), decode(payload!), signature!];
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function pullManifest(berth: TestBerth, authorization: string) {
  return send(berth.url, 'GET', '/v2/library/app/manifests/v1', {
    headers: {
      authorization: `Bearer ${authorization}`,
      accept: 'application/vnd.oci.image.manifest.v1+json',
    },
  });
}

function assertInvalidToken(response: Awaited<ReturnType<typeof send>>) {
  assert.equal(response.status, 401);
  assert.equal(response.errorCode(), 'UNAUTHORIZED');
  assert.match(response.header('www-authenticate') ?? '', /^Bearer realm=.*error="invalid_token"/);
}

describe('refused credentials and tokens', () => {
  const clock = manualClock();
  const logLines: string[] = [];
  let berth: TestBerth;
  let registry: RegistryClient;

  before(async () => {
    berth = await startTestBerth({ 'auth.failedLoginsPerMinute': 0 }, { clock, logLines });
    registry = new RegistryClient(berth.url);
    const config = await registry.pushBlob('library/app', '{}');
    const response = await registry.putManifest('library/app', 'v1', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 2 },
      layers: [],
    });
    assert.equal(response.status, 201);
  });
  after(() => berth.destroy());

  test('a good token pulls', async () => {
    const token = await tokenFor(berth, 'repository:library/app:pull');
    assert.equal((await pullManifest(berth, token)).status, 200);
  });

  test('a wrong password on /v2 is 401 UNAUTHORIZED with a Bearer challenge', async () => {
    const response = await registry
      .as({ username: 'admin', password: 'wrong-password-1A' })
      .request('GET', '/v2/');
    assert.equal(response.status, 401);
    assert.equal(response.errorCode(), 'UNAUTHORIZED');
    assert.match(response.header('www-authenticate') ?? '', /^Bearer realm="[^"]+\/service\/token",service=/);
  });

  test('an unknown user is refused like a wrong password', async () => {
    const response = await registry.as({ username: 'nobody', password: 'Whatever-1' }).request('GET', '/v2/');
    assert.equal(response.status, 401);
    assert.equal(response.errorCode(), 'UNAUTHORIZED');
  });

  test('the token endpoint refuses bad credentials in both flows', async () => {
    const get = await send(berth.url, 'GET', '/service/token?scope=repository:library/app:pull', {
      headers: { authorization: basicAuth({ username: 'admin', password: 'nope' }) },
    });
    assert.equal(get.status, 401);
    const post = await send(berth.url, 'POST', '/service/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=password&username=admin&password=nope&service=x&scope=repository:library/app:pull',
    });
    assert.equal(post.status, 400, 'an unknown service is a bad request');
    const post2 = await send(berth.url, 'POST', '/service/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=password&username=admin&password=nope&scope=repository:library/app:pull',
    });
    assert.equal(post2.status, 401);
    const refresh = await send(berth.url, 'POST', '/service/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token&refresh_token=not.a.token',
    });
    assert.equal(refresh.status, 401);
  });

  test('a token signed by another key is refused, even with our key id', async () => {
    const token = await tokenFor(berth, 'repository:library/app:pull');
    const [header, payload] = parts(token);
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(payload)
      .setProtectedHeader(header as { alg: string; kid: string })
      .sign(privateKey);
    assertInvalidToken(await pullManifest(berth, forged));
  });

  test('alg none is refused', async () => {
    const token = await tokenFor(berth, 'repository:library/app:pull');
    const [header, payload] = parts(token);
    const unsigned = `${encode({ ...header, alg: 'none' })}.${encode(payload)}.`;
    assertInvalidToken(await pullManifest(berth, unsigned));
  });

  test('HS256 signed with the published public key is refused (algorithm confusion)', async () => {
    const token = await tokenFor(berth, 'repository:library/app:pull');
    const [header, payload] = parts(token);
    const jwks = (await send(berth.url, 'GET', '/.well-known/jwks.json')).json<{ keys: unknown[] }>();
    const secret = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
    const forged = await new SignJWT(payload).setProtectedHeader({ ...header, alg: 'HS256' }).sign(secret);
    assertInvalidToken(await pullManifest(berth, forged));
  });

  test('a token whose scope was changed is refused', async () => {
    const token = await tokenFor(berth, 'repository:library/app:pull');
    const [header, payload, signature] = parts(token);
    const widened = {
      ...payload,
      access: [{ type: 'repository', name: 'library/app', actions: ['pull', 'push', 'delete'] }],
    };
    const tampered = `${encode(header)}.${encode(widened)}.${signature}`;
    assertInvalidToken(
      await send(berth.url, 'DELETE', '/v2/library/app/manifests/v1', {
        headers: { authorization: `Bearer ${tampered}` },
      }),
    );
  });

  test('a token for pull cannot push: 401 insufficient_scope naming the scope', async () => {
    const token = await tokenFor(berth, 'repository:library/app:pull');
    const response = await send(berth.url, 'POST', '/v2/library/app/blobs/uploads/', {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 401);
    assert.match(
      response.header('www-authenticate') ?? '',
      /scope="repository:library\/app:pull,push",error="insufficient_scope"/,
    );
  });

  test('a token from another registry (own key, own JWKS) is refused', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const forged = await new SignJWT({
      access: [{ type: 'repository', name: 'library/app', actions: ['pull'] }],
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'elsewhere', jwk })
      .setIssuer(berth.config.auth.tokenService)
      .setAudience(berth.config.auth.tokenService)
      .setSubject('admin')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    assertInvalidToken(await pullManifest(berth, forged));
  });

  test('an expired token is refused', async () => {
    const token = await tokenFor(berth, 'repository:library/app:pull');
    assert.equal((await pullManifest(berth, token)).status, 200);
    clock.advance((berth.config.auth.tokenTtlSeconds + 1) * 1000);
    assertInvalidToken(await pullManifest(berth, token));
  });

  test('a deleted user is refused at once: Basic, new tokens and refresh tokens', async () => {
    const user = { username: 'leaver', password: 'Leaver-Pass-1' };
    const json = { authorization: admin, 'content-type': 'application/json' };
    const created = await send(berth.url, 'POST', '/api/v2.0/users', {
      headers: json,
      body: JSON.stringify({ ...user, email: 'leaver@example.com', realname: 'Leaver' }),
    });
    assert.equal(created.status, 201, created.body.toString());
    const id = created.header('location')!.split('/').at(-1);
    const basic = basicAuth(user);
    assert.equal((await send(berth.url, 'GET', '/v2/', { headers: { authorization: basic } })).status, 200);
    const offline = await send(berth.url, 'POST', '/service/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=password&username=leaver&password=${user.password}&access_type=offline`,
    });
    const { refresh_token } = offline.json<{ refresh_token: string }>();

    assert.equal(
      (await send(berth.url, 'DELETE', `/api/v2.0/users/${id}`, { headers: { authorization: admin } }))
        .status,
      200,
    );
    const after = await send(berth.url, 'GET', '/v2/', { headers: { authorization: basic } });
    assert.equal(after.status, 401, 'the cached login is gone with the user');
    assert.equal(after.errorCode(), 'UNAUTHORIZED');
    const token = await send(berth.url, 'GET', '/service/token?scope=repository:library/app:pull', {
      headers: { authorization: basic },
    });
    assert.equal(token.status, 401);
    const refreshed = await send(berth.url, 'POST', '/service/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=${refresh_token}`,
    });
    assert.equal(refreshed.status, 401);
  });

  test('a refresh token is not an access token', async () => {
    const response = await send(berth.url, 'POST', '/service/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=password&username=admin&password=${testAdmin.password}&access_type=offline&scope=repository:library/app:pull`,
    });
    assert.equal(response.status, 200);
    const { refresh_token } = response.json<{ refresh_token: string }>();
    assert.ok(refresh_token);
    assertInvalidToken(await pullManifest(berth, refresh_token));
  });

  test('no secret reaches the log', async () => {
    await berth.app.inject({ method: 'GET', url: '/v2/' });
    const log = logLines.join('\n');
    assert.ok(log.length > 0, 'the server logged');
    for (const secret of [testAdmin.password, 'wrong-password-1A', 'Whatever-1', 'nope']) {
      assert.ok(!log.includes(secret), `the log holds ${secret}`);
    }
    assert.ok(!/"authorization":"(Basic|Bearer) /i.test(log), 'an Authorization header was logged');
    assert.ok(!/eyJ[\w-]{10,}\.[\w-]{10,}\./.test(log), 'a JWT was logged');
  });
});

describe('lockout and throttling', () => {
  let berth: TestBerth;

  before(async () => {
    berth = await startTestBerth({
      'auth.maxFailedLogins': 3,
      'auth.failedLoginsPerMinute': 5,
      'auth.tokenRatePerMinute': 60,
      'auth.tokenRateBurst': 10,
    });
  });
  after(() => berth.destroy());

  test('repeated failures lock the account: even the right password is refused', async () => {
    const wrong = basicAuth({ username: 'admin', password: 'Wrong-pass-1' });
    for (let i = 0; i < 3; i++) {
      assert.equal((await send(berth.url, 'GET', '/v2/', { headers: { authorization: wrong } })).status, 401);
    }
    const right = await send(berth.url, 'GET', '/v2/', { headers: { authorization: admin } });
    assert.equal(right.status, 401, 'locked');
  });

  test('an address with too many failed logins gets 429 with Retry-After', async () => {
    const wrong = basicAuth({ username: 'someone', password: 'Wrong-pass-1' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await send(berth.url, 'GET', '/v2/', { headers: { authorization: wrong } })).status);
    }
    // The burst of 5 failures: 4 were spent by the lockout test above (the locked login counts).
    assert.deepEqual(statuses, [401, 429, 429, 429]);
    const limited = await send(berth.url, 'GET', '/v2/', { headers: { authorization: wrong } });
    assert.equal(limited.errorCode(), 'TOOMANYREQUESTS');
    assert.ok(Number(limited.header('retry-after')) > 0);
  });

  test('the token endpoint limits requests per address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const response = await send(berth.url, 'GET', '/service/token?scope=repository:library/x:pull');
      statuses.push(response.status);
    }
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(200));
    assert.deepEqual(statuses.slice(10), [429, 429]);
  });
});

describe('audit of logins, grants, pushes, pulls and refusals', () => {
  let berth: TestBerth;

  before(async () => {
    berth = await startTestBerth();
  });
  after(() => berth.destroy());

  test('records who did what from where with what result', async () => {
    const registry = new RegistryClient(berth.url);
    const config = await registry.pushBlob('library/audited', '{}');
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 2 },
      layers: [],
    };
    assert.equal((await registry.putManifest('library/audited', 'v1', manifest)).status, 201);
    assert.equal((await registry.request('GET', '/v2/library/audited/manifests/v1')).status, 200);
    await send(berth.url, 'GET', '/v2/', {
      headers: { authorization: basicAuth({ username: 'admin', password: 'x' }) },
    });
    await tokenFor(berth, 'repository:library/audited:pull');

    type Entry = { username: string; resource: string; resource_type: string; operation: string };
    let entries: Entry[] = [];
    for (let attempt = 0; attempt < 50 && entries.length < 5; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const response = await send(berth.url, 'GET', '/api/v2.0/audit-logs?page_size=100', {
        headers: { authorization: admin },
      });
      assert.equal(response.status, 200, response.body.toString());
      entries = response.json<Entry[]>();
    }
    const has = (operation: string, resourceType: string, resource: string) =>
      entries.some(
        (entry) =>
          entry.operation === operation &&
          entry.resource_type === resourceType &&
          entry.resource === resource,
      );
    assert.ok(has('create', 'artifact', 'library/audited:v1'), JSON.stringify(entries));
    assert.ok(has('pull', 'artifact', 'library/audited:v1'));
    assert.ok(has('login', 'login', 'admin'));
    assert.ok(has('grant', 'token', berth.config.auth.tokenService));
  });
});

describe('hardening against guessing and stale credentials', () => {
  let berth: TestBerth;
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const json = { authorization: admin, 'content-type': 'application/json' };

  async function createUser(username: string, password: string): Promise<number> {
    const created = await send(berth.url, 'POST', '/api/v2.0/users', {
      headers: json,
      body: JSON.stringify({ username, password, email: `${username}@example.com`, realname: username }),
    });
    assert.equal(created.status, 201, created.body.toString());
    return Number(created.header('location')!.split('/').at(-1));
  }

  const passwordGrant = (username: string, password: string, extra = '') =>
    send(berth.url, 'POST', '/service/token', {
      headers: form,
      body: `grant_type=password&username=${username}&password=${encodeURIComponent(password)}${extra}`,
    });

  before(async () => {
    berth = await startTestBerth({
      'auth.maxFailedLogins': 3,
      'auth.failedLoginsPerMinute': 1000,
      'auth.tokenRatePerMinute': 0,
      'http.trustProxy': ['127.0.0.1'],
    });
  });
  after(() => berth.destroy());

  test('concurrent guesses cannot get past the lockout: only as many as allowed are checked', async () => {
    await createUser('target', 'Target-Pass-1');
    const guesses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => passwordGrant('target', `Wrong-Guess-${i}`)),
    );
    assert.ok(guesses.every((response) => response.status === 401));
    // Even the right password is refused now, with the same answer as any wrong one.
    const right = await passwordGrant('target', 'Target-Pass-1');
    assert.equal(right.status, 401);
    const unknown = await passwordGrant('no-such-user', 'Target-Pass-1');
    assert.equal(
      right.body.toString(),
      unknown.body.toString(),
      'a locked account looks like a wrong password',
    );
    const entries = await auditedLogins(berth, 'target');
    assert.equal(entries.filter((entry) => entry === 'invalid').length, 3, `checked: ${entries}`);
  });

  test('many connections logging in at once with the right password all get in', async () => {
    await createUser('burst', 'Burst-Pass-1');
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        send(berth.url, 'GET', '/v2/', {
          headers: { authorization: basicAuth({ username: 'burst', password: 'Burst-Pass-1' }) },
        }),
      ),
    );
    assert.deepEqual(
      responses.map((response) => response.status),
      Array(20).fill(200),
    );
  });

  test('a refresh token dies with a password change, and with its user', async () => {
    const id = await createUser('renewer', 'Renewer-Pass-1');
    const first = await passwordGrant('renewer', 'Renewer-Pass-1', '&access_type=offline');
    const { refresh_token } = first.json<{ refresh_token: string }>();
    const refresh = (token: string) =>
      send(berth.url, 'POST', '/service/token', {
        headers: form,
        body: `grant_type=refresh_token&refresh_token=${token}`,
      });
    assert.equal((await refresh(refresh_token)).status, 200);

    const reset = await send(berth.url, 'PUT', `/api/v2.0/users/${id}/password`, {
      headers: json,
      body: JSON.stringify({ new_password: 'Renewer-Pass-2' }),
    });
    assert.equal(reset.status, 200, reset.body.toString());
    assert.equal((await refresh(refresh_token)).status, 401);

    const second = await passwordGrant('renewer', 'Renewer-Pass-2', '&access_type=offline');
    const newer = second.json<{ refresh_token: string }>().refresh_token;
    assert.equal(
      (await send(berth.url, 'DELETE', `/api/v2.0/users/${id}`, { headers: { authorization: admin } }))
        .status,
      200,
    );
    await createUser('renewer', 'Renewer-Pass-2');
    assert.equal((await refresh(newer)).status, 401, 'a new user of the same name inherits nothing');
  });

  test("a deleted user's registry tokens stop at once", async () => {
    const id = await createUser('holder', 'Holder-Pass-1');
    const token = await tokenFor(
      berth,
      'repository:library/none:pull',
      basicAuth({ username: 'holder', password: 'Holder-Pass-1' }),
    );
    const probe = () => send(berth.url, 'GET', '/v2/', { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await probe()).status, 200);
    assert.equal(
      (await send(berth.url, 'DELETE', `/api/v2.0/users/${id}`, { headers: { authorization: admin } }))
        .status,
      200,
    );
    assertInvalidToken(await probe());
  });

  test('the failed-login limit follows the client address a trusted proxy reports, and spares known credentials', async () => {
    const limited = await startTestBerth({
      'auth.failedLoginsPerMinute': 2,
      'http.trustProxy': ['127.0.0.1'],
    });
    try {
      const wrong = (address: string) =>
        send(limited.url, 'GET', '/v2/', {
          headers: {
            authorization: basicAuth({ username: 'nobody', password: 'Wrong-pass-1' }),
            'x-forwarded-for': address,
          },
        });
      const adminFrom = (address: string) =>
        send(limited.url, 'GET', '/v2/', { headers: { authorization: admin, 'x-forwarded-for': address } });
      assert.equal((await adminFrom('203.0.113.7')).status, 200, 'the admin logs in once (now known)');
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await wrong('203.0.113.7')).status);
      assert.deepEqual(statuses, [401, 401, 429]);
      assert.equal(
        (await wrong('198.51.100.9')).status,
        401,
        'another client behind the proxy is not limited',
      );
      assert.equal(
        (await adminFrom('203.0.113.7')).status,
        200,
        'credentials verified moments ago still work',
      );
    } finally {
      await limited.destroy();
    }
  });
});

/** The outcomes (`success` or the refusal reason) of token-endpoint logins of `username`. */
async function auditedLogins(berth: TestBerth, username: string): Promise<string[]> {
  await new Promise((resolve) => setTimeout(resolve, 400));
  const response = await send(
    berth.url,
    'GET',
    `/api/v2.0/audit-logs?page_size=100&q=username=${username},resource_type=token`,
    { headers: { authorization: admin } },
  );
  assert.equal(response.status, 200, response.body.toString());
  return response.json<{ result: string; detail?: string }[]>().map((entry) => entry.detail ?? entry.result);
}
