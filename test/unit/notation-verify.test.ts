import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseEnvelope } from '../../src/trust/notation/check-envelope.ts';
import { notationMediaTypes } from '../../src/trust/notation/envelope.ts';
import { NotationVerifier } from '../../src/trust/notation/notation-verifier.ts';
import { parseDistinguishedName, trustedIdentityProblem } from '../../src/trust/notation/trusted-identity.ts';
import type {
  ProjectTrust,
  SignatureArtifact,
  VerificationOutcome,
} from '../../src/trust/signature-verifier.ts';
import { alpineLayout, alpineManifestDigest, sharedFixture } from '../helpers/fixtures.ts';
import { layoutContent } from '../helpers/layout-content.ts';
import {
  createNotationPki,
  type NotationSignatureArtifact,
  type NotationTestPki,
  notationSignature,
  notationSignatureArtifact,
  signNotationJws,
  type TargetArtifact,
} from '../helpers/notation-sign.ts';
import { writeLayoutBlob } from '../helpers/oci-layout.ts';

const verifier = new NotationVerifier();
const repository = 'library/alpine';
const day = 24 * 3600 * 1000;
const alpine: TargetArtifact = {
  digest: alpineManifestDigest,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 481,
};

let layout: string;
const content = () => layoutContent([alpineLayout(), layout]);

/** Stores the signature's blobs and manifest in the test layout, as a push would. */
async function store(artifact: NotationSignatureArtifact): Promise<SignatureArtifact> {
  for (const blob of artifact.blobs) await writeLayoutBlob(layout, blob.bytes);
  await writeLayoutBlob(layout, artifact.manifest);
  return {
    repository,
    digest: artifact.manifestDigest,
    mediaType: artifact.manifestMediaType,
    artifactType: artifact.artifactType,
    via: 'referrers',
  };
}

function trusting(certificatesPem: string[], identities: string[] = ['*']): ProjectTrust {
  return {
    cosignKeys: [],
    keylessIdentities: [],
    notationTrustStores: [{ name: 'project-ca', certificatesPem }],
    notationTrustedIdentities: identities,
  };
}

async function verifyOne(
  signature: SignatureArtifact,
  trust: ProjectTrust,
  now = new Date(),
): Promise<VerificationOutcome> {
  return verifier.verify(alpineManifestDigest, [signature], trust, content(), now);
}

function assertFails(outcome: VerificationOutcome, reason: RegExp): void {
  assert.equal(outcome.verified.length, 0, 'the signature must not verify');
  assert.equal(outcome.failures.length, 1);
  assert.match(outcome.failures[0]!.reason, reason);
}

const toPem = (der: Buffer) =>
  `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;

before(async () => {
  layout = await mkdtemp(join(tmpdir(), 'berth-notation-'));
});
after(async () => {
  await rm(layout, { recursive: true, force: true });
});

describe('Notation recognition', () => {
  it('recognises Notary Project referrers and nothing else', () => {
    const base = {
      repository,
      digest: alpineManifestDigest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
    };
    assert.equal(verifier.format, 'notation');
    assert.ok(verifier.recognises({ ...base, artifactType: notationMediaTypes.signature, via: 'referrers' }));
    assert.ok(
      !verifier.recognises({
        ...base,
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        via: 'referrers',
      }),
    );
    assert.ok(!verifier.recognises({ ...base, artifactType: notationMediaTypes.signature, via: 'tag' }));
  });
});

describe('real Notation envelopes (notation-go test data over alpine:3.17.2)', () => {
  for (const [file, mediaType] of [
    ['jws_signature.sig', notationMediaTypes.jws],
    ['cose_signature.sig', notationMediaTypes.cose],
  ] as const) {
    it(`${file} verifies against its own root and fails against another CA`, async () => {
      const envelope = await readFile(sharedFixture('signatures', 'notation', file));
      const chain = parseEnvelope(mediaType, envelope).certificateChain;
      const signature = await store(notationSignatureArtifact(alpine, envelope, mediaType, chain));
      const ownRoot = toPem(chain[chain.length - 1]!);

      const outcome = await verifyOne(
        signature,
        trusting([ownRoot], ['x509.subject: C=US, ST=WA, O=Notary']),
      );
      assert.deepEqual(outcome.failures, []);
      assert.equal(outcome.verified.length, 1);
      const verified = outcome.verified[0]!;
      assert.equal(verified.format, 'notation');
      assert.equal(verified.method, 'x509');
      assert.equal(verified.signatureDigest, signature.digest);
      assert.equal(verified.signer, 'C=US, ST=WA, L=Seattle, O=Notary, CN=alpine');
      assert.equal(
        verified.signedAt,
        mediaType === notationMediaTypes.jws ? '2023-03-14T08:10:02.000Z' : '2023-03-14T04:45:22.000Z',
      );

      const other = await createNotationPki();
      assertFails(await verifyOne(signature, trusting([other.rootPem])), /leads to no certificate/);
    });
  }

  it('a real envelope does not verify for another manifest', async () => {
    const envelope = await readFile(sharedFixture('signatures', 'notation', 'jws_signature.sig'));
    const chain = parseEnvelope(notationMediaTypes.jws, envelope).certificateChain;
    const signature = await store(notationSignatureArtifact(alpine, envelope, notationMediaTypes.jws, chain));
    const otherDigest = `sha256:${'ab'.repeat(32)}`;
    const outcome = await verifier.verify(
      otherDigest,
      [signature],
      trusting([toPem(chain[0]!)]),
      content(),
      new Date(),
    );
    assert.equal(outcome.verified.length, 0);
    assert.match(outcome.failures[0]!.reason, /subject is sha256:19dbd2e4.*not sha256:abab/);
  });

  it('a real envelope with a changed payload byte does not verify', async () => {
    const original = JSON.parse(
      (await readFile(sharedFixture('signatures', 'notation', 'jws_signature.sig'))).toString('utf8'),
    ) as { payload: string; header: { x5c: string[] } };
    const payload = JSON.parse(Buffer.from(original.payload, 'base64url').toString('utf8')) as {
      targetArtifact: { size: number };
    };
    payload.targetArtifact.size = 482;
    const tampered = Buffer.from(
      JSON.stringify({ ...original, payload: Buffer.from(JSON.stringify(payload)).toString('base64url') }),
    );
    const root = Buffer.from(original.header.x5c[0]!, 'base64');
    const signature = await store(
      notationSignatureArtifact(alpine, tampered, notationMediaTypes.jws, [root]),
    );
    assertFails(await verifyOne(signature, trusting([toPem(root)])), /signature does not verify/);
  });
});

describe('Notation JWS signatures by a CA chain made in the test', () => {
  let pki: NotationTestPki;
  before(async () => {
    pki = await createNotationPki();
  });

  it('a valid signature by a trusted identity passes', async () => {
    const signingTime = new Date(Date.now() - 60_000);
    const signature = await store(await notationSignature(pki, { target: alpine, signingTime }));
    const outcome = await verifyOne(signature, trusting([pki.rootPem], [pki.identity]));
    assert.deepEqual(outcome.failures, []);
    assert.equal(outcome.verified[0]?.signer, pki.leaf.certificate.subject);
    assert.equal(
      outcome.verified[0]?.signedAt,
      new Date(Math.floor(signingTime.getTime() / 1000) * 1000).toISOString(),
    );
  });

  it('a partial subject (C, ST, O) matches; `*` matches any signer of a trusted CA', async () => {
    const signature = await store(await notationSignature(pki, { target: alpine }));
    const organisation = /O=([^,]+)/.exec(pki.leaf.certificate.subject)![1]!;
    const partial = `x509.subject: C=US, ST=WA, O=${organisation}`;
    assert.equal((await verifyOne(signature, trusting([pki.rootPem], [partial]))).verified.length, 1);
    assert.equal((await verifyOne(signature, trusting([pki.rootPem], ['*']))).verified.length, 1);
  });

  it('an RSA (PS256) leaf and a COSE envelope verify too', async () => {
    const rsa = await createNotationPki({ keyType: 'rsa-2048' });
    const jws = await store(await notationSignature(rsa, { target: alpine }));
    const cose = await store(await notationSignature(rsa, { target: alpine, format: 'cose' }));
    const ecCose = await store(await notationSignature(pki, { target: alpine, format: 'cose' }));
    for (const [signature, root] of [
      [jws, rsa.rootPem],
      [cose, rsa.rootPem],
      [ecCose, pki.rootPem],
    ] as const) {
      assert.deepEqual((await verifyOne(signature, trusting([root]))).failures, []);
    }
  });

  it('an expired leaf certificate fails', async () => {
    const now = new Date();
    const expired = await createNotationPki({
      leafNotBefore: new Date(now.getTime() - 30 * day),
      leafNotAfter: new Date(now.getTime() - day),
    });
    const signature = await store(
      await notationSignature(expired, { target: alpine, signingTime: new Date(now.getTime() - 10 * day) }),
    );
    assertFails(
      await verifyOne(signature, trusting([expired.rootPem]), now),
      /expired .* before verification time/,
    );
  });

  it('signingAuthority: a back-dated authentic signing time does not revive an expired leaf', async () => {
    const now = new Date();
    const expired = await createNotationPki({
      leafNotBefore: new Date(now.getTime() - 30 * day),
      leafNotAfter: new Date(now.getTime() - day),
    });
    const backDated = await store(
      await notationSignature(expired, {
        target: alpine,
        signingTime: new Date(now.getTime() - 10 * day),
        signingScheme: 'notary.x509.signingAuthority',
      }),
    );
    assertFails(
      await verifyOne(backDated, trusting([expired.rootPem]), now),
      /expired .* before verification time/,
    );
    // The same scheme with a valid chain verifies.
    const valid = await store(
      await notationSignature(pki, { target: alpine, signingScheme: 'notary.x509.signingAuthority' }),
    );
    assert.deepEqual((await verifyOne(valid, trusting([pki.rootPem]))).failures, []);
  });

  it('a signing time outside the leaf validity fails', async () => {
    const signature = await store(
      await notationSignature(pki, { target: alpine, signingTime: new Date(Date.now() - 30 * day) }),
    );
    assertFails(await verifyOne(signature, trusting([pki.rootPem])), /not yet valid at signing time/);
  });

  it('an untrusted CA fails', async () => {
    const other = await createNotationPki();
    const signature = await store(await notationSignature(pki, { target: alpine }));
    assertFails(await verifyOne(signature, trusting([other.rootPem], ['*'])), /leads to no certificate/);
    const noStores: ProjectTrust = { ...trusting([]), notationTrustStores: [] };
    assertFails(await verifyOne(signature, noStores), /leads to no certificate/);
  });

  it('a payload naming another digest fails', async () => {
    const target = { ...alpine, digest: `sha256:${'cd'.repeat(32)}` };
    // The manifest's subject is alpine, as a pusher could claim; only the signed payload counts.
    const envelope = await signNotationJws(pki, { target });
    const signature = await store(
      notationSignatureArtifact(alpine, envelope, notationMediaTypes.jws, pki.chain),
    );
    assertFails(
      await verifyOne(signature, trusting([pki.rootPem])),
      /signature is for sha256:cdcd.*not sha256:19dbd2e4/,
    );
  });

  it('a tampered signature fails', async () => {
    const envelope = JSON.parse((await signNotationJws(pki, { target: alpine })).toString('utf8')) as {
      signature: string;
    };
    const bytes = Buffer.from(envelope.signature, 'base64url');
    bytes[5] = bytes[5]! ^ 0x01;
    const tampered = Buffer.from(JSON.stringify({ ...envelope, signature: bytes.toString('base64url') }));
    const signature = await store(
      notationSignatureArtifact(alpine, tampered, notationMediaTypes.jws, pki.chain),
    );
    assertFails(await verifyOne(signature, trusting([pki.rootPem])), /signature does not verify/);
  });

  it('a signer outside trustedIdentities fails', async () => {
    const signature = await store(await notationSignature(pki, { target: alpine }));
    assertFails(
      await verifyOne(signature, trusting([pki.rootPem], ['x509.subject: C=US, ST=WA, O=Somebody Else'])),
      /is not a trusted identity/,
    );
    assertFails(await verifyOne(signature, trusting([pki.rootPem], [])), /trusts no Notation identity/);
    assertFails(
      await verifyOne(signature, trusting([pki.rootPem], ['x509.subject: CN=notation-signer'])),
      /must name C, ST and O/,
    );
  });

  it('an expired signature (io.cncf.notary.expiry) fails', async () => {
    const signature = await store(
      await notationSignature(pki, { target: alpine, expiry: new Date(Date.now() - 1000) }),
    );
    assertFails(await verifyOne(signature, trusting([pki.rootPem])), /signature expired/);
    const fresh = await store(
      await notationSignature(pki, { target: alpine, expiry: new Date(Date.now() + day) }),
    );
    assert.equal((await verifyOne(fresh, trusting([pki.rootPem]))).verified.length, 1);
  });

  it('an unknown critical header fails', async () => {
    const envelope = await signNotationJws(pki, {
      target: alpine,
      extraHeaders: { 'com.example.mustUnderstand': 'yes' },
      extraCritical: ['com.example.mustUnderstand'],
    });
    const signature = await store(
      notationSignatureArtifact(alpine, envelope, notationMediaTypes.jws, pki.chain),
    );
    assertFails(await verifyOne(signature, trusting([pki.rootPem])), /unknown critical header/);
  });

  it('a leaf without the code-signing extended key usage fails', async () => {
    const serverLeaf = await createNotationPki({ leafExtendedKeyUsages: ['1.3.6.1.5.5.7.3.1'] });
    const signature = await store(await notationSignature(serverLeaf, { target: alpine }));
    assertFails(
      await verifyOne(signature, trusting([serverLeaf.rootPem])),
      /extended key usage other than code signing/,
    );
  });

  it('verifies each signature on its own: one good, one bad', async () => {
    const good = await store(await notationSignature(pki, { target: alpine }));
    const other = await createNotationPki();
    const bad = await store(await notationSignature(other, { target: alpine }));
    const outcome = await verifier.verify(
      alpineManifestDigest,
      [good, bad],
      trusting([pki.rootPem]),
      content(),
      new Date(),
    );
    assert.deepEqual(
      outcome.verified.map((entry) => entry.signatureDigest),
      [good.digest],
    );
    assert.deepEqual(
      outcome.failures.map((entry) => entry.signatureDigest),
      [bad.digest],
    );
  });

  it('a garbage envelope is a failure, not an exception', async () => {
    const junk = Buffer.from('{"payload": 1}');
    const signature = await store(notationSignatureArtifact(alpine, junk, notationMediaTypes.jws, pki.chain));
    assertFails(
      await verifyOne(signature, trusting([pki.rootPem])),
      /JWS envelope needs protected and payload/,
    );
    const cbor = Buffer.from([0xd2, 0x84, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const cose = await store(notationSignatureArtifact(alpine, cbor, notationMediaTypes.cose, pki.chain));
    assertFails(await verifyOne(cose, trusting([pki.rootPem])), /not valid CBOR/);
  });
});

describe('trusted identity DNs', () => {
  it('parses escapes and spaces as the trust policy specification writes them', () => {
    assert.deepEqual(parseDistinguishedName('C=US, ST=WA, O=Acme\\, Inc., CN=\\ lead'), [
      ['C', 'US'],
      ['ST', 'WA'],
      ['O', 'Acme, Inc.'],
      ['CN', ' lead'],
    ]);
    assert.equal(parseDistinguishedName('C=US,'), undefined);
    assert.equal(parseDistinguishedName('US'), undefined);
  });

  it('validates identities as a policy would store them', () => {
    assert.equal(trustedIdentityProblem('*'), undefined);
    assert.equal(trustedIdentityProblem('x509.subject: C=US, ST=WA, O=Acme, CN=builder'), undefined);
    assert.match(trustedIdentityProblem('x509.subject: C=US, O=Acme')!, /must name C, ST and O/);
    assert.match(trustedIdentityProblem('x509.subject: C=US, C=DE, ST=WA, O=Acme')!, /malformed/);
    assert.match(trustedIdentityProblem('x509.issuer: C=US, ST=WA, O=Acme')!, /unsupported/);
  });
});
