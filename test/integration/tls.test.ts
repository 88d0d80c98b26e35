import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { loadConfig } from '../../src/config/load.ts';
import { ensureSelfSigned } from '../../src/http/tls/self-signed.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { startBerth } from '../../src/main.ts';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { basicAuth, RegistryClient, sha256 } from '../helpers/http.ts';

const admin = basicAuth(testAdmin);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  protocol: string;
}

/** One request over HTTP/2 with its own session (ALPN h2), trusting `ca`. */
async function viaHttp2(
  base: string,
  ca: Buffer,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Answer> {
  const session = http2Connect(base, { ca });
  try {
    return await new Promise((resolve, reject) => {
      session.on('error', reject);
      const stream = session.request({ ':method': method, ':path': path, ...headers }, { endStream: true });
      const chunks: Buffer[] = [];
      let response: Record<string, string | string[] | undefined> = {};
      stream.on('response', (received) => {
        response = received;
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', reject);
      stream.on('end', () =>
        resolve({
          status: Number(response[':status']),
          headers: response,
          body: Buffer.concat(chunks),
          protocol: session.alpnProtocol ?? '',
        }),
      );
    });
  } finally {
    session.close();
  }
}

/** One request over HTTP/1.1 on TLS (no ALPN offered, as older clients do), trusting `ca`. */
function viaHttps(
  base: string,
  ca: Buffer,
  path: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, base), { ca, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          protocol: `http/${res.httpVersion}`,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves with the negotiated protocol and TLS version, or rejects with the handshake's error. */
function handshake(
  port: number,
  options: { ca?: Buffer; servername?: string; host?: string; [key: string]: unknown },
): Promise<{ alpn: string | false | null; version: string | null; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: options.host ?? '127.0.0.1', port, ...options }, () => {
      resolve({ alpn: socket.alpnProtocol, version: socket.getProtocol(), authorized: socket.authorized });
      socket.end();
    });
    socket.on('error', reject);
  });
}

const portOf = (url: string) => Number(new URL(url).port);

describe('self-signed TLS', () => {
  let berth: TestBerth;
  let ca: Buffer;

  before(async () => {
    berth = await startTestBerth({
      'tls.selfSigned': true,
      'tls.hosts': ['registry.example.test', '192.0.2.7'],
    });
    ca = await readFile(berth.caFile!);
  });
  after(async () => {
    await berth?.destroy();
  });

  it('makes a CA and a server certificate under <data>/tls, keys readable by the owner only', async () => {
    assert.match(berth.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const dir = join(berth.dataDir, 'tls');
    for (const key of ['ca.key', 'server.key'])
      assert.equal((await stat(join(dir, key))).mode & 0o777, 0o600, key);
    const caCert = new X509Certificate(ca);
    const server = new X509Certificate(await readFile(join(dir, 'server.crt')));
    assert.equal(caCert.ca, true);
    assert.equal(server.ca, false);
    assert.equal(caCert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(server.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(server.verify(caCert.publicKey), 'the CA signed the server certificate');
    assert.ok(server.checkIssued(caCert));
    assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extended key usage: serverAuth');
    for (const name of ['localhost', 'registry.example.test']) assert.equal(server.checkHost(name), name);
    for (const ip of ['127.0.0.1', '::1', '192.0.2.7']) assert.equal(server.checkIP(ip), ip);
    assert.equal(server.checkHost('elsewhere.example.test'), undefined);
    const lifetime = (from: X509Certificate) => Date.parse(from.validTo) - Date.parse(from.validFrom);
    const days = (ms: number) => Math.round(ms / (24 * 3600 * 1000));
    assert.equal(days(lifetime(server)), 365);
    assert.equal(days(lifetime(caCert)), 3650);
  });

  it('presents a chain that node verifies against the CA, for every name', async () => {
    const port = portOf(berth.url);
    for (const servername of ['localhost', 'registry.example.test']) {
      const result = await handshake(port, { ca, servername });
      assert.equal(result.authorized, true, servername);
    }
    const byIp = await handshake(port, { ca, host: '127.0.0.1' });
    assert.equal(byIp.authorized, true);
    await assert.rejects(
      handshake(port, { servername: 'localhost' }),
      /self[- ]signed|unable to (get|verify)/i,
    );
    await assert.rejects(handshake(port, { ca, servername: 'elsewhere.example.test' }), /altnames/i);
  });

  it('answers /v2/ over HTTP/2 and HTTP/1.1, 401 anonymous and 200 with credentials', async () => {
    const h2 = await viaHttp2(berth.url, ca, '/v2/');
    assert.equal(h2.protocol, 'h2');
    assert.equal(h2.status, 401);
    assert.match(
      String(h2.headers['www-authenticate']),
      /^Bearer realm="https:\/\/127\.0\.0\.1:\d+\/service\/token"/,
    );
    assert.equal((await viaHttp2(berth.url, ca, '/v2/', { authorization: admin })).status, 200);
    const h1 = await viaHttps(berth.url, ca, '/v2/');
    assert.equal(h1.protocol, 'http/1.1');
    assert.equal(h1.status, 401);
    assert.equal((await viaHttps(berth.url, ca, '/v2/', { authorization: admin })).status, 200);
    const port = portOf(berth.url);
    assert.equal((await handshake(port, { ca, servername: 'localhost', ALPNProtocols: ['h2'] })).alpn, 'h2');
    assert.equal(
      (await handshake(port, { ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] })).alpn,
      'http/1.1',
    );
  });

  it('sends Strict-Transport-Security on every HTTPS response', async () => {
    for (const answer of [
      await viaHttp2(berth.url, ca, '/v2/'),
      await viaHttps(berth.url, ca, '/v2/no/such/manifests/latest', { authorization: admin }),
      await viaHttp2(berth.url, ca, '/healthz'),
    ]) {
      assert.equal(answer.headers['strict-transport-security'], 'max-age=31536000');
    }
  });

  it('refuses TLS 1.1 and older', async () => {
    // SECLEVEL=0 lets this client offer TLS 1.0/1.1 at all, so the refusal is the server's.
    await assert.rejects(
      handshake(portOf(berth.url), {
        ca,
        servername: 'localhost',
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      }),
      /alert protocol version/,
    );
    assert.equal(
      (await handshake(portOf(berth.url), { ca, servername: 'localhost', maxVersion: 'TLSv1.2' })).version,
      'TLSv1.2',
    );
  });

  it('keeps its CA and server certificate across restarts, and reissues only for new names', async () => {
    const dir = join(berth.dataDir, 'tls');
    const first = await readFile(join(dir, 'server.crt'));
    const same = await ensureSelfSigned(dir, [
      'localhost',
      '127.0.0.1',
      '::1',
      'registry.example.test',
      '192.0.2.7',
    ]);
    assert.equal(same.createdCa, false);
    assert.equal(same.issuedServer, false);
    assert.deepEqual(await readFile(join(dir, 'server.crt')), first);
    const wider = await ensureSelfSigned(dir, ['localhost', 'another.example.test']);
    assert.equal(wider.createdCa, false);
    assert.equal(wider.issuedServer, true);
    const reissued = new X509Certificate(await readFile(join(dir, 'server.crt')));
    assert.equal(reissued.checkHost('another.example.test'), 'another.example.test');
    assert.ok(reissued.checkIssued(new X509Certificate(ca)), 'the same CA signed it');
    const nearEnd = await ensureSelfSigned(dir, ['localhost'], new Date(Date.now() + 340 * 24 * 3600 * 1000));
    assert.equal(nearEnd.issuedServer, true, 'a certificate within 30 days of its end is issued again');
  });
});

describe('the trust instructions', () => {
  /** What Berth writes to stderr while it starts on `data`. */
  async function startupStderr(data: string): Promise<{ text: string; url: string }> {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const config = loadConfig({
        env: {},
        flags: { listen: '127.0.0.1:0', data, adminPassword: testAdmin.password, 'tls.selfSigned': true },
      });
      const berth = await startBerth(config, createLogger('silent'));
      await berth.close();
      return { text: written.join(''), url: berth.url };
    } finally {
      process.stderr.write = write;
    }
  }

  it('are printed once, when the CA is made: its path, and the commands for podman, docker and curl', async () => {
    const data = await makeTempDir('berth-tls-trust-');
    try {
      const first = await startupStderr(data);
      const caFile = join(data, 'tls', 'ca.crt');
      const registry = new URL(first.url).host;
      assert.ok(first.text.includes(`CA certificate: ${caFile}`), first.text);
      assert.ok(first.text.includes(`/etc/containers/certs.d/${registry}/ca.crt`), first.text);
      assert.ok(first.text.includes(`/etc/docker/certs.d/${registry}/ca.crt`), first.text);
      assert.ok(first.text.includes(`curl --cacert ${caFile} https://${registry}/v2/`), first.text);
      assert.equal((await startupStderr(data)).text, '', 'a restart keeps the CA and says nothing');
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});

describe('TLS with a given certificate and key', () => {
  let work: string;
  let material: { certFile: string; keyFile: string; caFile: string };

  before(async () => {
    work = await makeTempDir('berth-tls-');
    material = await ensureSelfSigned(join(work, 'pki'), ['localhost', '127.0.0.1']);
  });

  it('serves a chain file (server certificate, then the CA) with its key, TLS 1.3 only when asked', async () => {
    const chain = join(work, 'chain.pem');
    await writeFile(
      chain,
      Buffer.concat([await readFile(material.certFile), await readFile(material.caFile)]),
    );
    const berth = await startTestBerth({
      'tls.certFile': chain,
      'tls.keyFile': material.keyFile,
      'tls.minVersion': 'TLSv1.3',
      'tls.hsts': 0,
    });
    try {
      const ca = await readFile(material.caFile);
      const answer = await viaHttp2(berth.url, ca, '/v2/', { authorization: admin });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['strict-transport-security'], undefined, 'hsts: 0 sends none');
      const port = portOf(berth.url);
      assert.equal((await handshake(port, { ca, servername: 'localhost' })).version, 'TLSv1.3');
      await assert.rejects(handshake(port, { ca, servername: 'localhost', maxVersion: 'TLSv1.2' }));
    } finally {
      await berth.destroy();
    }
  });

  it('fails to start with a clear message when the files are wrong', async () => {
    const other = await ensureSelfSigned(join(work, 'other'), ['localhost']);
    const garbage = join(work, 'garbage.pem');
    await writeFile(garbage, 'not a certificate\n');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ 'tls.certFile': material.certFile }, /tls\.keyFile is missing/],
      [
        { 'tls.certFile': material.certFile, 'tls.keyFile': join(work, 'absent.key') },
        /tls\.keyFile: cannot read .*absent\.key.*ENOENT/,
      ],
      [
        { 'tls.certFile': material.certFile, 'tls.keyFile': other.keyFile },
        /tls\.keyFile .* does not match the certificate in tls\.certFile/,
      ],
      [
        { 'tls.certFile': garbage, 'tls.keyFile': material.keyFile },
        /tls\.certFile .* holds no PEM certificate/,
      ],
      [
        { 'tls.certFile': material.certFile, 'tls.keyFile': garbage },
        /tls\.keyFile .* holds no usable PEM private key/,
      ],
      [
        { 'tls.certFile': material.certFile, 'tls.keyFile': material.keyFile, 'tls.selfSigned': true },
        /exclude each other/,
      ],
      [{ 'tls.redirectHttpListen': '127.0.0.1:0' }, /tls\.redirectHttpListen needs HTTPS/],
    ];
    for (const [settings, message] of cases) {
      await assert.rejects(startTestBerth(settings), message, JSON.stringify(settings));
    }
  });
});

describe('the HTTP redirect listener', () => {
  let berth: TestBerth;
  let redirect: URL;

  before(async () => {
    berth = await startTestBerth({ 'tls.selfSigned': true, 'tls.redirectHttpListen': '127.0.0.1:0' });
    redirect = new URL(berth.redirectUrl!);
  });
  after(async () => {
    await berth?.destroy();
  });

  const plain = (path: string, method: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = httpRequest(new URL(path, redirect), { method, headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    });

  it('answers every request with 308 to the same path on HTTPS', async () => {
    const port = portOf(berth.url);
    const get = await plain('/v2/library/alpine/manifests/latest?x=1', 'GET');
    assert.equal(get.status, 308);
    assert.equal(get.headers.location, `https://127.0.0.1:${port}/v2/library/alpine/manifests/latest?x=1`);
    assert.equal(get.headers['strict-transport-security'], undefined, 'HSTS is for HTTPS responses only');
    const put = await plain('/v2/a/blobs/uploads/', 'POST', { host: `localhost:${redirect.port}` });
    assert.equal(put.status, 308);
    assert.equal(put.headers.location, `https://localhost:${port}/v2/a/blobs/uploads/`);
  });
});

describe('the registry over HTTP/2', () => {
  let berth: TestBerth;
  let client: RegistryClient;

  before(async () => {
    berth = await startTestBerth({ 'tls.selfSigned': true });
    client = new RegistryClient(berth.url);
  });
  after(async () => {
    await berth?.destroy();
  });

  it('pushes chunked (PATCH bodies without length, PUT with the last chunk) and pulls whole and by range', async () => {
    // Larger than the server's 1 MiB read size and not a multiple of it, so reused buffers are exercised.
    const blob = randomBytes(3 * 1024 * 1024 + 12_345);
    const digest = sha256(blob);
    const start = await client.request('POST', '/v2/h2/chunked/blobs/uploads/');
    assert.equal(start.status, 202);
    let location = start.header('location')!;
    const pieces = [blob.subarray(0, 1_000_000), blob.subarray(1_000_000, 2_500_000)];
    let offset = 0;
    for (const piece of pieces) {
      const patch = await client.request('PATCH', location, {
        body: (async function* () {
          for (let at = 0; at < piece.length; at += 64 * 1024) yield piece.subarray(at, at + 64 * 1024);
        })(),
      });
      assert.equal(patch.status, 202, patch.body.toString());
      offset += piece.length;
      assert.equal(patch.header('range'), `0-${offset - 1}`);
      location = patch.header('location')!;
    }
    const done = await client.request(
      'PUT',
      `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`,
      {
        body: (async function* () {
          yield blob.subarray(2_500_000);
        })(),
      },
    );
    assert.equal(done.status, 201, done.body.toString());

    const whole = await client.request('GET', `/v2/h2/chunked/blobs/${digest}`);
    assert.equal(whole.status, 200);
    assert.equal(whole.header('content-length'), String(blob.length));
    assert.equal(sha256(whole.body), digest);
    const range = await client.request('GET', `/v2/h2/chunked/blobs/${digest}`, {
      headers: { range: 'bytes=1048000-2200000' },
    });
    assert.equal(range.status, 206);
    assert.equal(range.header('content-range'), `bytes 1048000-2200000/${blob.length}`);
    assert.deepEqual(range.body, blob.subarray(1_048_000, 2_200_001));
    const parallel = await Promise.all(
      Array.from({ length: 4 }, () => client.request('GET', `/v2/h2/chunked/blobs/${digest}`)),
    );
    for (const copy of parallel)
      assert.equal(sha256(copy.body), digest, 'streams sharing one session stay intact');
    const head = await client.request('HEAD', `/v2/h2/chunked/blobs/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.header('content-length'), String(blob.length));
    assert.equal(head.body.length, 0);
  });

  it('pushes and pulls an image manifest, and answers a too-large manifest with an error', async () => {
    const image = await client.pushImage('h2/image', 'v1', { layers: ['one', 'two'] });
    const pulled = await client.request('GET', '/v2/h2/image/manifests/v1', {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(pulled.status, 200);
    assert.deepEqual(pulled.body, image.bytes);
    assert.equal(pulled.header('docker-content-digest'), image.digest);

    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const huge = await client.request('PUT', '/v2/h2/image/manifests/huge', {
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body: Buffer.alloc(berth.config.registry.manifestMaxBytes + 1, 0x20),
      });
      assert.equal(huge.status, 413);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, [], 'no connection-specific header reaches HTTP/2');
    assert.equal((await client.request('GET', '/v2/h2/image/manifests/v1')).status, 200);
  });

  it('survives a client that resets its stream mid-upload, and serves the next request', async () => {
    const session = http2Connect(berth.url, { ca: await readFile(berth.caFile!) });
    try {
      const start = await client.request('POST', '/v2/h2/reset/blobs/uploads/');
      const stream = session.request({
        ':method': 'PATCH',
        ':path': start.header('location')!,
        authorization: admin,
        'content-length': '1000000',
      });
      stream.on('error', () => {});
      stream.write(randomBytes(100_000));
      await new Promise((resolve) => setTimeout(resolve, 100));
      stream.close(0x8); // CANCEL
      await new Promise((resolve) => stream.on('close', resolve));
      const status = await client.request('GET', start.header('location')!);
      assert.equal(status.status, 204);
      assert.equal(status.header('range'), '0-0', 'the interrupted chunk did not count');
    } finally {
      session.close();
    }
    const digest = await client.pushBlob('h2/reset', 'after the reset');
    assert.equal(
      (await client.request('GET', `/v2/h2/reset/blobs/${digest}`)).body.toString(),
      'after the reset',
    );
  });
});

describe('a stalled upload over HTTP/2', () => {
  it('is cut off after the idle timeout, and the partial chunk does not count', async () => {
    const berth = await startTestBerth({ 'tls.selfSigned': true, 'http.idleTimeoutSeconds': 1 });
    const session = http2Connect(berth.url, { ca: await readFile(berth.caFile!) });
    session.on('error', () => {});
    try {
      const client = new RegistryClient(berth.url);
      const location = (await client.request('POST', '/v2/h2/stalled/blobs/uploads/')).header('location')!;
      const began = Date.now();
      await new Promise<void>((resolve) => {
        const stream = session.request({
          ':method': 'PATCH',
          ':path': location,
          authorization: admin,
          'content-length': '100',
          'content-range': '0-99',
        });
        stream.on('error', () => {});
        stream.on('close', () => resolve());
        stream.write('abc');
      });
      assert.ok(Date.now() - began < 5_000, 'the server closed the silent stream');
      assert.equal((await client.request('GET', location)).header('range'), '0-0');
      assert.equal((await client.request('DELETE', location)).status, 204);
    } finally {
      session.close();
      await berth.destroy();
    }
  });
});
