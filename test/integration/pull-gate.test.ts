import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadSecretBox } from '../../src/access/secret-key-file.ts';
import { TokenService } from '../../src/access/token-service.ts';
import { openDatabase } from '../../src/db/open.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { issueScanCredential } from '../../src/scanner-adapter/scan-credential.ts';
import { apiRequest, auditEntries } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { type Credentials, RegistryClient, sha256 } from '../helpers/http.ts';
import { tarOf } from '../helpers/layer-tars.ts';
import { createNotationPki, notationSignature } from '../helpers/notation-sign.ts';
import { finishedReport } from '../helpers/scan-wait.ts';

/**
 * Pull-time content trust over real HTTP: images signed in the test (Cosign's simple-signing
 * payload signed with node:crypto, pushed under the `sha256-<hex>.sig` tag and as an OCI 1.1
 * referrer; Notation JWS from the notation test PKI), a project trusting one key, and the
 * manifest GETs the gate allows or refuses.
 */

const member: Credentials = { username: 'gate-guest', password: 'Gate-Guest-Pass-1' };
const manifestType = 'application/vnd.oci.image.manifest.v1+json';

let berth: TestBerth;
let registry: RegistryClient;

function api(method: string, path: string, body?: unknown, as: Credentials | null = testAdmin) {
  return apiRequest(berth, as, method, path, body);
}

async function ok(method: string, path: string, body?: unknown) {
  const response = await api(method, path, body);
  assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${response.body}`);
  return response;
}

function keyPair(): { privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** What cosign signs: the simple-signing payload naming the image by digest. */
function simpleSigningPayload(repository: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': `${new URL(berth.url).host}/${repository}` },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}

/**
 * Signs `digest` as cosign does and pushes the signature: under `sha256-<hex>.sig` (cosign's
 * default), or as a referrer with cosign's signature artifact type (OCI 1.1 mode).
 */
async function cosignSign(
  repository: string,
  subject: { digest: string; size: number },
  privateKey: KeyObject,
  mode: 'tag' | 'referrer',
  forgery: { claimedDigest?: string; tamper?: boolean } = {},
): Promise<string> {
  const signed = simpleSigningPayload(repository, forgery.claimedDigest ?? subject.digest);
  const signature = sign('sha256', signed, privateKey).toString('base64');
  // A tampered payload: one byte of the signed JSON changed after signing (still valid JSON).
  const payload = forgery.tamper
    ? Buffer.from(signed.toString('utf8').replace('"critical"', '"critical" '))
    : signed;
  const payloadDigest = await registry.pushBlob(repository, payload);
  const layer = {
    mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
    digest: payloadDigest,
    size: payload.length,
    annotations: { 'dev.cosignproject.cosign/signature': signature },
  };
  let manifest: Record<string, unknown>;
  if (mode === 'tag') {
    const config = Buffer.from(
      JSON.stringify({
        architecture: '',
        config: {},
        created: '0001-01-01T00:00:00Z',
        history: [{ created: '0001-01-01T00:00:00Z' }],
        os: '',
        rootfs: { type: 'layers', diff_ids: [payloadDigest] },
      }),
    );
    const configDigest = await registry.pushBlob(repository, config);
    manifest = {
      schemaVersion: 2,
      mediaType: manifestType,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [layer],
    };
  } else {
    const empty = Buffer.from('{}');
    manifest = {
      schemaVersion: 2,
      mediaType: manifestType,
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      config: {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: await registry.pushBlob(repository, empty),
        size: 2,
      },
      layers: [layer],
      subject: { mediaType: manifestType, digest: subject.digest, size: subject.size },
    };
  }
  const bytes = Buffer.from(JSON.stringify(manifest));
  const reference = mode === 'tag' ? `${subject.digest.replace(':', '-')}.sig` : sha256(bytes);
  const pushed = await registry.putManifest(repository, reference, bytes, manifestType);
  assert.equal(pushed.status, 201, pushed.body.toString());
  return sha256(bytes);
}

function pull(repository: string, reference: string) {
  return registry.request('GET', `/v2/${repository}/manifests/${reference}`, {
    headers: { accept: manifestType },
  });
}

before(async () => {
  berth = await startTestBerth();
  registry = new RegistryClient(berth.url);
  await ok('POST', '/users', {
    username: member.username,
    password: member.password,
    email: 'gate-guest@example.com',
    realname: 'Gate Guest',
  });
  for (const project of ['signed', 'notary', 'guarded']) {
    await ok('POST', '/projects', { project_name: project, metadata: { public: 'false' } });
    await ok('POST', `/projects/${project}/members`, {
      role_id: 3,
      member_user: { username: member.username },
    });
  }
});

after(async () => {
  await berth?.destroy();
});

describe('trust policy API', () => {
  it('is empty at first, readable by members, changed by project admins only', async () => {
    const empty = await api('GET', '/projects/signed/trust-policy', undefined, member);
    assert.equal(empty.status, 200, empty.body.toString());
    assert.deepEqual(empty.json(), {
      cosign_keys: [],
      keyless_identities: [],
      notation_trust_stores: [],
      notation_trusted_identities: [],
    });
    const { publicPem } = keyPair();
    const refused = await api(
      'PUT',
      '/projects/signed/trust-policy',
      { cosign_keys: [{ name: 'mine', public_key: publicPem }] },
      member,
    );
    assert.equal(refused.status, 403, refused.body.toString());
    assert.equal((await api('GET', '/projects/signed/trust-policy', undefined, null)).status, 401);
  });

  it('refuses keys and certificates that do not parse, with a clear 400', async () => {
    const cases: [unknown, RegExp][] = [
      [{ cosign_keys: [{ name: 'bad', public_key: 'not a key' }] }, /cosign_keys\[0\]: not PEM/],
      [
        {
          cosign_keys: [
            { name: 'bad', public_key: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' },
          ],
        },
        /cosign_keys\[0\]: the public key does not parse/,
      ],
      [
        {
          cosign_keys: [
            {
              name: 'p384',
              public_key: generateKeyPairSync('ec', { namedCurve: 'P-384' })
                .publicKey.export({ type: 'spki', format: 'pem' })
                .toString(),
            },
          ],
        },
        /EC secp384r1 keys are not supported/,
      ],
      [
        {
          notation_trust_stores: [
            { name: 'ca', certificates: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'] },
          ],
        },
        /notation_trust_stores\[0\]\.certificates\[0\]: the certificate does not parse/,
      ],
      [
        { notation_trusted_identities: ['CN=x'] },
        /notation_trusted_identities\[0\]: unsupported trusted identity/,
      ],
      [
        { notation_trusted_identities: ['x509.subject: C=US, O=Acme'] },
        /notation_trusted_identities\[0\]: trusted identity .* must name C, ST and O/,
      ],
      [{ keyless_identities: [{ issuer: 'http://issuer', subject: 'me' }] }, /https URL/],
    ];
    for (const [body, message] of cases) {
      const response = await api('PUT', '/projects/signed/trust-policy', body);
      assert.equal(response.status, 400, `${JSON.stringify(body)}: ${response.body}`);
      const errors = response.json<{ errors: { code: string; message: string }[] }>().errors;
      assert.equal(errors[0]!.code, 'BAD_REQUEST');
      assert.match(errors[0]!.message, message);
    }
  });
});

describe('cosign content trust', () => {
  const repository = 'signed/app';
  const trusted = keyPair();
  const other = keyPair();
  let image: { digest: string; size: number };
  let signature: string;

  before(async () => {
    image = await registry.pushImage(repository, 'v1');
    const put = await ok('PUT', '/projects/signed/trust-policy', {
      cosign_keys: [{ name: 'release', public_key: trusted.publicPem }],
    });
    assert.equal(put.json<{ cosign_keys: unknown[] }>().cosign_keys.length, 1);
  });

  it('serves the unsigned image while the project does not enforce content trust', async () => {
    assert.equal((await pull(repository, 'v1')).status, 200);
  });

  it('refuses the unsigned image once it does, with DENIED naming the policy; HEAD stays allowed', async () => {
    await ok('PUT', '/projects/signed', { metadata: { enable_content_trust_cosign: 'true' } });
    const refused = await pull(repository, 'v1');
    assert.equal(refused.status, 403);
    assert.equal(refused.errorCode(), 'DENIED');
    const message = refused.json<{ errors: { message: string }[] }>().errors[0]!.message;
    assert.equal(message, `content trust (cosign): no cosign signature of ${image.digest} was found`);
    const head = await registry.request('HEAD', `/v2/${repository}/manifests/v1`, {
      headers: { accept: manifestType },
    });
    assert.equal(head.status, 200);
    // No role bypasses it: the project's guest is refused as the administrator is.
    assert.equal(
      (await registry.as(member).request('GET', `/v2/${repository}/manifests/${image.digest}`)).status,
      403,
    );
    const denied = (await auditEntries(berth)).find(
      (entry) => entry.result === 'denied' && entry.resource === `${repository}@${image.digest}`,
    );
    assert.ok(denied, 'the refused pull is audited');
    assert.equal(denied.operation, 'pull');
    assert.match(denied.detail ?? '', /content trust \(cosign\)/);
  });

  it('serves the image signed with the trusted key (tag scheme), and the signature itself', async () => {
    signature = await cosignSign(repository, image, trusted.privateKey, 'tag');
    assert.equal((await pull(repository, 'v1')).status, 200);
    assert.equal((await pull(repository, image.digest)).status, 200);
    const signatureTag = `${image.digest.replace(':', '-')}.sig`;
    assert.equal((await pull(repository, signatureTag)).status, 200);
    assert.equal((await pull(repository, signature)).status, 200);
  });

  it('lists the signature as a cosign accessory and records who signed', async () => {
    const path = `/projects/signed/repositories/app/artifacts/v1`;
    const accessories = await ok('GET', `${path}/accessories`);
    assert.equal(accessories.header('x-total-count'), '1');
    const [accessory] = accessories.json<Record<string, unknown>[]>();
    assert.equal(accessory!.digest, signature);
    assert.equal(accessory!.type, 'signature.cosign');
    assert.equal(accessory!.subject_artifact_digest, image.digest);
    assert.equal(accessory!.subject_artifact_repo, repository);
    const view = (await ok('GET', `${path}?with_accessory=true&with_signature=true`)).json<{
      accessories: { digest: string; type: string }[];
      signatures: { format: string; signer: string; method: string; signature_digest: string }[];
    }>();
    assert.deepEqual(
      view.accessories.map((entry) => [entry.digest, entry.type]),
      [[signature, 'signature.cosign']],
    );
    assert.equal(view.signatures.length, 1);
    assert.deepEqual(
      { ...view.signatures[0], verified_at: undefined },
      {
        format: 'cosign',
        signer: 'release',
        method: 'key',
        signature_digest: signature,
        verified_at: undefined,
      },
    );
    const listed = (await ok('GET', '/projects/signed/repositories/app/artifacts')).json<
      { digest: string }[]
    >();
    assert.deepEqual(
      listed.map((entry) => entry.digest),
      [image.digest],
      'the tag-scheme signature is not an artifact of its own',
    );
  });

  it('serves an image signed as an OCI 1.1 referrer', async () => {
    const second = await registry.pushImage(repository, 'v2');
    assert.equal((await pull(repository, 'v2')).status, 403);
    const referrer = await cosignSign(repository, second, trusted.privateKey, 'referrer');
    assert.equal((await pull(repository, 'v2')).status, 200);
    assert.equal((await pull(repository, referrer)).status, 200);
  });

  it('refuses an image signed with a key the project does not trust', async () => {
    const third = await registry.pushImage(repository, 'v3');
    await cosignSign(repository, third, other.privateKey, 'tag');
    const refused = await pull(repository, 'v3');
    assert.equal(refused.status, 403);
    assert.match(
      refused.json<{ errors: { message: string }[] }>().errors[0]!.message,
      new RegExp(
        `^content trust \\(cosign\\): no signature of ${third.digest} verifies against the project's trusted keys or identities: .+`,
      ),
    );
  });

  it('refuses a trusted key’s signature over another digest, and a tampered payload', async () => {
    const fourth = await registry.pushImage(repository, 'v4');
    // Signed by the trusted key, but the payload names image v1: a signature moved to v4.
    await cosignSign(repository, fourth, trusted.privateKey, 'tag', { claimedDigest: image.digest });
    const moved = await pull(repository, 'v4');
    assert.equal(moved.status, 403);
    assert.match(
      moved.json<{ errors: { message: string }[] }>().errors[0]!.message,
      /content trust \(cosign\)/,
    );

    const fifth = await registry.pushImage(repository, 'v5');
    await cosignSign(repository, fifth, trusted.privateKey, 'referrer', { tamper: true });
    const tampered = await pull(repository, 'v5');
    assert.equal(tampered.status, 403);
    assert.match(
      tampered.json<{ errors: { message: string }[] }>().errors[0]!.message,
      /the signature verifies with none of the 1 trusted keys$/,
    );
    // The same image signed properly as well: one good signature is enough.
    await cosignSign(repository, fifth, trusted.privateKey, 'tag');
    assert.equal((await pull(repository, 'v5')).status, 200);
  });

  it('serves the children of a signed index by digest, not those of an unsigned one', async () => {
    const child = await registry.pushImage(repository, 'linux-amd64');
    const index = (tag: string) => ({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: manifestType,
          digest: child.digest,
          size: child.size,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
      annotations: { 'org.example.tag': tag },
    });
    const indexType = 'application/vnd.oci.image.index.v1+json';
    const unsignedIndex = await registry.putManifest(
      repository,
      'multi-unsigned',
      index('unsigned'),
      indexType,
    );
    assert.equal(unsignedIndex.status, 201);
    assert.equal((await pull(repository, child.digest)).status, 403);
    const signedBytes = Buffer.from(JSON.stringify(index('signed')));
    assert.equal((await registry.putManifest(repository, 'multi', signedBytes, indexType)).status, 201);
    await cosignSign(
      repository,
      { digest: sha256(signedBytes), size: signedBytes.length },
      trusted.privateKey,
      'tag',
    );
    const multi = await registry.request('GET', `/v2/${repository}/manifests/multi`, {
      headers: { accept: indexType },
    });
    assert.equal(multi.status, 200);
    assert.equal((await pull(repository, child.digest)).status, 200);
    assert.equal(
      (
        await registry.request('GET', `/v2/${repository}/manifests/multi-unsigned`, {
          headers: { accept: indexType },
        })
      ).status,
      403,
    );
  });

  it('gives no exemption to a runnable image dressed as an accessory', async () => {
    const signed = await registry.pushImage(repository, 'anchor');
    await cosignSign(repository, signed, trusted.privateKey, 'tag');
    const subject = { mediaType: manifestType, digest: signed.digest, size: signed.size };
    const referrer = await registry.pushImage(repository, 'with-subject', { subject });
    assert.equal((await pull(repository, referrer.digest)).status, 403);
    const signatureLike = await registry.pushImage(repository, 'typed', {
      subject,
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
    });
    assert.equal((await pull(repository, signatureLike.digest)).status, 403);
  });

  it('refuses the image again once its signature is deleted', async () => {
    const deleted = await registry.request('DELETE', `/v2/${repository}/manifests/${signature}`);
    assert.equal(deleted.status, 202);
    assert.equal((await pull(repository, 'v1')).status, 403);
  });

  it('deletes an image’s accessories with it, through /v2 and through the API', async () => {
    signature = await cosignSign(repository, image, trusted.privateKey, 'tag');
    assert.equal((await pull(repository, 'v1')).status, 200);
    const deleted = await registry.request('DELETE', `/v2/${repository}/manifests/${image.digest}`);
    assert.equal(deleted.status, 202);
    assert.equal((await pull(repository, signature)).status, 404);
    assert.equal((await pull(repository, `${image.digest.replace(':', '-')}.sig`)).status, 404);

    const second = await registry.request(
      'GET',
      `/v2/${repository}/referrers/${(await pull(repository, 'v2')).header('docker-content-digest')}`,
    );
    const [referrer] = second.json<{ manifests: { digest: string }[] }>().manifests;
    assert.ok(referrer);
    await ok('DELETE', '/projects/signed/repositories/app/artifacts/v2');
    assert.equal((await pull(repository, referrer.digest)).status, 404);
  });

  it('applies a trust policy change at once', async () => {
    const fourth = await registry.pushImage(repository, 'v4');
    await cosignSign(repository, fourth, other.privateKey, 'tag');
    assert.equal((await pull(repository, 'v4')).status, 403);
    await ok('PUT', '/projects/signed/trust-policy', {
      cosign_keys: [
        { name: 'release', public_key: trusted.publicPem },
        { name: 'partner', public_key: other.publicPem },
      ],
    });
    assert.equal((await pull(repository, 'v4')).status, 200);
    await ok('PUT', '/projects/signed', { metadata: { enable_content_trust_cosign: 'false' } });
    assert.equal((await pull(repository, 'v3')).status, 200);
  });
});

describe('notation content trust', () => {
  const repository = 'notary/app';

  it('refuses unsigned and untrusted images, serves one signed by a trusted CA chain', async () => {
    const pki = await createNotationPki();
    const stranger = await createNotationPki();
    await ok('PUT', '/projects/notary/trust-policy', {
      notation_trust_stores: [{ name: 'company', certificates: [pki.rootPem] }],
      notation_trusted_identities: [pki.identity],
    });
    await ok('PUT', '/projects/notary', { metadata: { enable_content_trust: 'true' } });
    const image = await registry.pushImage(repository, 'v1');
    const unsigned = await pull(repository, 'v1');
    assert.equal(unsigned.status, 403);
    assert.equal(
      unsigned.json<{ errors: { message: string }[] }>().errors[0]!.message,
      `content trust (notation): no notation signature of ${image.digest} was found`,
    );

    const target = { digest: image.digest, mediaType: manifestType, size: image.size };
    for (const [signer, expected] of [
      [stranger, 403],
      [pki, 200],
    ] as const) {
      const artifact = await notationSignature(signer, { target });
      for (const blob of artifact.blobs) await registry.pushBlob(repository, blob.bytes);
      const pushed = await registry.putManifest(
        repository,
        artifact.manifestDigest,
        artifact.manifest,
        manifestType,
      );
      assert.equal(pushed.status, 201, pushed.body.toString());
      const response = await pull(repository, 'v1');
      assert.equal(response.status, expected, response.body.toString());
      // The signature is an accessory: always pullable.
      assert.equal((await pull(repository, artifact.manifestDigest)).status, 200);
    }
    // A leaf certificate that expired yesterday, from the trusted CA: refused.
    const day = 24 * 3600 * 1000;
    const expired = await createNotationPki({
      leafNotBefore: new Date(Date.now() - 30 * day),
      leafNotAfter: new Date(Date.now() - day),
    });
    await ok('PUT', '/projects/notary/trust-policy', {
      notation_trust_stores: [{ name: 'company', certificates: [pki.rootPem, expired.rootPem] }],
      notation_trusted_identities: [pki.identity, expired.identity],
    });
    const later = await registry.pushImage(repository, 'v2');
    const old = await notationSignature(expired, {
      target: { digest: later.digest, mediaType: manifestType, size: later.size },
      signingTime: new Date(Date.now() - 2 * day),
    });
    for (const blob of old.blobs) await registry.pushBlob(repository, blob.bytes);
    assert.equal(
      (await registry.putManifest(repository, old.manifestDigest, old.manifest, manifestType)).status,
      201,
    );
    const refused = await pull(repository, 'v2');
    assert.equal(refused.status, 403);
    assert.match(
      refused.json<{ errors: { message: string }[] }>().errors[0]!.message,
      /content trust \(notation\)/,
    );

    const accessories = (await ok('GET', '/projects/notary/repositories/app/artifacts/v1/accessories')).json<
      { type: string }[]
    >();
    assert.deepEqual(
      accessories.map((entry) => entry.type),
      ['signature.notation', 'signature.notation'],
    );
  });
});

describe('vulnerability prevention', () => {
  const repository = 'guarded/app';

  it('refuses an image not scanned yet, and serves it once its scan finds nothing at the threshold', async () => {
    await ok('PUT', '/projects/guarded', { metadata: { prevent_vul: 'true', severity: 'high' } });
    // An Alpine root with an empty package database: the built-in scanner reads it as Alpine
    // 3.17 with no packages, so its report is a successful one with no vulnerabilities.
    const layer = gzipSync(
      await tarOf([
        { name: 'etc/os-release', content: 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.17.2\n' },
        { name: 'lib/apk/db/installed', content: '' },
      ]),
    );
    const image = await registry.pushImage(repository, 'v1', { layers: [layer] });
    const refused = await pull(repository, 'v1');
    assert.equal(refused.status, 403);
    assert.equal(refused.errorCode(), 'DENIED');
    assert.match(
      refused.json<{ errors: { message: string }[] }>().errors[0]!.message,
      /^vulnerability prevention \(severity high\): the image has not been scanned for vulnerabilities/,
    );
    await ok('POST', '/projects/guarded/repositories/app/artifacts/v1/scan', {});
    const report = await finishedReport(berth, 'guarded', 'app', image.digest);
    assert.equal(report.vulnerabilities.length, 0);
    // The finished scan dropped the cached refusal: no waiting for it to expire.
    assert.equal((await pull(repository, 'v1')).status, 200);

    // A multi-platform image: the scan of its index reads its linux/amd64 image, whose pull by
    // digest (what a client does after reading the index) that report then judges.
    const child = await registry.pushImage(repository, 'amd64', { layers: [layer] });
    const other = await registry.pushImage(repository, 'arm64', { layers: [layer] });
    const indexType = 'application/vnd.oci.image.index.v1+json';
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: indexType,
        manifests: [
          {
            mediaType: manifestType,
            digest: other.digest,
            size: other.size,
            platform: { os: 'linux', architecture: 'arm64' },
          },
          {
            mediaType: manifestType,
            digest: child.digest,
            size: child.size,
            platform: { os: 'linux', architecture: 'amd64' },
          },
        ],
      }),
    );
    assert.equal((await registry.putManifest(repository, 'multi', index, indexType)).status, 201);
    assert.equal((await pull(repository, child.digest)).status, 403);
    await ok('POST', '/projects/guarded/repositories/app/artifacts/multi/scan', {});
    await finishedReport(berth, 'guarded', 'app', sha256(index));
    const multi = await registry.request('GET', `/v2/${repository}/manifests/multi`, {
      headers: { accept: indexType },
    });
    assert.equal(multi.status, 200, multi.body.toString());
    assert.equal((await pull(repository, child.digest)).status, 200);
    // The arm64 image was not scanned: nothing judged it.
    assert.equal((await pull(repository, other.digest)).status, 403);
  });
});

describe('scanner exemption', () => {
  it("lets Berth's own scan credential pull an image the policies refuse, and nobody else", async () => {
    const repository = 'guarded/unscanned';
    const image = await registry.pushImage(repository, 'v1');
    assert.equal((await pull(repository, 'v1')).status, 403);
    const db = openDatabase(berth.config.database);
    try {
      const tokens = new TokenService({
        db,
        clock: systemClock,
        secrets: loadSecretBox(berth.config.auth.secretKeyFile),
        issuer: berth.config.auth.tokenService,
        service: berth.config.auth.tokenService,
        ttlSeconds: 60,
        refreshTtlSeconds: 3600,
        rotationMs: 24 * 3600 * 1000,
      });
      const credential = await issueScanCredential(
        { db, tokens, clock: systemClock, ttlSeconds: 60 },
        repository,
        'external-scanner',
      );
      const asScanner = { authorization: credential.authorization, accept: manifestType };
      const scanned = await registry.request('GET', `/v2/${repository}/manifests/${image.digest}`, {
        headers: asScanner,
      });
      assert.equal(scanned.status, 200, scanned.body.toString());

      // A robot a project admin names like a scan credential gets no exemption.
      const robot = await ok('POST', '/robots', {
        name: 'scanner-0123456789ab',
        level: 'project',
        duration: -1,
        permissions: [
          {
            kind: 'project',
            namespace: 'guarded',
            access: [{ resource: 'repository', action: 'pull' }],
          },
        ],
      });
      const { name, secret } = robot.json<{ name: string; secret: string }>();
      const lookalike = await registry
        .as({ username: name, password: secret })
        .request('GET', `/v2/${repository}/manifests/${image.digest}`, { headers: { accept: manifestType } });
      assert.equal(lookalike.status, 403);

      await credential.revoke();
      const revoked = await registry.request('GET', `/v2/${repository}/manifests/${image.digest}`, {
        headers: asScanner,
      });
      assert.notEqual(revoked.status, 200);
    } finally {
      await db.close();
    }
  });
});
