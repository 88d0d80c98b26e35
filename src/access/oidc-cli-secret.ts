import type { Database } from '../db/database.ts';
import type { UserRow } from '../db/users.ts';
import type { Clock } from '../lib/clock.ts';
import { RegistryError } from '../oci/errors.ts';
import { passwordProblem } from './passwords.ts';
import type { SecretBox } from './secret-box.ts';

/** Harbor's `oidc_user_meta` of a user, shown to that user only (it carries the secret). */
export interface OidcUserMeta {
  id: number;
  user_id: number;
  secret: string;
  subiss: string;
  creation_time: string;
  update_time: string;
}

/**
 * OIDC users' CLI secrets: the password `docker login` and other registry clients use in
 * place of the provider's browser login. Sealed at rest; one per user.
 */
export class CliSecrets {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly secrets: SecretBox,
  ) {}

  /** The value to store for a new secret. */
  seal(secret: string): string {
    return this.secrets.seal(secret);
  }

  /** Replaces the user's secret; 400 unless it meets the policy. */
  async set(userId: number, secret: string): Promise<void> {
    if (passwordProblem(secret)) {
      throw new RegistryError(
        'BAD_REQUEST',
        'the password or secret must be longer than 8 chars with at least 1 uppercase letter, 1 lowercase letter and 1 number',
      );
    }
    await this.db.users.update(userId, {
      cli_secret: this.secrets.seal(secret),
      updated_at: this.clock.now(),
    });
  }

  /**
   * Harbor's `oidc_user_meta` for GET /users/current: only for OIDC users, and only to show
   * users their own secret (undefined otherwise).
   */
  metaFor(user: UserRow): OidcUserMeta | undefined {
    if (user.source !== 'oidc' || !user.cli_secret || !user.external_id) return undefined;
    const bar = user.external_id.indexOf('|');
    const issuer = user.external_id.slice(0, bar);
    const subject = user.external_id.slice(bar + 1);
    return {
      id: Number(user.id),
      user_id: Number(user.id),
      secret: this.secrets.open(user.cli_secret),
      subiss: `${subject}${issuer}`,
      creation_time: new Date(Number(user.created_at)).toISOString(),
      update_time: new Date(Number(user.updated_at)).toISOString(),
    };
  }
}
