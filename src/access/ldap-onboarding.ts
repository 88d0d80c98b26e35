import type { Database } from '../db/database.ts';
import { groupTypes } from '../db/groups.ts';
import { newUser, type UserRow } from '../db/users.ts';
import type { LdapGroup, LdapUser, Memberships } from './ldap-lookups.ts';
import { normalizeDn } from './ldap-names.ts';

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** What the directory says about the user's groups at this login. */
export interface LdapMemberships extends Memberships {
  /** `ldap_group_admin_dn`, or '' when there is none. */
  adminDn: string;
}

export type OnboardResult =
  | { ok: true; user: UserRow }
  /** A user of that name exists and is not an LDAP user (or is disabled): never taken over. */
  | { ok: false; reason: string };

/** The directory's address for the user, unless it is malformed or another user has it. */
async function usableEmail(db: Database, email: string | undefined, userId: number | undefined) {
  if (!email || !emailPattern.test(email)) return undefined;
  const holder = await db.users.findByEmail(email);
  return holder && Number(holder.id) !== userId ? undefined : email;
}

/** Berth's LDAP groups by normalized DN. */
async function ldapGroupIndex(db: Database): Promise<Map<string, number>> {
  const index = new Map<string, number>();
  for (const row of await db.groups.findAll()) {
    if (row.type === groupTypes.ldap && row.ldap_dn) index.set(normalizeDn(row.ldap_dn), Number(row.id));
  }
  return index;
}

/** The ids of these LDAP groups in Berth, creating the missing ones (matched by DN). */
async function groupIds(
  db: Database,
  index: Map<string, number>,
  groups: readonly LdapGroup[],
  now: number,
): Promise<number[]> {
  const ids: number[] = [];
  for (const group of groups) {
    let id = index.get(normalizeDn(group.dn));
    if (id === undefined) {
      // Group names are unique per type; two directory groups may share a cn in different OUs.
      const taken = await db.groups.findByName(group.name, groupTypes.ldap);
      id = await db.groups.insert({
        name: taken ? group.dn : group.name,
        type: groupTypes.ldap,
        ldap_dn: group.dn,
        created_at: now,
      });
      index.set(normalizeDn(group.dn), id);
    }
    ids.push(id);
  }
  return ids;
}

/**
 * Records the user's groups and applies the admin group: its members become system
 * administrators, and a user who leaves it loses the role; one made administrator through the
 * API while never in the group keeps it (as for OIDC's admin group).
 */
async function applyMemberships(
  db: Database,
  user: UserRow,
  memberships: LdapMemberships,
  now: number,
): Promise<void> {
  const id = Number(user.id);
  const before = await db.users.groupIds(id);
  const index = await ldapGroupIndex(db);
  await db.users.setGroupIds(id, await groupIds(db, index, memberships.groups, now));
  const adminGroupId = memberships.adminDn ? index.get(normalizeDn(memberships.adminDn)) : undefined;
  const grantedByGroup = adminGroupId !== undefined && before.includes(adminGroupId);
  const sysadmin = memberships.admin ? 1 : grantedByGroup ? 0 : user.sysadmin;
  if (sysadmin !== user.sysadmin) await db.users.update(id, { sysadmin, updated_at: now });
}

/**
 * Creates or refreshes the Berth user for a directory entry (source `ldap`, external id = DN,
 * e-mail and real name from the entry) and, when `memberships` is given, records exactly
 * those groups and the admin group's role. One transaction.
 */
export function onboardLdapUser(
  db: Database,
  now: number,
  entry: LdapUser,
  memberships: LdapMemberships | undefined,
): Promise<OnboardResult> {
  return db.transaction(async (tx) => {
    const row =
      (await tx.users.findByExternalId('ldap', entry.dn)) ?? (await tx.users.findByUsername(entry.username));
    if (row && row.source !== 'ldap')
      return { ok: false, reason: `a ${row.source} user named ${row.username} exists` };
    if (row?.disabled === 1) return { ok: false, reason: `user ${row.username} is disabled` };
    let id: number;
    if (row) {
      id = Number(row.id);
      const email = (await usableEmail(tx, entry.email, id)) ?? row.email;
      if (email !== row.email || entry.realname !== row.realname || entry.dn !== row.external_id)
        await tx.users.update(id, {
          email,
          realname: entry.realname,
          external_id: entry.dn,
          updated_at: now,
        });
    } else {
      id = await tx.users.insert(
        newUser(
          {
            username: entry.username,
            email: (await usableEmail(tx, entry.email, undefined)) ?? null,
            realname: entry.realname,
            comment: 'from LDAP.',
            source: 'ldap',
            external_id: entry.dn,
          },
          now,
        ),
      );
    }
    const onboarded = await tx.users.findById(id);
    if (!onboarded) throw new Error(`user ${id} vanished while being onboarded`);
    if (!memberships) return { ok: true, user: onboarded };
    await applyMemberships(tx, onboarded, memberships, now);
    return { ok: true, user: (await tx.users.findById(id)) ?? onboarded };
  });
}
