import type { Database } from '../db/database.ts';
import { type GroupRow, groupTypes } from '../db/groups.ts';
import type { Clock } from '../lib/clock.ts';
import { RegistryError } from '../oci/errors.ts';
import type { Authenticator } from './authenticator.ts';
import { normalizeDn } from './ldap-names.ts';
import type { ProjectDirectory } from './project-directory.ts';
import type { SettingsService } from './settings-service.ts';

export interface NewGroup {
  name: string;
  type: number;
  ldapDn?: string;
}

/** Confirms that an LDAP group exists (Harbor searches the directory before adding one). */
export interface LdapGroupLookup {
  groupExists(dn: string): Promise<boolean>;
}

export interface GroupServiceOptions {
  db: Database;
  clock: Clock;
  settings: SettingsService;
  authenticator: Authenticator;
  directory: ProjectDirectory;
  /** The LDAP directory while auth_mode is ldap_auth; without it DNs are checked for syntax only. */
  ldap?: () => Promise<LdapGroupLookup | undefined>;
}

/** Splits a DN at commas that are not escaped. */
function rdnsOf(dn: string): string[] {
  return dn.split(/(?<!\\),/).map((rdn) => rdn.trim());
}

export function dnProblem(dn: string): string | undefined {
  const valid = dn.length <= 1024 && rdnsOf(dn).every((rdn) => /^[A-Za-z][\w.-]*\s*=\s*\S/.test(rdn));
  return valid ? undefined : `invalid DN syntax. DN: ${dn}`;
}

/** A group's name from its DN: the value of the first RDN (`cn=dev,ou=groups,…` → `dev`). */
export function nameFromDn(dn: string): string {
  const first = rdnsOf(dn)[0] ?? dn;
  return first.slice(first.indexOf('=') + 1).trim();
}

/**
 * User groups (Harbor's types: 1 LDAP, 2 HTTP, 3 OIDC). Members of a group get its project
 * roles; which users belong to which group is learned at login from LDAP or the OIDC claim.
 */
export class GroupService {
  constructor(private readonly options: GroupServiceOptions) {}

  /** Groups of the kind the auth mode uses (all in OIDC and database modes), oldest first. */
  async list(filter: { ldapDn?: string; name?: string } = {}): Promise<GroupRow[]> {
    const mode = await this.options.settings.authMode();
    const name = filter.name?.toLowerCase();
    return (await this.options.db.groups.findAll()).filter(
      (group) =>
        (mode !== 'ldap_auth' || Number(group.type) === groupTypes.ldap) &&
        (!filter.ldapDn || group.ldap_dn === filter.ldapDn) &&
        (!name || group.name.toLowerCase().includes(name)),
    );
  }

  async get(id: number): Promise<GroupRow> {
    const group = await this.options.db.groups.findById(id);
    if (!group) throw new RegistryError('NOT_FOUND', `the user group with id ${id} is not found`);
    return group;
  }

  /** Groups whose name contains `fragment`, for pickers: any logged-in caller. */
  async search(fragment: string): Promise<GroupRow[]> {
    const wanted = fragment.toLowerCase();
    return (await this.options.db.groups.findAll()).filter((group) =>
      group.name.toLowerCase().includes(wanted),
    );
  }

  async create(group: NewGroup): Promise<GroupRow> {
    if (!group.name) throw new RegistryError('BAD_REQUEST', 'the group name is empty');
    if (!Object.values(groupTypes).includes(group.type as 1 | 2 | 3)) {
      throw new RegistryError('BAD_REQUEST', 'group_type must be 1 (LDAP), 2 (HTTP) or 3 (OIDC)');
    }
    const ldapDn = group.type === groupTypes.ldap ? (group.ldapDn ?? '') : '';
    if (group.type === groupTypes.ldap) await this.requireLdapGroup(ldapDn);
    const id = await this.options.db.transaction(async (db) => {
      const duplicate =
        (await db.groups.findByName(group.name, group.type)) ??
        (ldapDn ? await db.groups.findByLdapDn(ldapDn) : undefined);
      if (duplicate) {
        throw new RegistryError(
          'CONFLICT',
          `duplicate user group, group name:${group.name}, group type: ${group.type}, ldap group DN: ${ldapDn}`,
        );
      }
      return db.groups.insert({
        name: group.name,
        type: group.type,
        ldap_dn: ldapDn || null,
        created_at: this.options.clock.now(),
      });
    });
    return this.get(id);
  }

  /** The id of an LDAP group with this DN, adding it (named after `name` or its DN) if new. */
  async ensureLdapGroup(dn: string, name?: string): Promise<number> {
    // DNs compare case- and space-insensitively (cn=Devs, ou=Groups is cn=devs,ou=groups), as
    // at login; an exact-string lookup would miss the stored row and collide on its name.
    const wanted = normalizeDn(dn);
    const existing = (await this.options.db.groups.findAll()).find(
      (group) =>
        Number(group.type) === groupTypes.ldap &&
        group.ldap_dn !== null &&
        normalizeDn(group.ldap_dn) === wanted,
    );
    if (existing) return Number(existing.id);
    await this.requireLdapGroup(dn);
    const groupName = name || nameFromDn(dn);
    if (await this.options.db.groups.findByName(groupName, groupTypes.ldap)) {
      throw new RegistryError(
        'CONFLICT',
        `another LDAP group is already named ${groupName}; give group_name`,
      );
    }
    return this.options.db.groups.ensure(
      { name: groupName, type: groupTypes.ldap, ldap_dn: dn },
      this.options.clock.now(),
    );
  }

  /** Renames a group; returns it as it is now. */
  async rename(id: number, name: string): Promise<GroupRow> {
    if (!name) throw new RegistryError('BAD_REQUEST', 'the group name is empty');
    const group = await this.get(id);
    const namesake = await this.options.db.groups.findByName(name, Number(group.type));
    if (namesake && Number(namesake.id) !== id) {
      throw new RegistryError('CONFLICT', `a user group named ${name} of type ${group.type} already exists`);
    }
    await this.options.db.groups.rename(id, name);
    return { ...group, name };
  }

  /** Deletes a group and its project memberships; returns it, or undefined if there was none. */
  async delete(id: number): Promise<GroupRow | undefined> {
    const group = await this.options.db.groups.findById(id);
    if (!group) return undefined;
    await this.options.db.transaction(async (db) => {
      await db.members.deleteEntity('g', id);
      await db.groups.delete(id);
    });
    // Cached logins carry the caller's group ids; roles through this group must end now.
    this.options.authenticator.forgetLogins();
    this.options.directory.invalidate();
    return group;
  }

  private async requireLdapGroup(dn: string): Promise<void> {
    if (!dn) throw new RegistryError('BAD_REQUEST', 'ldap_group_dn is required for an LDAP group');
    const problem = dnProblem(dn);
    if (problem) throw new RegistryError('BAD_REQUEST', problem);
    const ldap = await this.options.ldap?.();
    if (ldap && !(await ldap.groupExists(dn))) {
      throw new RegistryError('BAD_REQUEST', `LDAP Group DN is not found: DN:${dn}`);
    }
  }
}
