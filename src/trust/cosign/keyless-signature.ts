import { createHash, X509Certificate } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { type TrustMaterial, toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';

/**
 * A Sigstore trusted root (`trusted_root.json`: Fulcio CAs, Rekor and CT log keys), parsed once.
 * The public-good one is the `trusted_root.json` target of Sigstore's TUF repository.
 */
export class SigstoreTrustedRoot {
  readonly material: TrustMaterial;
  constructor(json: unknown) {
    this.material = toTrustMaterial(TrustedRoot.fromJSON(json));
  }
}

/** What cosign's `dev.sigstore.cosign/bundle` annotation holds: Rekor's offline proof of the entry. */
interface RekorBundle {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

function readRekorBundle(text: string): RekorBundle {
  const value = JSON.parse(text) as Partial<RekorBundle>;
  const payload = value.Payload;
  if (
    typeof value.SignedEntryTimestamp !== 'string' ||
    typeof payload?.body !== 'string' ||
    typeof payload.integratedTime !== 'number' ||
    typeof payload.logIndex !== 'number' ||
    typeof payload.logID !== 'string'
  ) {
    throw new Error('the Rekor bundle lacks SignedEntryTimestamp or Payload fields');
  }
  return value as RekorBundle;
}

/**
 * Restates a cosign keyless signature (payload, signature, Fulcio certificate, Rekor bundle) as
 * a Sigstore bundle v0.1, the form `@sigstore/verify` checks: the Rekor entry's body, its signed
 * entry timestamp (the inclusion promise) and its integrated time become the bundle's tlog entry.
 */
function toSigstoreBundle(payload: Buffer, signature: Buffer, certificatePem: string, rekor: RekorBundle) {
  const body = JSON.parse(Buffer.from(rekor.Payload.body, 'base64').toString('utf8')) as {
    kind?: unknown;
    apiVersion?: unknown;
  };
  if (typeof body.kind !== 'string' || typeof body.apiVersion !== 'string') {
    throw new Error('the Rekor entry body has no kind or apiVersion');
  }
  const leaf = new X509Certificate(certificatePem);
  return bundleFromJSON({
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: {
      x509CertificateChain: { certificates: [{ rawBytes: leaf.raw.toString('base64') }] },
      tlogEntries: [
        {
          logIndex: String(rekor.Payload.logIndex),
          logId: { keyId: Buffer.from(rekor.Payload.logID, 'hex').toString('base64') },
          kindVersion: { kind: body.kind, version: body.apiVersion },
          integratedTime: String(rekor.Payload.integratedTime),
          inclusionPromise: { signedEntryTimestamp: rekor.SignedEntryTimestamp },
          canonicalizedBody: rekor.Payload.body,
        },
      ],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(payload).digest('base64') },
      signature: signature.toString('base64'),
    },
  });
}

export interface KeylessInput {
  payload: Buffer;
  signature: Buffer;
  certificatePem: string;
  /** The `dev.sigstore.cosign/bundle` annotation; without it there is no offline proof of time. */
  rekorBundle: string | undefined;
}

export interface KeylessIdentity {
  issuer: string;
  subject: string;
}

export type KeylessResult =
  | { identity: KeylessIdentity; signedAt: string }
  | { reason: string; identity?: KeylessIdentity };

/**
 * Verifies a keyless signature offline: the certificate chains to a Fulcio CA of the trusted
 * root and carries a valid SCT, the Rekor entry's promise is signed by a trusted log and records
 * this signature, the certificate was valid at the entry's integrated time, the signature is
 * over the payload; then the certificate's OIDC issuer and subject must be one of `identities`.
 */
export function verifyKeyless(
  input: KeylessInput,
  root: SigstoreTrustedRoot,
  identities: KeylessIdentity[],
): KeylessResult {
  if (!input.rekorBundle) return { reason: 'keyless signature without a Rekor bundle (offline proof)' };
  let signedAt: string;
  let identity: KeylessIdentity;
  try {
    const rekor = readRekorBundle(input.rekorBundle);
    const bundle = toSigstoreBundle(input.payload, input.signature, input.certificatePem, rekor);
    const signer = new Verifier(root.material).verify(toSignedEntity(bundle, input.payload));
    identity = {
      issuer: signer.identity?.extensions?.issuer ?? '',
      subject: signer.identity?.subjectAlternativeName ?? '',
    };
    signedAt = new Date(rekor.Payload.integratedTime * 1000).toISOString();
  } catch (error) {
    return {
      reason: `keyless verification failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const trusted = identities.some((id) => id.issuer === identity.issuer && id.subject === identity.subject);
  if (!trusted) {
    return {
      reason: `signed by ${identity.subject} (issuer ${identity.issuer}), not a trusted keyless identity`,
      identity,
    };
  }
  return { identity, signedAt };
}
