import type { Database } from '../db/database.ts';
import { groupTypes } from '../db/groups.ts';
import { newUser, type UserRow } from '../db/users.ts';
import type { Clock } from '../lib/clock.ts';
import { RegistryError } from '../oci/errors.ts';
import type { Authenticator } from './authenticator.ts';
import type { CliSecrets } from './oidc-cli-secret.ts';
import type { OidcIdentity } from './oidc-client.ts';
import { generateSecret } from './passwords.ts';
import { usernameProblem } from './user-profile.ts';

const oidcUserComment = 'Onboarded via OIDC provider';

export function externalIdOf(identity: OidcIdentity): string {
  return `${identity.issuer}|${identity.subject}`;
}

/**
 * Users who log in through the OpenID Provider: found by issuer and subject, onboarded with a
 * fresh CLI secret, and at each login given the provider's groups (as OIDC user groups) and,
 * for members of `oidc_admin_group`, the system administrator role.
 */
export class OidcUsers {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly cliSecrets: CliSecrets,
    private readonly authenticator: Authenticator,
  ) {}

  find(identity: OidcIdentity): Promise<UserRow | undefined> {
    return this.db.users.findByExternalId('oidc', externalIdOf(identity));
  }

  /** Creates the user under `username` (Harbor's rules); 409 when the name or email is taken. */
  async onboard(identity: OidcIdentity, username: string): Promise<UserRow> {
    const problem = usernameProblem(username);
    if (problem) throw new RegistryError('BAD_REQUEST', problem);
    return this.db.transaction(async (db) => {
      const taken =
        (await db.users.findByUsername(username)) ??
        (identity.email ? await db.users.findByEmail(identity.email) : undefined);
      if (taken) {
        throw new RegistryError(
          'CONFLICT',
          'Conflict, the user with same username or email has been onboarded.',
        );
      }
      const now = this.clock.now();
      const id = await db.users.insert(
        newUser(
          {
            username,
            email: identity.email ?? null,
            realname: username,
            comment: oidcUserComment,
            source: 'oidc',
            external_id: externalIdOf(identity),
            cli_secret: this.cliSecrets.seal(generateSecret()),
          },
          now,
        ),
      );
      const user = await db.users.findById(id);
      if (!user) throw new Error('the onboarded user vanished');
      return user;
    });
  }

  /**
   * Records the groups the provider named (creating OIDC groups as needed) and applies the
   * admin group: its members become system administrators, and a user who leaves it loses the
   * role (one made administrator through the API, never in the group, keeps it).
   */
  async applyMembership(user: UserRow, identity: OidcIdentity, adminGroup: string): Promise<UserRow> {
    const userId = Number(user.id);
    const now = this.clock.now();
    const before = await this.db.users.groupIds(userId);
    const groupIds: number[] = [];
    for (const name of identity.groups)
      groupIds.push(await this.db.groups.ensure({ name, type: groupTypes.oidc, ldap_dn: null }, now));
    const adminGroupId = adminGroup
      ? (await this.db.groups.findByName(adminGroup, groupTypes.oidc))?.id
      : undefined;
    const wasGrantedByGroup = adminGroupId !== undefined && before.includes(Number(adminGroupId));
    let sysadmin = user.sysadmin;
    if (identity.adminGroupMember) sysadmin = 1;
    else if (wasGrantedByGroup) sysadmin = 0;
    const sameGroups =
      before.length === groupIds.length && [...before].sort().join() === [...groupIds].sort().join();
    if (sameGroups && sysadmin === user.sysadmin) return user;
    await this.db.users.setGroupIds(userId, groupIds);
    if (sysadmin !== user.sysadmin) await this.db.users.update(userId, { sysadmin, updated_at: now });
    // Cached Basic logins carry the old groups and role.
    this.authenticator.forgetLogins();
    return { ...user, sysadmin };
  }
}
