import { and, attribute, equals, isUnder, normalizeDn, normalizeFilter, or } from './ldap-names.ts';
import { first, type LdapSession, values } from './ldap-session.ts';
import type { LdapSettings } from './ldap-settings.ts';

/** A user entry as Berth onboards it. */
export interface LdapUser {
  dn: string;
  username: string;
  realname: string;
  email: string | undefined;
  /** Values of the membership attribute (`memberOf`): DNs of the user's groups. */
  groupDns: string[];
}

export interface LdapGroup {
  dn: string;
  name: string;
}

/**
 * User entries whose login attribute equals `username` (every user with one when `username` is
 * empty), within the base DN and the configured filter. The name is escaped: `*` or `)` in it
 * match themselves, never more entries.
 */
export async function findUsers(
  session: LdapSession,
  settings: LdapSettings,
  username: string,
): Promise<LdapUser[]> {
  const uid = attribute(settings.uid);
  const membership = attribute(settings.groupMembershipAttribute);
  const byName = username === '' ? `(${uid}=*)` : equals(uid, username);
  const entries = await session.search(
    settings.baseDn,
    and(normalizeFilter(settings.filter), byName),
    settings.scope,
    [...new Set([uid, 'uid', 'cn', 'mail', 'email', membership])],
  );
  return entries.map((entry) => {
    const login = first(entry, uid) ?? username;
    return {
      dn: entry.dn,
      username: login,
      realname: first(entry, 'cn') ?? first(entry, 'uid') ?? login,
      email: first(entry, 'mail') ?? first(entry, 'email'),
      groupDns: values(entry, membership).filter((dn) => dn !== ''),
    };
  });
}

function groupBase(settings: LdapSettings): string {
  return settings.groupBaseDn || settings.baseDn;
}

function toGroup(entry: { dn: string }, name: string | undefined): LdapGroup {
  return { dn: entry.dn, name: name ?? entry.dn };
}

/** The group entry at `dn`, if it lies under the group base DN and matches the group filter. */
export async function groupByDn(
  session: LdapSession,
  settings: LdapSettings,
  dn: string,
): Promise<LdapGroup | undefined> {
  if (!isUnder(groupBase(settings), dn)) return undefined;
  const nameAttribute = attribute(settings.groupNameAttribute);
  const [entry] = await session.search(
    dn,
    and(normalizeFilter(settings.groupFilter), `(${nameAttribute}=*)`),
    'base',
    [nameAttribute],
  );
  return entry ? toGroup(entry, first(entry, nameAttribute)) : undefined;
}

/** Groups under the group base DN whose name attribute equals `name`. */
export async function groupsByName(
  session: LdapSession,
  settings: LdapSettings,
  name: string,
): Promise<LdapGroup[]> {
  const nameAttribute = attribute(settings.groupNameAttribute);
  const entries = await session.search(
    groupBase(settings),
    and(normalizeFilter(settings.groupFilter), equals(nameAttribute, name)),
    settings.groupScope,
    [nameAttribute],
  );
  return entries.map((entry) => toGroup(entry, first(entry, nameAttribute)));
}

export interface Memberships {
  /** The user's groups; includes the admin group when the user is in it. */
  groups: LdapGroup[];
  /** Whether the user is in `ldap_group_admin_dn`. */
  admin: boolean;
}

/** A filter for groups that name the user as a member, whichever way they list members. */
function namingUser(user: LdapUser): string {
  return or(equals('member', user.dn), equals('uniqueMember', user.dn), equals('memberUid', user.username));
}

/** Whether the admin group (wherever it lies) lists the user, when memberOf did not say so. */
async function inAdminGroup(session: LdapSession, user: LdapUser, adminDn: string): Promise<boolean> {
  const entries = await session.search(adminDn, namingUser(user), 'base', ['1.1']);
  return entries.length > 0;
}

/** A group's name from its DN when the entry was not read: the first RDN's value. */
function nameFromDn(dn: string): string {
  const rdn = dn.split(/(?<!\\),/)[0] ?? dn;
  return rdn.slice(rdn.indexOf('=') + 1).trim() || dn;
}

/**
 * The user's groups under the group base DN: those listed in the user's membership attribute
 * (`memberOf`, Harbor's way), and those naming the user as `member`, `uniqueMember` or
 * `memberUid` (directories without a memberOf overlay, posixGroup). Then whether the user is
 * in the admin group, which may lie outside the group base DN.
 */
export async function membershipsOf(
  session: LdapSession,
  settings: LdapSettings,
  user: LdapUser,
): Promise<Memberships> {
  const nameAttribute = attribute(settings.groupNameAttribute);
  const found = new Map<string, LdapGroup>();
  const entries = await session.search(
    groupBase(settings),
    and(normalizeFilter(settings.groupFilter), namingUser(user)),
    settings.groupScope,
    [nameAttribute],
  );
  for (const entry of entries) found.set(normalizeDn(entry.dn), toGroup(entry, first(entry, nameAttribute)));
  for (const dn of user.groupDns) {
    if (found.has(normalizeDn(dn))) continue;
    const group = await groupByDn(session, settings, dn);
    if (group) found.set(normalizeDn(group.dn), group);
  }
  const adminDn = settings.groupAdminDn;
  if (!adminDn) return { groups: [...found.values()], admin: false };
  const key = normalizeDn(adminDn);
  const admin =
    found.has(key) ||
    user.groupDns.some((dn) => normalizeDn(dn) === key) ||
    (await inAdminGroup(session, user, adminDn));
  // Recorded like any group, so a later login can tell the role came from it (see onboarding).
  if (admin && !found.has(key)) found.set(key, { dn: adminDn, name: nameFromDn(adminDn) });
  return { groups: [...found.values()], admin };
}
