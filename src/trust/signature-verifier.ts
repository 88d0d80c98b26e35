/**
 * The contract between signature formats (Cosign, Notation) and the pull-time policy: each
 * format finds the signatures of a manifest among the repository's accessories and checks them
 * against what the project trusts. Implementations live in `src/trust/cosign/` and
 * `src/trust/notation/`; the policy (`src/policy/`) only calls this.
 */

/** What a project trusts, as its trust policy stores it (Berth's own API, not Harbor's). */
export interface ProjectTrust {
  /** PEM public keys (ECDSA P-256, RSA, Ed25519) whose Cosign signatures are accepted. */
  cosignKeys: { name: string; pem: string }[];
  /** Sigstore keyless signers: the OIDC issuer and the certificate's subject (email or URI). */
  keylessIdentities: { issuer: string; subject: string }[];
  /** Notation trust stores: named sets of PEM X.509 CA (or signing) certificates. */
  notationTrustStores: { name: string; certificatesPem: string[] }[];
  /** Notation trusted identities (`x509.subject: C=US, O=...`), or `*` for any from the stores. */
  notationTrustedIdentities: string[];
}

/** A signature stored in the registry next to the manifest it signs. */
export interface SignatureArtifact {
  repository: string;
  /** The signature manifest's own digest and media type. */
  digest: string;
  mediaType: string;
  artifactType?: string;
  /** How it was found: OCI 1.1 referrers (`subject`) or Cosign's `sha256-<hex>.sig` tag. */
  via: 'referrers' | 'tag';
}

/** Reads the registry's content, so verifiers never reach around the registry services. */
export interface RegistryContent {
  manifest(repository: string, digest: string): Promise<{ bytes: Buffer; mediaType: string } | undefined>;
  blob(digest: string, maxBytes: number): Promise<Buffer | undefined>;
}

export interface VerifiedSignature {
  format: 'cosign' | 'notation';
  /** The signature artifact that verified. */
  signatureDigest: string;
  /** Who signed: a key name, a certificate subject, or an identity (issuer + subject). */
  signer: string;
  /** When, if the signature says (a signing time, a Rekor integrated time). */
  signedAt?: string;
  /** key, keyless, x509 */
  method: string;
}

export interface VerificationOutcome {
  /** The signatures that verified against what the project trusts; empty when none did. */
  verified: VerifiedSignature[];
  /** Why each signature that did not verify failed, in words for the DENIED message and logs. */
  failures: { signatureDigest: string; reason: string }[];
}

export interface SignatureVerifier {
  readonly format: 'cosign' | 'notation';
  /** The signatures of `digest` this format recognises among the given candidates. */
  recognises(candidate: SignatureArtifact): boolean;
  /** Verifies each signature of `manifestDigest` against `trust`. Never throws on bad signatures. */
  verify(
    manifestDigest: string,
    signatures: SignatureArtifact[],
    trust: ProjectTrust,
    content: RegistryContent,
    now: Date,
  ): Promise<VerificationOutcome>;
}
