import { RegistryError } from '../oci/errors.ts';
import type { SettingsService } from './settings-service.ts';

/** The `oidc_*` settings, read together and parsed. */
export interface OidcSettings {
  name: string;
  /** The issuer: its `/.well-known/openid-configuration` describes the provider. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  verifyCert: boolean;
  autoOnboard: boolean;
  /** Claim naming the user; empty means Harbor's default, `name`. */
  userClaim: string;
  groupsClaim: string;
  adminGroup: string;
  /** Only groups matching this regular expression are kept; empty keeps all. */
  groupFilter: RegExp | undefined;
  extraRedirectParams: Record<string, string>;
}

function parseExtraParams(value: string): Record<string, string> {
  try {
    const parsed = JSON.parse(value || '{}') as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed as Record<string, unknown>).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string',
      ),
    );
  } catch {
    return {};
  }
}

function parseFilter(value: string): RegExp | undefined {
  if (!value) return undefined;
  try {
    return new RegExp(value);
  } catch {
    throw new RegistryError('PRECONDITION', 'oidc_group_filter is not a valid regular expression');
  }
}

/** Reads the OIDC settings; 412 unless OIDC is the auth mode and the provider is configured. */
export async function readOidcSettings(settings: SettingsService): Promise<OidcSettings> {
  const mode = await settings.authMode();
  if (mode !== 'oidc_auth') throw new RegistryError('PRECONDITION', `auth mode: ${mode} is not OIDC based`);
  const oidc: OidcSettings = {
    name: await settings.get('oidc_name'),
    issuer: (await settings.get('oidc_endpoint')).trim(),
    clientId: await settings.get('oidc_client_id'),
    clientSecret: await settings.get('oidc_client_secret'),
    scopes: (await settings.get('oidc_scope'))
      .split(/[,\s]+/)
      .map((scope) => scope.trim())
      .filter(Boolean),
    verifyCert: await settings.get('oidc_verify_cert'),
    autoOnboard: await settings.get('oidc_auto_onboard'),
    userClaim: await settings.get('oidc_user_claim'),
    groupsClaim: await settings.get('oidc_groups_claim'),
    adminGroup: await settings.get('oidc_admin_group'),
    groupFilter: parseFilter(await settings.get('oidc_group_filter')),
    extraRedirectParams: parseExtraParams(await settings.get('oidc_extra_redirect_parms')),
  };
  if (!oidc.issuer || !oidc.clientId)
    throw new RegistryError(
      'PRECONDITION',
      'the OIDC provider is not configured (oidc_endpoint, oidc_client_id)',
    );
  if (!oidc.scopes.includes('openid')) oidc.scopes.unshift('openid');
  return oidc;
}
