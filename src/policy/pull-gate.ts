/**
 * The pull gate: whether a manifest GET may be served under the project's pull-time policies
 * (Harbor's metadata `enable_content_trust_cosign`, `enable_content_trust` for Notation,
 * `prevent_vul` + `severity`). Asked on every manifest GET, so the answer is cached twice: each
 * repository's policy (a project with none costs one Map lookup), and each (repository, digest)
 * decision. Local changes (metadata, trust policy, allowlists, a signature pushed or deleted, a
 * scan finished here) drop the affected entries at once; entries also expire after `ttlMs`, for
 * changes made by another process (a job worker's scan, another node) and for time itself
 * (certificates and allowlist entries expire).
 */
import type { Caller } from '../access/caller.ts';
import type { Database } from '../db/database.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { parseManifest } from '../oci/manifest.ts';
import { cosignTag, isAccessoryContent } from '../registry/accessories.ts';
import { scanPullers } from '../scanner-adapter/scan-pullers.ts';
import type {
  ProjectTrust,
  RegistryContent,
  SignatureArtifact,
  SignatureVerifier,
} from '../trust/signature-verifier.ts';
import type { SeverityThreshold, VulnerabilityVerdict } from './vulnerability-verdict.ts';

/** The policies enforced on one repository's pulls, from its project's metadata. */
interface RepositoryPolicy {
  /** False when no policy is on: the common case, answered without anything else. */
  enforced: boolean;
  projectId: number;
  cosign: boolean;
  notation: boolean;
  preventVul: boolean;
  severity: SeverityThreshold;
  until: number;
}

interface Decision {
  /** Why the pull is refused; undefined when it is allowed. */
  refusal: string | undefined;
  until: number;
}

/** Judges a scanned artifact against `prevent_vul` (with the CVE allowlists); see vulnerability-verdict.ts. */
export type VulnerabilityJudge = (request: {
  projectId: number;
  repository: string;
  digest: string;
  severity: SeverityThreshold;
  now: Date;
}) => Promise<VulnerabilityVerdict>;

export interface PullGateOptions {
  db: Database;
  clock: Clock;
  log: Logger;
  content: RegistryContent;
  trustOf: (projectId: number) => Promise<ProjectTrust>;
  /** The project (id and metadata) a repository belongs to, or undefined. */
  projectOf: (repository: string) => Promise<{ id: number; metadata: Record<string, string> } | undefined>;
  /** How long cached policies and decisions hold without a local change. */
  ttlMs?: number;
}

/** What a manifest GET needs the gate to know about the manifest it is about to serve. */
export interface ServedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

const maxSignatureCandidates = 100;
/** Indexes listing one child that are tried for a signature covering it. */
const maxParentsChecked = 8;
const severities: readonly SeverityThreshold[] = ['none', 'low', 'medium', 'high', 'critical'];

export class PullGate {
  private readonly verifiers: SignatureVerifier[] = [];
  private judge: VulnerabilityJudge | undefined;
  private readonly policies = new Map<string, RepositoryPolicy>();
  private readonly decisions = new Map<string, Map<string, Decision>>();
  private readonly inflight = new Map<string, Promise<string | undefined>>();
  private readonly repositoryListeners: ((repository: string) => void)[] = [];
  /** Bumped by every invalidation: a decision computed across one is not cached. */
  private generation = 0;
  private readonly ttlMs: number;

  constructor(private readonly options: PullGateOptions) {
    this.ttlMs = options.ttlMs ?? 10_000;
  }

  /** Adds a signature format (Cosign, Notation); a format without a verifier refuses every pull it guards. */
  registerVerifier(verifier: SignatureVerifier): void {
    this.verifiers.push(verifier);
    this.invalidateAll();
  }

  setVulnerabilityJudge(judge: VulnerabilityJudge): void {
    this.judge = judge;
    this.invalidateAll();
  }

  /**
   * Undefined when the pull may go on, at once; otherwise a promise of the refusal's reason
   * (undefined after all). Callers await only when given a promise, so the common path stays
   * synchronous.
   */
  check(
    caller: Caller,
    repository: string,
    manifest: ServedManifest,
  ): Promise<string | undefined> | undefined {
    const now = this.options.clock.now();
    const policy = this.policies.get(repository);
    if (policy !== undefined && policy.until > now) {
      if (!policy.enforced) return undefined;
      const decided = this.decisions.get(repository)?.get(manifest.digest);
      if (decided !== undefined && decided.until > now) {
        if (decided.refusal === undefined) return undefined;
        return scanPullers.has(caller.name, now) ? undefined : Promise.resolve(decided.refusal);
      }
    }
    return this.slowCheck(caller, repository, manifest, now);
  }

  /** Drops every cached policy and decision: metadata, a trust policy or an allowlist changed. */
  invalidateAll(): void {
    this.generation += 1;
    this.policies.clear();
    this.decisions.clear();
  }

  /** Drops the repository's decisions: a manifest (perhaps a signature) was pushed or deleted there. */
  invalidateRepository(repository: string): void {
    this.generation += 1;
    this.decisions.delete(repository);
    for (const listener of this.repositoryListeners) listener(repository);
  }

  /** Told after each `invalidateRepository`, so other nodes drop their decisions too. */
  onRepositoryInvalidated(listener: (repository: string) => void): void {
    this.repositoryListeners.push(listener);
  }

  private async slowCheck(
    caller: Caller,
    repository: string,
    manifest: ServedManifest,
    now: number,
  ): Promise<string | undefined> {
    const generation = this.generation;
    const policy = await this.policyOf(repository, now, generation);
    if (!policy.enforced || scanPullers.has(caller.name, now)) return undefined;
    const decided = this.decisions.get(repository)?.get(manifest.digest);
    if (decided !== undefined && decided.until > now) return decided.refusal;
    // Keyed by generation too: a request after a change never joins a decision begun before it.
    const key = `${generation} ${repository}@${manifest.digest}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.decide(policy, repository, manifest, generation).finally(() =>
        this.inflight.delete(key),
      );
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async policyOf(repository: string, now: number, generation: number): Promise<RepositoryPolicy> {
    const cached = this.policies.get(repository);
    if (cached !== undefined && cached.until > now) return cached;
    const project = await this.options.projectOf(repository);
    const metadata = project?.metadata ?? {};
    const severity = metadata.severity as SeverityThreshold | undefined;
    const policy: RepositoryPolicy = {
      enforced: false,
      projectId: project?.id ?? 0,
      cosign: metadata.enable_content_trust_cosign === 'true',
      notation: metadata.enable_content_trust === 'true',
      preventVul: metadata.prevent_vul === 'true',
      // Without a threshold every vulnerability blocks (Harbor ranks a missing severity lowest).
      severity: severity && severities.includes(severity) ? severity : 'none',
      until: now + this.ttlMs,
    };
    policy.enforced = policy.cosign || policy.notation || policy.preventVul;
    if (generation === this.generation) {
      if (this.policies.size >= 100_000) this.policies.clear();
      this.policies.set(repository, policy);
    }
    return policy;
  }

  private async decide(
    policy: RepositoryPolicy,
    repository: string,
    manifest: ServedManifest,
    generation: number,
  ): Promise<string | undefined> {
    const now = new Date(this.options.clock.now());
    const { refusal, validUntil } = await this.refusalOf(policy, repository, manifest, now);
    if (generation === this.generation) {
      let decisions = this.decisions.get(repository);
      if (!decisions) {
        if (this.decisions.size >= 10_000) this.decisions.clear();
        decisions = new Map();
        this.decisions.set(repository, decisions);
      }
      if (decisions.size >= 10_000) decisions.clear();
      decisions.set(manifest.digest, { refusal, until: Math.min(now.getTime() + this.ttlMs, validUntil) });
    }
    return refusal;
  }

  private async refusalOf(
    policy: RepositoryPolicy,
    repository: string,
    manifest: ServedManifest,
    now: Date,
  ): Promise<{ refusal: string | undefined; validUntil: number }> {
    const forever = Number.POSITIVE_INFINITY;
    // Signatures, attestations and SBOMs are always pullable, so verification tools work.
    if (isAccessoryContent(parseManifest(manifest.bytes, manifest.mediaType))) {
      return { refusal: undefined, validUntil: forever };
    }
    if (policy.cosign || policy.notation) {
      const trust = await this.options.trustOf(policy.projectId);
      const candidates = await this.signaturesOf(repository, manifest.digest);
      for (const format of ['cosign', 'notation'] as const) {
        if (!(format === 'cosign' ? policy.cosign : policy.notation)) continue;
        const refusal = await this.contentTrustRefusal(
          format,
          trust,
          repository,
          manifest.digest,
          candidates,
          now,
        );
        if (refusal && !(await this.signedParent(format, trust, repository, manifest.digest, now))) {
          return { refusal, validUntil: forever };
        }
      }
    }
    if (policy.preventVul) {
      if (!this.judge) {
        const refusal =
          'vulnerability prevention: this server has no vulnerability verdict to judge the image by';
        return { refusal, validUntil: forever };
      }
      const verdict = await this.judge({
        projectId: policy.projectId,
        repository,
        digest: manifest.digest,
        severity: policy.severity,
        now,
      });
      if (!verdict.allowed) {
        const refusal = `vulnerability prevention (severity ${policy.severity}): ${verdict.reason ?? 'the image is not allowed'}`;
        return { refusal, validUntil: forever };
      }
      return { refusal: undefined, validUntil: verdict.validUntil ?? forever };
    }
    return { refusal: undefined, validUntil: forever };
  }

  private async contentTrustRefusal(
    format: 'cosign' | 'notation',
    trust: ProjectTrust,
    repository: string,
    digest: string,
    candidates: readonly SignatureArtifact[],
    now: Date,
  ): Promise<string | undefined> {
    const policy = `content trust (${format})`;
    const verifier = this.verifiers.find((each) => each.format === format);
    if (!verifier)
      return `${policy}: this server has no ${format} verifier, so no signature of ${digest} can be checked`;
    const trusted =
      format === 'cosign'
        ? trust.cosignKeys.length + trust.keylessIdentities.length
        : trust.notationTrustStores.length;
    const trustedWhat = format === 'cosign' ? 'keys or identities' : 'trust stores';
    if (trusted === 0) return `${policy}: the project's trust policy has no trusted ${trustedWhat}`;
    const signatures = candidates.filter((candidate) => verifier.recognises(candidate));
    if (signatures.length === 0) return `${policy}: no ${format} signature of ${digest} was found`;
    const outcome = await verifier.verify(digest, signatures, trust, this.options.content, now);
    if (outcome.verified.length === 0) {
      const reason = outcome.failures[0]?.reason ?? 'no signature verified';
      return `${policy}: no signature of ${digest} verifies against the project's trusted ${trustedWhat}: ${reason}`;
    }
    await this.record(repository, digest, outcome.verified, now);
    return undefined;
  }

  /**
   * Whether an index of the repository that lists `digest` carries a verified signature: signing
   * a multi-platform image signs its index, whose bytes pin every child's digest, and a client
   * pulls the children by digest after the index.
   */
  private async signedParent(
    format: 'cosign' | 'notation',
    trust: ProjectTrust,
    repository: string,
    digest: string,
    now: Date,
  ): Promise<boolean> {
    const parents = await this.options.db.manifests.findParents(repository, digest);
    for (const parent of parents.slice(0, maxParentsChecked)) {
      const candidates = await this.signaturesOf(repository, parent);
      if (!(await this.contentTrustRefusal(format, trust, repository, parent, candidates, now))) return true;
    }
    return false;
  }

  /** Referrers of the digest, and Cosign's `sha256-<hex>.sig` tag. */
  private async signaturesOf(repository: string, digest: string): Promise<SignatureArtifact[]> {
    const { db } = this.options;
    const [referrers, tagged] = await Promise.all([
      db.manifests.findReferrers(repository, digest, { limit: maxSignatureCandidates }),
      db.manifests.findByTag(repository, cosignTag(digest, 'sig')),
    ]);
    const candidates: SignatureArtifact[] = referrers.map((row) => ({
      repository,
      digest: row.digest,
      mediaType: row.media_type,
      ...(row.artifact_type ? { artifactType: row.artifact_type } : {}),
      via: 'referrers',
    }));
    if (tagged) {
      candidates.push({
        repository,
        digest: tagged.digest,
        mediaType: tagged.media_type,
        ...(tagged.artifact_type ? { artifactType: tagged.artifact_type } : {}),
        via: 'tag',
      });
    }
    return candidates;
  }

  private async record(
    repository: string,
    digest: string,
    verified: {
      format: string;
      signatureDigest: string;
      signer: string;
      signedAt?: string;
      method: string;
    }[],
    now: Date,
  ): Promise<void> {
    try {
      await this.options.db.trustPolicies.recordVerifications(
        verified.map((signature) => ({
          repository,
          digest,
          format: signature.format,
          signature_digest: signature.signatureDigest,
          signer: signature.signer.slice(0, 1024),
          method: signature.method,
          signed_at: signature.signedAt ?? null,
          verified_at: now.getTime(),
        })),
      );
    } catch (error) {
      // The pull is allowed either way; only the record of who signed is missing.
      this.options.log.warn({ err: error, repository, digest }, 'recording a signature verification failed');
    }
  }
}
