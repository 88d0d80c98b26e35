import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { digestOf } from '../../src/oci/digest.ts';
import { mediaTypes } from '../../src/oci/media-types.ts';
import {
  buildSimpleSigningPayload,
  CosignVerifier,
  cosign,
  cosignSignatureManifests,
  cosignSignatureTag,
  SigstoreTrustedRoot,
  signPayload,
} from '../../src/trust/cosign/index.ts';
import type { ProjectTrust, RegistryContent, SignatureArtifact } from '../../src/trust/signature-verifier.ts';
import { inCi } from '../helpers/tools.ts';

const fixtures = '/usr/share/gocode/src/github.com/containers/image/signature/fixtures';
const missingFixtures = existsSync(join(fixtures, 'cosign.pub'))
  ? false
  : 'golang-github-containers-image-dev is not installed (scripts/ensure-tools.sh installs it)';
if (missingFixtures && inCi) throw new Error(`${missingFixtures}; CI=true forbids skipping`);
const ours = join(import.meta.dirname, '..', 'fixtures', 'cosign');

/** Content-addressed bytes, as a registry holds them: every put is keyed by its own digest. */
class ContentStore implements RegistryContent {
  private readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  private readonly blobs = new Map<string, Buffer>();
  putManifest(bytes: Buffer, mediaType: string): string {
    const digest = digestOf(bytes);
    this.manifests.set(digest, { bytes, mediaType });
    return digest;
  }
  putBlob(bytes: Buffer): string {
    const digest = digestOf(bytes);
    this.blobs.set(digest, bytes);
    return digest;
  }
  async manifest(_repository: string, digest: string) {
    return this.manifests.get(digest);
  }
  async blob(digest: string, maxBytes: number) {
    const bytes = this.blobs.get(digest);
    return bytes && bytes.length <= maxBytes ? bytes : undefined;
  }
}

/** containers/image's stored form of a cosign signature layer: `\0sigstore-json\n` + JSON. */
function readContainersImageSignature(path: string): {
  payload: Buffer;
  annotations: Record<string, string>;
} {
  const raw = readFileSync(path);
  const json = JSON.parse(raw.subarray(raw.indexOf('\n') + 1).toString('utf8')) as {
    payload: string;
    annotations: Record<string, string>;
  };
  return { payload: Buffer.from(json.payload, 'base64'), annotations: json.annotations };
}

const subjectOf = (bytes: Buffer, mediaType: string) => ({
  mediaType,
  digest: digestOf(bytes),
  size: bytes.length,
});

/** Stores `layers` as cosign does under the `.sig` tag (or as a referrer) and returns the artifact. */
function storeSignature(
  store: ContentStore,
  subject: { mediaType: string; digest: string; size: number },
  layers: { payload: Buffer; annotations: Record<string, string> }[],
  via: 'tag' | 'referrers',
): SignatureArtifact {
  let earlier: ReturnType<typeof cosignSignatureManifests>['tag'] | undefined;
  let descriptors: import('../../src/oci/manifest.ts').Descriptor[] = [];
  for (const { payload, annotations } of layers) {
    const { [cosign.signatureAnnotation]: signature, ...rest } = annotations;
    const built = cosignSignatureManifests(
      descriptors,
      { payload, signature: signature!, annotations: rest },
      subject as never,
      new Date(0),
    );
    store.putBlob(payload);
    earlier = via === 'tag' ? built.tag : built.referrer;
    descriptors = (JSON.parse(built.tag.bytes.toString()) as { layers: typeof descriptors }).layers;
    for (const blob of earlier.blobs) store.putBlob(blob);
  }
  const digest = store.putManifest(earlier!.bytes, earlier!.mediaType);
  return via === 'tag'
    ? { repository: 'r', digest, mediaType: mediaTypes.ociManifest, via }
    : {
        repository: 'r',
        digest,
        mediaType: mediaTypes.ociManifest,
        artifactType: cosign.signatureArtifactType,
        via,
      };
}

const trustKeys = (...keys: { name: string; pem: string }[]): ProjectTrust => ({
  cosignKeys: keys,
  keylessIdentities: [],
  notationTrustStores: [],
  notationTrustedIdentities: [],
});
const now = new Date('2026-01-01T00:00:00Z');
const verifier = new CosignVerifier();

describe('cosign signatures made by cosign (containers/image fixtures)', { skip: missingFixtures }, () => {
  const image = () => readFileSync(join(fixtures, 'dir-img-cosign-valid', 'manifest.json'));
  const cosignPub = () => ({ name: 'cosign.pub', pem: readFileSync(join(fixtures, 'cosign.pub'), 'utf8') });
  const valid = () => readContainersImageSignature(join(fixtures, 'dir-img-cosign-valid', 'signature-1'));

  for (const via of ['tag', 'referrers'] as const) {
    it(`verifies the valid signature with cosign.pub (via ${via})`, async () => {
      const store = new ContentStore();
      const subject = subjectOf(image(), mediaTypes.dockerManifest);
      const artifact = storeSignature(store, subject, [valid()], via);
      assert.ok(verifier.recognises(artifact));
      const outcome = await verifier.verify(subject.digest, [artifact], trustKeys(cosignPub()), store, now);
      assert.deepEqual(outcome.failures, []);
      assert.deepEqual(outcome.verified, [
        { format: 'cosign', signatureDigest: artifact.digest, signer: 'cosign.pub', method: 'key' },
      ]);
    });
  }

  it('rejects it for a modified manifest and for another manifest (digest error)', async () => {
    for (const other of [
      join(fixtures, 'dir-img-cosign-modified-manifest', 'manifest.json'),
      join(fixtures, 'dir-img-cosign-manifest-digest-error', 'manifest.json'),
    ]) {
      const store = new ContentStore();
      const subject = subjectOf(readFileSync(other), mediaTypes.dockerManifest);
      const artifact = storeSignature(store, subject, [valid()], 'tag');
      const outcome = await verifier.verify(subject.digest, [artifact], trustKeys(cosignPub()), store, now);
      assert.deepEqual(outcome.verified, []);
      assert.match(outcome.failures[0]!.reason, /the payload signs sha256:634a8f35.*, not sha256:/);
    }
  });

  it('rejects a signature by an unknown key, and keeps the good one of a mixed set', async () => {
    const store = new ContentStore();
    const subject = subjectOf(image(), mediaTypes.dockerManifest);
    const unknown = readContainersImageSignature(join(fixtures, 'unknown-cosign-key.signature'));
    const alone = storeSignature(store, subject, [unknown], 'tag');
    const rejected = await verifier.verify(subject.digest, [alone], trustKeys(cosignPub()), store, now);
    assert.deepEqual(rejected.verified, []);
    assert.match(rejected.failures[0]!.reason, /verifies with none of the 1 trusted keys/);

    const mixed = storeSignature(store, subject, [unknown, valid()], 'tag');
    const outcome = await verifier.verify(subject.digest, [mixed], trustKeys(cosignPub()), store, now);
    assert.equal(outcome.verified.length, 1);
    assert.equal(outcome.failures.length, 1);
    assert.match(outcome.failures[0]!.reason, /^signature 1 of 2: /);
  });

  it('rejects a non-simple-signing attachment and a key the project does not trust', async () => {
    const store = new ContentStore();
    const subject = subjectOf(image(), mediaTypes.dockerManifest);
    const attachment = readContainersImageSignature(
      join(fixtures, 'dir-img-cosign-other-attachment', 'signature-1'),
    );
    const artifact = storeSignature(store, subject, [attachment], 'tag');
    const outcome = await verifier.verify(subject.digest, [artifact], trustKeys(cosignPub()), store, now);
    assert.deepEqual(outcome.verified, []);
    assert.match(outcome.failures[0]!.reason, /not JSON|no critical/);

    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const signed = storeSignature(store, subject, [valid()], 'tag');
    const denied = await verifier.verify(
      subject.digest,
      [signed],
      trustKeys({ name: 'other', pem: other.toString() }),
      store,
      now,
    );
    assert.deepEqual(denied.verified, []);
  });
});

describe('cosign signatures made with keys generated here', () => {
  const keys: Record<string, () => { privateKey: KeyObject; publicKey: KeyObject }> = {
    'ECDSA P-256': () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    RSA: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
    Ed25519: () => generateKeyPairSync('ed25519'),
  };
  const image = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, layers: [] }),
  );
  const subject = subjectOf(image, mediaTypes.ociManifest);

  for (const [name, generate] of Object.entries(keys)) {
    it(`${name}: verifies with the right key only; another digest and a tampered payload fail`, async () => {
      const pair = generate();
      const stranger = generate();
      const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
      const payload = buildSimpleSigningPayload('registry.test/app', subject.digest);
      const signature = signPayload(pair.privateKey, payload).toString('base64');
      const store = new ContentStore();
      const good = storeSignature(
        store,
        subject,
        [{ payload, annotations: { [cosign.signatureAnnotation]: signature } }],
        'referrers',
      );

      const ok = await verifier.verify(
        subject.digest,
        [good],
        trustKeys({ name: 'team', pem: pem(pair.publicKey) }),
        store,
        now,
      );
      assert.equal(ok.verified[0]?.signer, 'team');
      const wrong = await verifier.verify(
        subject.digest,
        [good],
        trustKeys({ name: 'x', pem: pem(stranger.publicKey) }),
        store,
        now,
      );
      assert.deepEqual(wrong.verified, []);

      const otherDigest = digestOf(Buffer.from('another manifest'));
      const elsewhere = await verifier.verify(
        otherDigest,
        [good],
        trustKeys({ name: 'team', pem: pem(pair.publicKey) }),
        store,
        now,
      );
      assert.match(elsewhere.failures[0]!.reason, /the payload signs sha256:.*, not sha256:/);

      const tampered = Buffer.from(payload.toString().replace('registry.test/app', 'registry.test/evil'));
      const forged = storeSignature(
        store,
        subject,
        [{ payload: tampered, annotations: { [cosign.signatureAnnotation]: signature } }],
        'tag',
      );
      const refused = await verifier.verify(
        subject.digest,
        [forged],
        trustKeys({ name: 'team', pem: pem(pair.publicKey) }),
        store,
        now,
      );
      assert.deepEqual(refused.verified, []);
      assert.match(refused.failures[0]!.reason, /verifies with none/);
    });
  }

  it('RSA-PSS signatures verify too', async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const payload = buildSimpleSigningPayload('registry.test/app', subject.digest);
    const { sign, constants } = await import('node:crypto');
    const signature = sign('sha256', payload, {
      key: pair.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    const store = new ContentStore();
    const artifact = storeSignature(
      store,
      subject,
      [{ payload, annotations: { [cosign.signatureAnnotation]: signature.toString('base64') } }],
      'tag',
    );
    const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const outcome = await verifier.verify(
      subject.digest,
      [artifact],
      trustKeys({ name: 'kms', pem }),
      store,
      now,
    );
    assert.equal(outcome.verified.length, 1);
  });

  it('recognises cosign artifacts and names the signature tag', () => {
    assert.equal(cosignSignatureTag(subject.digest), `sha256-${subject.digest.slice(7)}.sig`);
    const referrer = {
      repository: 'r',
      digest: subject.digest,
      mediaType: mediaTypes.ociManifest,
      via: 'referrers' as const,
    };
    assert.ok(verifier.recognises({ ...referrer, artifactType: cosign.signatureArtifactType }));
    assert.ok(!verifier.recognises({ ...referrer, artifactType: 'application/vnd.cncf.notary.signature' }));
    assert.ok(verifier.recognises({ ...referrer, via: 'tag' }));
    assert.ok(!verifier.recognises({ ...referrer, via: 'tag', mediaType: mediaTypes.ociIndex }));
  });
});

describe('keyless cosign signature (real Fulcio certificate and Rekor bundle)', () => {
  const fixture = JSON.parse(readFileSync(join(ours, 'podinfo-keyless.json'), 'utf8')) as {
    payload: string;
    annotations: Record<string, string>;
  };
  const trustedRoot = new SigstoreTrustedRoot(
    JSON.parse(readFileSync(join(ours, 'trusted_root.json'), 'utf8')),
  );
  const signedDigest = 'sha256:1dba385f9d56f9a79e5b87344bbec1502bd11f056df51834e18d3e054de39365';
  const identity = {
    issuer: 'https://token.actions.githubusercontent.com',
    subject: 'https://github.com/stefanprodan/podinfo/.github/workflows/release.yml@refs/tags/6.5.4',
  };
  const keyless = (identities: { issuer: string; subject: string }[]): ProjectTrust => ({
    ...trustKeys(),
    keylessIdentities: identities,
  });
  const stored = (payload: Buffer, annotations = fixture.annotations) => {
    const store = new ContentStore();
    // The subject's bytes are not needed: the payload names its digest, which is what is checked.
    const subject = { mediaType: mediaTypes.ociManifest, digest: signedDigest, size: 1 };
    return { store, artifact: storeSignature(store, subject, [{ payload, annotations }], 'tag') };
  };

  it('verifies offline against the public-good trusted root for the trusted identity', async () => {
    const { store, artifact } = stored(Buffer.from(fixture.payload));
    const v = new CosignVerifier({ trustedRoot });
    const outcome = await v.verify(signedDigest, [artifact], keyless([identity]), store, now);
    assert.deepEqual(outcome.failures, []);
    assert.deepEqual(outcome.verified, [
      {
        format: 'cosign',
        signatureDigest: artifact.digest,
        signer: `${identity.subject} (${identity.issuer})`,
        signedAt: '2023-12-17T14:47:14.000Z',
        method: 'keyless',
      },
    ]);
  });

  it('refuses another identity, a tampered payload, a dropped bundle and a missing trusted root', async () => {
    const v = new CosignVerifier({ trustedRoot });
    const { store, artifact } = stored(Buffer.from(fixture.payload));
    const other = await v.verify(
      signedDigest,
      [artifact],
      keyless([{ ...identity, subject: 'someone@example.com' }]),
      store,
      now,
    );
    assert.match(other.failures[0]!.reason, /not a trusted keyless identity/);

    const tampered = stored(Buffer.from(fixture.payload.replace('"optional":null', '"optional":{}')));
    const forged = await v.verify(
      signedDigest,
      [tampered.artifact],
      keyless([identity]),
      tampered.store,
      now,
    );
    assert.match(forged.failures[0]!.reason, /keyless verification failed/);

    const { [cosign.bundleAnnotation]: _bundle, ...withoutBundle } = fixture.annotations;
    const bare = stored(Buffer.from(fixture.payload), withoutBundle);
    const unproven = await v.verify(signedDigest, [bare.artifact], keyless([identity]), bare.store, now);
    assert.match(unproven.failures[0]!.reason, /without a Rekor bundle/);

    const noRoot = await new CosignVerifier().verify(
      signedDigest,
      [artifact],
      keyless([identity]),
      store,
      now,
    );
    assert.match(noRoot.failures[0]!.reason, /no Sigstore trusted root/);
  });
});
