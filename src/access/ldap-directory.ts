import type { Database } from '../db/database.ts';
import type { UserRow } from '../db/users.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { RegistryError } from '../oci/errors.ts';
import type { ExternalPasswordVerifier } from './authenticator.ts';
import {
  findUsers,
  groupByDn,
  groupsByName,
  type LdapGroup,
  type LdapUser,
  type Memberships,
  membershipsOf,
} from './ldap-lookups.ts';
import { LdapConfigError } from './ldap-names.ts';
import { onboardLdapUser } from './ldap-onboarding.ts';
import { LdapSession, LdapUnavailableError } from './ldap-session.ts';
import { type LdapSettings, readLdapSettings } from './ldap-settings.ts';
import type { SettingsService } from './settings-service.ts';

export interface LdapDirectoryOptions {
  db: Database;
  clock: Clock;
  log: Logger;
  settings: SettingsService;
}

export interface FailedImport {
  uid: string;
  error: string;
}

/**
 * LDAP / Active Directory as Harbor uses it: a login searches the user's entry as the search
 * account, binds as that entry with the password, onboards the user and records their groups;
 * members of `ldap_group_admin_dn` become system administrators (and stop being when they leave
 * it). Settings are read live at each call (the settings service caches them briefly).
 */
export class LdapDirectory implements ExternalPasswordVerifier {
  private readonly db: Database;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly settings: SettingsService;

  constructor(options: LdapDirectoryOptions) {
    this.db = options.db;
    this.clock = options.clock;
    this.log = options.log;
    this.settings = options.settings;
  }

  /** This directory while the auth mode is `ldap_auth`; otherwise there is none. */
  async whenActive(): Promise<LdapDirectory | undefined> {
    return (await this.settings.authMode()) === 'ldap_auth' ? this : undefined;
  }

  async login(
    username: string,
    password: string,
    _existing: UserRow | undefined,
  ): Promise<UserRow | undefined> {
    const name = username.trim();
    if (name === '' || password === '') return undefined;
    return this.withSession(async (session, settings) => {
      const entries = await findUsers(session, settings, name);
      if (entries.length !== 1) {
        this.log.info({ username: name, entries: entries.length }, 'ldap login: no single matching entry');
        return undefined;
      }
      const entry = entries[0] as LdapUser;
      if (!(await session.bind(entry.dn, password))) return undefined;
      await session.bindSearchAccount();
      const memberships = await this.membershipsOrNone(() => membershipsOf(session, settings, entry));
      const result = await onboardLdapUser(this.db, this.clock.now(), entry, {
        ...memberships,
        adminDn: settings.groupAdminDn,
      });
      if (!result.ok) {
        this.log.warn({ username: name, dn: entry.dn }, `ldap login refused: ${result.reason}`);
        return undefined;
      }
      return result.user;
    });
  }

  /** Entries for `GET /ldap/users/search` (every user when `username` is empty). */
  searchUsers(username: string): Promise<LdapUser[]> {
    return this.withSession((session, settings) => findUsers(session, settings, username.trim()));
  }

  /** Harbor's `POST /ldap/users/import`: onboards each uid; returns those that failed. */
  importUsers(uids: readonly string[]): Promise<{ imported: string[]; failed: FailedImport[] }> {
    return this.withSession(async (session, settings) => {
      const imported: string[] = [];
      const failed: FailedImport[] = [];
      for (const uid of uids) {
        if (uid.trim() === '') {
          failed.push({ uid, error: 'empty_uid' });
          continue;
        }
        const entries = await findUsers(session, settings, uid.trim());
        const entry = entries[0];
        if (!entry || entries.length > 1) {
          // Several entries: that user could never log in either (see login).
          failed.push({ uid, error: entry ? 'ambiguous_user' : 'unknown_user' });
          continue;
        }
        const result = await onboardLdapUser(this.db, this.clock.now(), entry, undefined);
        if (result.ok) imported.push(entry.username);
        else failed.push({ uid, error: `failed to import user ${uid}: ${result.reason}` });
      }
      return { imported, failed };
    });
  }

  /** Harbor's `GET /ldap/groups/search`: by name, else by DN. */
  searchGroups(query: { name?: string; dn?: string }): Promise<LdapGroup[]> {
    return this.withSession(async (session, settings) => {
      if (query.name) return groupsByName(session, settings, query.name);
      if (query.dn) {
        const group = await groupByDn(session, settings, query.dn);
        return group ? [group] : [];
      }
      return [];
    });
  }

  /**
   * For adding an LDAP group by DN (`/usergroups`, project members): whether the directory has
   * it under the group base DN. Outside `ldap_auth` there is no directory to ask.
   */
  async groupExists(dn: string): Promise<boolean> {
    if (!(await this.whenActive())) return true;
    return (await this.searchGroups({ dn })).length > 0;
  }

  /** Group lookups never block a login: on a configuration error the user gets no groups. */
  private async membershipsOrNone(lookup: () => Promise<Memberships>): Promise<Memberships> {
    try {
      return await lookup();
    } catch (error) {
      if (!(error instanceof LdapConfigError)) throw error;
      this.log.warn({ err: error.message }, 'ldap group lookup failed; the user gets no groups');
      return { groups: [], admin: false };
    }
  }

  /**
   * Runs `work` on a connection bound as the search account. A directory that cannot be
   * reached or is misconfigured is a 503 for the client; the reason goes to the log only.
   */
  private async withSession<T>(
    work: (session: LdapSession, settings: LdapSettings) => Promise<T>,
  ): Promise<T> {
    const settings = await readLdapSettings(this.settings);
    let session: LdapSession | undefined;
    try {
      session = await LdapSession.open(settings);
      await session.bindSearchAccount();
      return await work(session, settings);
    } catch (error) {
      if (error instanceof LdapUnavailableError || error instanceof LdapConfigError) {
        this.log.warn({ err: error.message }, 'ldap directory unavailable');
        throw new RegistryError('UNAVAILABLE', 'the LDAP directory is unavailable or misconfigured');
      }
      throw error;
    } finally {
      await session?.close();
    }
  }
}
