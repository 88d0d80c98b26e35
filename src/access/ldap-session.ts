import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, type Entry, FilterParser, InvalidCredentialsError } from 'ldapts';
import { LdapConfigError } from './ldap-names.ts';
import type { LdapScope, LdapSettings } from './ldap-settings.ts';

/** The directory could not be reached or spoken to securely (network, TLS, timeout). */
export class LdapUnavailableError extends Error {
  override name = 'LdapUnavailableError';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

function parseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `ldap://${raw}`);
  } catch {
    throw new LdapConfigError(`invalid LDAP URL ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:')
    throw new LdapConfigError('the LDAP URL must start with ldap:// or ldaps://');
  return url;
}

/** TLS options for ldaps:// and StartTLS: the configured CA, and verification as configured. */
function tlsOptions(settings: LdapSettings, host: string): ConnectionOptions {
  return {
    host,
    // Node checks the certificate against `host`; SNI (servername) is for names, not addresses.
    ...(isIP(host) ? {} : { servername: host }),
    rejectUnauthorized: settings.verifyCert,
    ...(settings.caCert ? { ca: [settings.caCert] } : {}),
  };
}

/** Every value of an attribute of an entry (attribute names compare case-insensitively). */
export function values(entry: Entry, name: string): string[] {
  const key = Object.keys(entry).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  if (key === undefined || key === 'dn') return [];
  const value = entry[key];
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((item) => (Buffer.isBuffer(item) ? item.toString('utf8') : item).trim());
}

export function first(entry: Entry, name: string): string | undefined {
  return values(entry, name).find((value) => value !== '');
}

/**
 * One connection to the directory: connects (ldaps:// or ldap:// with StartTLS, as configured),
 * binds, searches. Never falls back to plain text when TLS was asked for. `close()` always.
 */
export class LdapSession {
  private constructor(
    private readonly client: Client,
    private readonly settings: LdapSettings,
  ) {}

  static async open(settings: LdapSettings): Promise<LdapSession> {
    if (!settings.url) throw new LdapConfigError('ldap_url is not set');
    const url = parseUrl(settings.url);
    const secure = url.protocol === 'ldaps:';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port || (secure ? '636' : '389');
    const client = new Client({
      url: `${url.protocol}//${url.hostname}:${port}`,
      timeout: settings.timeoutMs,
      connectTimeout: settings.timeoutMs,
      // ldapts speaks TLS from the start whenever it is given TLS options, even for ldap://.
      ...(secure ? { tlsOptions: tlsOptions(settings, host) } : {}),
      strictDN: false,
    });
    const session = new LdapSession(client, settings);
    try {
      if (!secure && settings.startTls) await client.startTLS(tlsOptions(settings, host));
    } catch (error) {
      await session.close();
      throw new LdapUnavailableError(`StartTLS with ${url.host} failed: ${describe(error)}`);
    }
    return session;
  }

  /** Binds as `dn`; false for wrong credentials. An empty password is never sent (see below). */
  async bind(dn: string, password: string): Promise<boolean> {
    // A simple bind with a DN and no password is an "unauthenticated bind" (RFC 4513 5.1.2):
    // many servers answer success without checking anything.
    if (password === '') return false;
    try {
      await this.client.bind(dn, password);
      return true;
    } catch (error) {
      if (error instanceof InvalidCredentialsError) return false;
      throw this.classify(error);
    }
  }

  /** Binds as the configured search account; a refusal is a configuration problem. */
  async bindSearchAccount(): Promise<void> {
    if (!this.settings.searchDn) return; // anonymous search, if the directory allows it
    if (!(await this.bind(this.settings.searchDn, this.settings.searchPassword)))
      throw new LdapConfigError('the directory refused the search DN and password (ldap_search_dn)');
  }

  async search(base: string, filter: string, scope: LdapScope, attributes: string[]): Promise<Entry[]> {
    try {
      FilterParser.parseString(filter);
    } catch (error) {
      throw new LdapConfigError(`invalid LDAP filter ${filter}: ${describe(error)}`);
    }
    try {
      const { searchEntries } = await this.client.search(base, { filter, scope, attributes });
      return searchEntries;
    } catch (error) {
      if (error instanceof Error && error.name === 'NoSuchObjectError') return [];
      throw this.classify(error);
    }
  }

  async close(): Promise<void> {
    try {
      await this.client.unbind();
    } catch {
      // The connection is gone either way.
    }
  }

  /** Network and TLS failures are "unavailable"; the server refusing a request is config. */
  private classify(error: unknown): Error {
    if (error instanceof LdapConfigError || error instanceof LdapUnavailableError) return error;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'number') return new LdapConfigError(`the directory refused: ${describe(error)}`);
    return new LdapUnavailableError(`cannot reach ${this.settings.url}: ${describe(error)}`);
  }
}
