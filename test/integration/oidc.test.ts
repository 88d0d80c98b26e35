import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { basicAuth, RegistryClient, send } from '../helpers/http.ts';
import { Browser, TestOidcProvider } from '../helpers/oidc-provider.ts';
import { storedRows } from '../helpers/stored-rows.ts';

const accounts = [
  {
    sub: 'sub-alice',
    preferred_username: 'alice',
    name: 'Alice Liddell',
    email: 'alice@example.com',
    groups: ['developers', 'qa'],
  },
  { sub: 'sub-olga', preferred_username: 'olga', email: 'olga@example.com', groups: ['berth-admins'] },
  { sub: 'sub-bob', preferred_username: 'bob', email: 'bob@example.com', groups: [] },
  { sub: 'sub-carol', preferred_username: 'carol', email: 'carol@example.com', groups: ['qa'] },
  { sub: 'sub-dave', preferred_username: 'dave', email: 'dave@example.com' },
];

const admin = { authorization: basicAuth(testAdmin) };
const logLines: string[] = [];
let berth: TestBerth;
let op: TestOidcProvider;

async function configure(settings: Record<string, unknown>): Promise<void> {
  const response = await send(berth.url, 'PUT', '/api/v2.0/configurations', {
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify(settings),
  });
  assert.equal(response.status, 200, response.body.toString());
}

/** The user row as stored (the API does not show a user's source or external id). */
async function storedUser(username: string): Promise<Record<string, unknown> | undefined> {
  return (await storedRows(berth, 'SELECT * FROM users WHERE username = ?', [username]))[0];
}

/** Names of the groups recorded for the user at their last login. */
async function storedGroups(username: string): Promise<string[]> {
  const rows = await storedRows<{ name: string }>(
    berth,
    `SELECT g.name FROM user_groups g JOIN user_group_members m ON m.group_id = g.id
     JOIN users u ON u.id = m.user_id WHERE u.username = ? ORDER BY g.name`,
    [username],
  );
  return rows.map((row) => row.name);
}

/** Starts a login at Berth; returns the provider's authorization URL. */
async function startLogin(browser: Browser, query = ''): Promise<URL> {
  const response = await browser.fetch(`${berth.url}/c/oidc/login${query}`);
  assert.equal(response.status, 302);
  return new URL(response.headers.get('location') ?? '');
}

/** The whole browser login: Berth → provider (sign in, consent) → Berth's callback. */
async function login(browser: Browser, sub: string, query = ''): Promise<Response> {
  const callback = await browser.signIn(await startLogin(browser, query), sub, op.issuer);
  return browser.fetch(callback);
}

async function currentUser(browser: Browser) {
  const response = await browser.fetch(`${berth.url}/api/v2.0/users/current`);
  return {
    response,
    body: response.status === 200 ? ((await response.json()) as Record<string, unknown>) : {},
  };
}

async function csrfToken(browser: Browser): Promise<string> {
  const { response } = await currentUser(browser);
  const token = response.headers.get('x-harbor-csrf-token');
  assert.ok(token, 'a cookie-authenticated response hands out the CSRF token');
  return token;
}

async function setCliSecret(browser: Browser, userId: number, secret: string): Promise<Response> {
  return browser.fetch(`${berth.url}/api/v2.0/users/${userId}/cli_secret`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'x-harbor-csrf-token': await csrfToken(browser) },
    body: JSON.stringify({ secret }),
  });
}

before(async () => {
  berth = await startTestBerth({}, { logLines });
  op = await TestOidcProvider.start({ redirectUri: `${berth.url}/c/oidc/callback`, accounts });
});
after(async () => {
  await op?.stop();
  await berth?.destroy();
});

describe('OIDC login', () => {
  const alice = new Browser();
  const aliceSecret = 'Alice-Cli-Secret-1';
  let aliceId = 0;

  it('is refused (412) while OIDC is not the auth mode', async () => {
    const response = await send(berth.url, 'GET', '/c/oidc/login');
    assert.equal(response.status, 412);
    assert.equal(response.errorCode(), 'PRECONDITION');
  });

  it('takes its settings through the configurations API, never showing the client secret', async () => {
    await configure({
      auth_mode: 'oidc_auth',
      oidc_name: 'Test provider',
      oidc_endpoint: op.issuer,
      oidc_client_id: op.clientId,
      oidc_client_secret: op.clientSecret,
      oidc_scope: 'openid,profile,email,groups,offline_access',
      oidc_user_claim: 'preferred_username',
      oidc_groups_claim: 'groups',
      oidc_admin_group: 'berth-admins',
      oidc_auto_onboard: true,
    });
    const response = await send(berth.url, 'GET', '/api/v2.0/configurations', { headers: admin });
    assert.equal(response.status, 200);
    assert.ok(!response.body.toString().includes(op.clientSecret));
    assert.equal(response.json<Record<string, { value: unknown }>>().oidc_endpoint?.value, op.issuer);
  });

  it('sends the browser to the provider with state, nonce and a PKCE S256 challenge', async () => {
    const url = await startLogin(new Browser());
    assert.ok(url.href.startsWith(op.issuer));
    assert.equal(url.searchParams.get('client_id'), op.clientId);
    assert.equal(url.searchParams.get('redirect_uri'), `${berth.url}/c/oidc/callback`);
    assert.equal(url.searchParams.get('response_type'), 'code');
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.match(url.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok((url.searchParams.get('state') ?? '').length >= 20);
    assert.ok((url.searchParams.get('nonce') ?? '').length >= 20);
    assert.deepEqual(url.searchParams.get('scope')?.split(' '), [
      'openid',
      'profile',
      'email',
      'groups',
      'offline_access',
    ]);
  });

  it('completes the code flow, onboards the user and starts a cookie session', async () => {
    const response = await login(alice, 'sub-alice');
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/');
    const cookie = response.headers.getSetCookie().find((line) => line.startsWith('sid='));
    assert.ok(cookie, 'a session cookie is set');
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.doesNotMatch(cookie, /Secure/, 'plain HTTP: no Secure flag');

    const { response: current, body } = await currentUser(alice);
    assert.equal(current.status, 200);
    assert.equal(body.username, 'alice');
    assert.equal(body.email, 'alice@example.com');
    assert.equal(body.sysadmin_flag, false);
    aliceId = Number(body.user_id);

    const stored = await storedUser('alice');
    assert.equal(stored?.source, 'oidc');
    assert.equal(stored?.external_id, `${op.issuer}|sub-alice`);
    assert.match(String(stored?.cli_secret), /^enc:v1:/, 'the generated CLI secret is sealed at rest');
    assert.equal(stored?.password_hash, null);

    // The generated CLI secret is shown to its owner (only) and logs registry clients in.
    const meta = body.oidc_user_meta as { secret: string; user_id: number } | undefined;
    assert.ok(meta?.secret, 'GET /users/current shows the CLI secret to its owner');
    assert.equal(meta.user_id, aliceId);
    assert.equal(current.headers.get('cache-control'), 'no-store');
    const v2 = await send(berth.url, 'GET', '/v2/', {
      headers: { authorization: basicAuth({ username: 'alice', password: meta.secret }) },
    });
    assert.equal(v2.status, 200);
    const asAdmin = await send(berth.url, 'GET', `/api/v2.0/users/${aliceId}`, { headers: admin });
    assert.ok(!asAdmin.body.toString().includes(meta.secret), 'nobody else sees it');
  });

  it('records the groups claim as OIDC user groups', async () => {
    const response = await send(berth.url, 'GET', '/api/v2.0/usergroups', { headers: admin });
    assert.equal(response.status, 200);
    const groups = response.json<{ group_name: string; group_type: number }[]>();
    for (const name of ['developers', 'qa'])
      assert.ok(
        groups.some((group) => group.group_name === name && group.group_type === 3),
        name,
      );
  });

  it('refuses unsafe API calls on a cookie session without the CSRF token', async () => {
    const url = `${berth.url}/api/v2.0/users/${aliceId}/cli_secret`;
    const body = JSON.stringify({ secret: aliceSecret });
    const bare = await alice.fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(bare.status, 403);
    const wrong = await alice.fetch(url, {
      method: 'PUT',
      headers: {
        'content-type': 'application/json',
        'x-requested-with': 'XMLHttpRequest',
        'x-harbor-csrf-token': 'guess',
      },
      body,
    });
    assert.equal(wrong.status, 403);
  });

  it('lets the user set a CLI secret (Harbor policy) that works as the registry password', async () => {
    assert.equal((await setCliSecret(alice, aliceId, 'weak')).status, 400);
    const set = await setCliSecret(alice, aliceId, aliceSecret);
    assert.equal(set.status, 200, await set.text());

    const registry = new RegistryClient(berth.url, { username: 'alice', password: aliceSecret });
    const wrong = await registry
      .as({ username: 'alice', password: 'Not-The-Secret-1' })
      .request('GET', '/v2/');
    assert.equal(wrong.status, 401);
    assert.equal((await registry.request('GET', '/v2/')).status, 200);
  });

  it('gives the project role of an OIDC group to its members: push and pull with the CLI secret', async () => {
    const project = await send(berth.url, 'POST', '/api/v2.0/projects', {
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ project_name: 'team', metadata: { public: 'false' } }),
    });
    assert.equal(project.status, 201, project.body.toString());
    const member = await send(berth.url, 'POST', '/api/v2.0/projects/team/members', {
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ role_id: 2, member_group: { group_name: 'developers', group_type: 3 } }),
    });
    assert.equal(member.status, 201, member.body.toString());

    // Basic on /v2.
    const registry = new RegistryClient(berth.url, { username: 'alice', password: aliceSecret });
    const image = await registry.pushImage('team/app', 'v1');
    const pulled = await registry.request('GET', `/v2/team/app/manifests/${image.digest}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(pulled.status, 200);

    // The token service with the same credentials.
    const token = await send(
      berth.url,
      'GET',
      '/service/token?service=berth&scope=repository:team/app:pull,push',
      { headers: { authorization: basicAuth({ username: 'alice', password: aliceSecret }) } },
    );
    assert.equal(token.status, 200);
    const { token: bearer, access_token } = token.json<{ token: string; access_token: string }>();
    assert.equal(bearer, access_token);
    const claims = JSON.parse(Buffer.from(bearer.split('.')[1] ?? '', 'base64url').toString()) as {
      access: { name: string; actions: string[] }[];
    };
    assert.deepEqual(claims.access[0]?.actions.sort(), ['pull', 'push']);
    const withToken = await send(berth.url, 'GET', '/v2/team/app/tags/list', {
      headers: { authorization: `Bearer ${bearer}` },
    });
    assert.equal(withToken.status, 200);
  });

  it('gives nothing in the project to a user outside the group', async () => {
    const bob = new Browser();
    assert.equal((await login(bob, 'sub-bob')).status, 302);
    const { body } = await currentUser(bob);
    const secret = 'Bob-Cli-Secret-1';
    assert.equal((await setCliSecret(bob, Number(body.user_id), secret)).status, 200);
    const registry = new RegistryClient(berth.url, { username: 'bob', password: secret });
    const pull = await registry.request('GET', '/v2/team/app/tags/list');
    assert.ok([401, 403, 404].includes(pull.status), `bob got ${pull.status}`);
    // Nor may bob set alice's secret.
    assert.equal((await setCliSecret(bob, aliceId, 'Bob-Sets-Alice-1')).status, 403);
  });

  it('makes members of the admin group system administrators', async () => {
    const olga = new Browser();
    assert.equal((await login(olga, 'sub-olga')).status, 302);
    const { body } = await currentUser(olga);
    assert.equal(body.username, 'olga');
    assert.equal(body.sysadmin_flag, true);
    const users = await olga.fetch(`${berth.url}/api/v2.0/users`);
    assert.equal(users.status, 200);
  });

  it('takes the administrator role away from a user who left the admin group', async () => {
    const account = op.accounts.get('sub-olga');
    assert.ok(account);
    account.groups = ['qa'];
    const olga = new Browser();
    assert.equal((await login(olga, 'sub-olga')).status, 302);
    assert.equal((await currentUser(olga)).body.sysadmin_flag, false);
    assert.equal((await olga.fetch(`${berth.url}/api/v2.0/users`)).status, 403);
  });

  it('keeps only the groups oidc_group_filter matches', async () => {
    await configure({ oidc_group_filter: '^dev' });
    assert.equal((await login(new Browser(), 'sub-alice')).status, 302);
    assert.deepEqual(await storedGroups('alice'), ['developers']);
    await configure({ oidc_group_filter: '' });
    assert.equal((await login(new Browser(), 'sub-alice')).status, 302);
    assert.deepEqual(await storedGroups('alice'), ['developers', 'qa']);
  });

  it('leaves a user without a groups claim in no group', async () => {
    const dave = new Browser();
    assert.equal((await login(dave, 'sub-dave')).status, 302);
    const { body } = await currentUser(dave);
    assert.equal(body.username, 'dave');
    assert.equal(body.sysadmin_flag, false);
    assert.deepEqual(await storedGroups('dave'), []);
  });

  it('finds a returning user by issuer and subject, with one session per login', async () => {
    const again = new Browser();
    assert.equal((await login(again, 'sub-alice')).status, 302);
    assert.notEqual(again.cookie(berth.url, 'sid'), alice.cookie(berth.url, 'sid'));
    const { body } = await currentUser(again);
    assert.equal(Number(body.user_id), aliceId);
  });

  it('returns to the local page the login started from, never to another site', async () => {
    const local = await login(new Browser(), 'sub-alice', '?redirect_url=%2Fharbor%2Fprojects');
    assert.equal(local.headers.get('location'), '/harbor/projects');
    const offsite = await login(new Browser(), 'sub-alice', '?redirect_url=%2F%2Fevil.example%2F');
    assert.equal(offsite.headers.get('location'), '/');
    // Browsers strip tabs and newlines and read a backslash as a slash: each of these leaves the site.
    // (as sent: /%09/evil.example, /%0a/evil, /%5Cevil, https://evil, //evil)
    for (const target of ['/\t/evil.example', '/\n/evil', '/\\evil', 'https://evil', '//evil']) {
      const response = await login(new Browser(), 'sub-alice', `?redirect_url=${encodeURIComponent(target)}`);
      assert.equal(response.status, 302, target);
      assert.equal(response.headers.get('location'), '/', target);
    }
  });

  it('never accepts the session cookie on /v2', async () => {
    const response = await alice.fetch(`${berth.url}/v2/team/app/tags/list`);
    assert.equal(response.status, 401);
  });

  it('ends the session at /c/log_out', async () => {
    const browser = new Browser();
    await login(browser, 'sub-alice');
    assert.equal((await currentUser(browser)).response.status, 200);
    const sid = browser.cookie(berth.url, 'sid');
    const out = await browser.fetch(`${berth.url}/c/log_out`);
    assert.equal(out.status, 200);
    assert.equal(browser.cookie(berth.url, 'sid'), undefined);
    assert.equal((await currentUser(browser)).response.status, 401);
    // The old id is dead on the server too, not only forgotten by the browser.
    const replay = await send(berth.url, 'GET', '/api/v2.0/users/current', {
      headers: { cookie: `sid=${sid}` },
    });
    assert.equal(replay.status, 401);
  });
});

describe('OIDC callback refusals', () => {
  function noSession(response: Response): void {
    assert.ok(!response.headers.getSetCookie().some((line) => /^sid=[^;]/.test(line)), 'no session cookie');
  }

  it('refuses a tampered state', async () => {
    const browser = new Browser();
    const callback = await browser.signIn(await startLogin(browser), 'sub-alice', op.issuer);
    callback.searchParams.set('state', `${callback.searchParams.get('state')}x`);
    const response = await browser.fetch(callback);
    assert.equal(response.status, 400);
    noSession(response);
  });

  it('refuses a callback in a browser that did not start the login (state bound to the browser)', async () => {
    const browser = new Browser();
    const callback = await browser.signIn(await startLogin(browser), 'sub-alice', op.issuer);
    const response = await new Browser().fetch(callback);
    assert.equal(response.status, 400);
    noSession(response);
  });

  it('refuses a replayed callback', async () => {
    const browser = new Browser();
    const callback = await browser.signIn(await startLogin(browser), 'sub-alice', op.issuer);
    assert.equal((await browser.fetch(callback)).status, 302);
    const replay = await browser.fetch(callback);
    assert.equal(replay.status, 400);
    noSession(replay);
  });

  it('refuses a stolen or replayed code injected into another login (PKCE, one-time codes)', async () => {
    const victim = new Browser();
    const stolen = await victim.signIn(await startLogin(victim), 'sub-alice', op.issuer);
    const attacker = new Browser();
    const attackerState = (await startLogin(attacker)).searchParams.get('state') ?? '';
    const injected = new URL(stolen);
    injected.searchParams.set('state', attackerState);
    const response = await attacker.fetch(injected);
    assert.ok([400, 401].includes(response.status), `got ${response.status}`);
    noSession(response);
    // The provider redeemed nothing for the attacker: the victim's own login still goes through.
    assert.equal((await victim.fetch(stolen)).status, 302);
    // Now the code is spent: replaying it into a fresh login is refused by the provider.
    const replayer = new Browser();
    const replayed = new URL(stolen);
    replayed.searchParams.set('state', (await startLogin(replayer)).searchParams.get('state') ?? '');
    const refused = await replayer.fetch(replayed);
    assert.ok([400, 401].includes(refused.status), `got ${refused.status}`);
    noSession(refused);
  });

  it("relays the provider's refusal", async () => {
    const browser = new Browser();
    const url = await startLogin(browser);
    const callback = new URL(`${berth.url}/c/oidc/callback`);
    callback.searchParams.set('error', 'access_denied');
    callback.searchParams.set('state', url.searchParams.get('state') ?? '');
    const response = await browser.fetch(callback);
    assert.equal(response.status, 400);
    noSession(response);
  });
});

describe('OIDC onboarding without auto-onboard', () => {
  it('sends a new user to pick a username, then starts the session', async () => {
    await configure({ oidc_auto_onboard: false });
    const carol = new Browser();
    const response = await login(carol, 'sub-carol');
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/oidc-onboard?username=carol');
    assert.equal(carol.cookie(berth.url, 'sid'), undefined);

    const onboard = (username: string) =>
      carol.fetch(`${berth.url}/c/oidc/onboard`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username }),
      });
    assert.equal((await onboard('alice')).status, 409, 'a taken username is refused');
    assert.equal((await onboard('bad#name')).status, 400);
    const done = await onboard('carol-c');
    assert.equal(done.status, 200);
    const { body } = await currentUser(carol);
    assert.equal(body.username, 'carol-c');
    assert.equal((await storedUser('carol-c'))?.source, 'oidc');
    assert.equal((await onboard('carol-d')).status, 400, 'the pending identity is used up');
  });

  it('logs a known user straight in', async () => {
    const carol = new Browser();
    const response = await login(carol, 'sub-carol');
    assert.equal(response.headers.get('location'), '/');
    assert.equal((await currentUser(carol)).body.username, 'carol-c');
    await configure({ oidc_auto_onboard: true });
  });
});

describe('OIDC with oidc_verify_cert off', () => {
  it('still logs in (the provider is reached through the lenient fetch)', async () => {
    await configure({ oidc_verify_cert: false });
    const browser = new Browser();
    assert.equal((await login(browser, 'sub-alice')).status, 302);
    assert.equal((await currentUser(browser)).body.username, 'alice');
    await configure({ oidc_verify_cert: true });
  });
});

describe('secrets in logs', () => {
  it('never writes the client secret or a CLI secret to the log', async () => {
    assert.ok(logLines.length > 0);
    const all = logLines.join('\n');
    assert.ok(!all.includes(op.clientSecret), 'client secret logged');
    assert.ok(!all.includes('Alice-Cli-Secret-1'), 'CLI secret logged');
    assert.ok(all.includes('/c/oidc/callback?[redacted]'), 'callbacks are logged without their query');
    assert.ok(!/callback\?(code|state|error)=/.test(all), 'an authorization code or state logged');
  });
});
