import type { ProjectRef } from '../access/project-directory.ts';
import type { Database } from '../db/database.ts';
import type { Clock } from '../lib/clock.ts';
import type { ProjectTrust } from './signature-verifier.ts';
import { emptyTrust, parseTrustPolicy, type TrustPolicyDocument } from './trust-policy.ts';

/** Per-project trust policies (Berth's own API): stored as JSON, checked before they are. */
export class TrustPolicyService {
  private readonly changeListeners: ((project: ProjectRef) => void)[] = [];

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Told after a project's trust policy changed, so cached pull decisions are dropped. */
  onChange(listener: (project: ProjectRef) => void): void {
    this.changeListeners.push(listener);
  }

  async trustOf(projectId: number): Promise<ProjectTrust> {
    const stored = await this.db.trustPolicies.find(projectId);
    return stored ? (JSON.parse(stored) as ProjectTrust) : emptyTrust;
  }

  /** Replaces the project's policy; BAD_REQUEST (nothing stored) when a key or certificate is bad. */
  async replace(project: ProjectRef, document: Partial<TrustPolicyDocument>): Promise<ProjectTrust> {
    const trust = parseTrustPolicy(document);
    await this.db.trustPolicies.save(project.id, JSON.stringify(trust), this.clock.now());
    for (const listener of this.changeListeners) listener(project);
    return trust;
  }
}
