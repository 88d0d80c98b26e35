import { LdapConfigError } from './ldap-names.ts';
import { LdapSession, LdapUnavailableError } from './ldap-session.ts';
import type { LdapSettings } from './ldap-settings.ts';

export interface LdapPingResult {
  success: boolean;
  message: string;
}

/**
 * Harbor's LDAP connection test: connect (with TLS as configured) and bind as the search DN.
 * The message says what failed, never with the password.
 */
export async function pingLdap(settings: LdapSettings): Promise<LdapPingResult> {
  let session: LdapSession | undefined;
  try {
    session = await LdapSession.open(settings);
    if (settings.searchDn && !settings.searchPassword)
      return { success: false, message: 'error: empty password for the search DN' };
    if (settings.searchDn && !(await session.bind(settings.searchDn, settings.searchPassword)))
      return { success: false, message: 'error: invalid credential' };
    if (!settings.searchDn) await session.search('', '(objectClass=*)', 'base', ['1.1']);
    return { success: true, message: 'success' };
  } catch (error) {
    if (error instanceof LdapUnavailableError || error instanceof LdapConfigError)
      return { success: false, message: `error: ${error.message}` };
    throw error;
  } finally {
    await session?.close();
  }
}
