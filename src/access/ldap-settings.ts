import type { SettingsService } from './settings-service.ts';

/** Harbor's search scopes: 0 the base entry, 1 one level below it, 2 the whole subtree. */
export type LdapScope = 'base' | 'one' | 'sub';

/** The LDAP settings of one login or one API call, read together from the live settings. */
export interface LdapSettings {
  url: string;
  searchDn: string;
  searchPassword: string;
  baseDn: string;
  /** Extra filter every user entry must match, e.g. `(objectClass=person)`; may be empty. */
  filter: string;
  /** The attribute holding the login name (`uid`, `sAMAccountName`, …). */
  uid: string;
  scope: LdapScope;
  timeoutMs: number;
  verifyCert: boolean;
  startTls: boolean;
  /** PEM of the CA(s) the server's certificate must chain to; empty: the system's CAs. */
  caCert: string;
  /** Groups are looked for here; empty: under `baseDn`. */
  groupBaseDn: string;
  groupFilter: string;
  groupNameAttribute: string;
  groupScope: LdapScope;
  /** Members of this group are system administrators while they log in through LDAP. */
  groupAdminDn: string;
  /** The user entry's attribute listing the DNs of its groups (`memberOf`). */
  groupMembershipAttribute: string;
}

export function scopeOf(value: number): LdapScope {
  return value === 0 ? 'base' : value === 1 ? 'one' : 'sub';
}

export async function readLdapSettings(settings: SettingsService): Promise<LdapSettings> {
  return {
    url: (await settings.get('ldap_url')).trim(),
    searchDn: (await settings.get('ldap_search_dn')).trim(),
    searchPassword: await settings.get('ldap_search_password'),
    baseDn: (await settings.get('ldap_base_dn')).trim(),
    filter: (await settings.get('ldap_filter')).trim(),
    uid: (await settings.get('ldap_uid')).trim() || 'uid',
    scope: scopeOf(await settings.get('ldap_scope')),
    timeoutMs: Math.max(1, await settings.get('ldap_timeout')) * 1000,
    verifyCert: await settings.get('ldap_verify_cert'),
    startTls: await settings.get('ldap_start_tls'),
    caCert: (await settings.get('ldap_ca_cert')).trim(),
    groupBaseDn: (await settings.get('ldap_group_base_dn')).trim(),
    groupFilter: (await settings.get('ldap_group_search_filter')).trim(),
    groupNameAttribute: (await settings.get('ldap_group_attribute_name')).trim() || 'cn',
    groupScope: scopeOf(await settings.get('ldap_group_search_scope')),
    groupAdminDn: (await settings.get('ldap_group_admin_dn')).trim(),
    groupMembershipAttribute: (await settings.get('ldap_group_membership_attribute')).trim() || 'memberof',
  };
}

/** Harbor's `LdapConf` body of `POST /ldap/ping`: each field given replaces the stored one. */
export interface LdapConfOverrides {
  ldap_url?: string;
  ldap_search_dn?: string;
  ldap_search_password?: string;
  ldap_base_dn?: string;
  ldap_filter?: string;
  ldap_uid?: string;
  ldap_scope?: number;
  ldap_connection_timeout?: number;
  ldap_verify_cert?: boolean;
}

export function withOverrides(base: LdapSettings, conf: LdapConfOverrides): LdapSettings {
  return {
    ...base,
    url: conf.ldap_url?.trim() || base.url,
    searchDn: conf.ldap_search_dn?.trim() || base.searchDn,
    // An empty password means "the stored one", so a form need not resend the secret (Harbor).
    searchPassword: conf.ldap_search_password || base.searchPassword,
    baseDn: conf.ldap_base_dn?.trim() || base.baseDn,
    filter: conf.ldap_filter?.trim() ?? base.filter,
    uid: conf.ldap_uid?.trim() || base.uid,
    scope: conf.ldap_scope === undefined ? base.scope : scopeOf(conf.ldap_scope),
    timeoutMs: conf.ldap_connection_timeout
      ? Math.max(1, conf.ldap_connection_timeout) * 1000
      : base.timeoutMs,
    verifyCert: conf.ldap_verify_cert ?? base.verifyCert,
  };
}
