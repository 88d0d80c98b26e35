import type { Generated, Kysely, Selectable } from 'kysely';
import type { Schema } from './schema.ts';

/** A project's trust policy: `ProjectTrust` as JSON. */
export interface TrustPolicyTable {
  project_id: number;
  policy: string;
  updated_at: number;
}

/** A signature the pull gate verified, kept to show on the artifact (who signed, when, how). */
export interface SignatureVerificationTable {
  id: Generated<number>;
  repository: string;
  /** The signed manifest. */
  digest: string;
  format: string;
  signature_digest: string;
  signer: string;
  /** key, keyless, x509 */
  method: string;
  /** As the signature says (ISO 8601), when it says. */
  signed_at: string | null;
  /** Epoch ms of the latest successful verification. */
  verified_at: number;
}

export type SignatureVerificationRow = Selectable<SignatureVerificationTable>;
export type NewSignatureVerification = Omit<SignatureVerificationRow, 'id'>;

/** `trust_policies` and `signature_verifications`. */
export class TrustPolicyQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async find(projectId: number): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('trust_policies')
      .select('policy')
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return row?.policy;
  }

  async save(projectId: number, policy: string, now: number): Promise<void> {
    await this.db
      .insertInto('trust_policies')
      .values({ project_id: projectId, policy, updated_at: now })
      .onConflict((conflict) => conflict.column('project_id').doUpdateSet({ policy, updated_at: now }))
      .execute();
  }

  /** Records (or refreshes) verified signatures of one manifest. */
  async recordVerifications(rows: readonly NewSignatureVerification[]): Promise<void> {
    for (const row of rows) {
      await this.db
        .insertInto('signature_verifications')
        .values(row)
        .onConflict((conflict) =>
          conflict.columns(['repository', 'digest', 'signature_digest']).doUpdateSet({
            format: row.format,
            signer: row.signer,
            method: row.method,
            signed_at: row.signed_at,
            verified_at: row.verified_at,
          }),
        )
        .execute();
    }
  }

  async verificationsOf(repository: string, digest: string): Promise<SignatureVerificationRow[]> {
    return this.db
      .selectFrom('signature_verifications')
      .selectAll()
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .orderBy('id')
      .execute();
  }

  /** Forgets what was verified about a manifest, or by a signature, that is gone. */
  async forgetVerifications(repository: string, digest: string): Promise<void> {
    await this.db
      .deleteFrom('signature_verifications')
      .where('repository', '=', repository)
      .where((where) => where.or([where('digest', '=', digest), where('signature_digest', '=', digest)]))
      .execute();
  }
}
