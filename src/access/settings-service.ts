import type { Database } from '../db/database.ts';
import type { Clock } from '../lib/clock.ts';
import { RegistryError } from '../oci/errors.ts';
import type { SecretBox } from './secret-box.ts';

export type AuthMode = 'db_auth' | 'ldap_auth' | 'oidc_auth';

type Kind = 'string' | 'boolean' | 'integer' | 'secret';

interface SettingSpec {
  kind: Kind;
  default: string | boolean | number;
  /** Allowed values of a string setting. */
  choices?: readonly string[];
}

/**
 * Settings changed at run time through `/api/v2.0/configurations`, with Harbor's keys. Secret
 * values are sealed at rest and never returned. Read through a short cache (every node sees a
 * change within `ttlMs`).
 */
export const settingSpecs = {
  auth_mode: { kind: 'string', default: 'db_auth', choices: ['db_auth', 'ldap_auth', 'oidc_auth'] },
  project_creation_restriction: { kind: 'string', default: 'everyone', choices: ['everyone', 'adminonly'] },
  self_registration: { kind: 'boolean', default: false },
  robot_name_prefix: { kind: 'string', default: 'robot$' },
  robot_token_duration: { kind: 'integer', default: 30 },
  token_expiration: { kind: 'integer', default: 30 },
  read_only: { kind: 'boolean', default: false },
  ldap_url: { kind: 'string', default: '' },
  ldap_search_dn: { kind: 'string', default: '' },
  ldap_search_password: { kind: 'secret', default: '' },
  ldap_base_dn: { kind: 'string', default: '' },
  ldap_filter: { kind: 'string', default: '' },
  ldap_uid: { kind: 'string', default: 'uid' },
  ldap_scope: { kind: 'integer', default: 2 },
  ldap_timeout: { kind: 'integer', default: 5 },
  ldap_verify_cert: { kind: 'boolean', default: true },
  ldap_start_tls: { kind: 'boolean', default: false },
  ldap_ca_cert: { kind: 'string', default: '' },
  ldap_group_base_dn: { kind: 'string', default: '' },
  ldap_group_search_filter: { kind: 'string', default: '' },
  ldap_group_attribute_name: { kind: 'string', default: 'cn' },
  ldap_group_search_scope: { kind: 'integer', default: 2 },
  ldap_group_admin_dn: { kind: 'string', default: '' },
  ldap_group_membership_attribute: { kind: 'string', default: 'memberof' },
  oidc_name: { kind: 'string', default: '' },
  oidc_endpoint: { kind: 'string', default: '' },
  oidc_client_id: { kind: 'string', default: '' },
  oidc_client_secret: { kind: 'secret', default: '' },
  oidc_verify_cert: { kind: 'boolean', default: true },
  oidc_scope: { kind: 'string', default: 'openid,profile,email,offline_access' },
  oidc_user_claim: { kind: 'string', default: '' },
  oidc_groups_claim: { kind: 'string', default: 'groups' },
  oidc_admin_group: { kind: 'string', default: '' },
  oidc_auto_onboard: { kind: 'boolean', default: true },
  oidc_group_filter: { kind: 'string', default: '' },
  oidc_extra_redirect_parms: { kind: 'string', default: '{}' },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof settingSpecs;
type SettingValue<K extends SettingKey> = (typeof settingSpecs)[K]['kind'] extends 'boolean'
  ? boolean
  : (typeof settingSpecs)[K]['kind'] extends 'integer'
    ? number
    : string;

export class SettingsService {
  private cache: { values: Map<string, string>; until: number } | undefined;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly secrets: SecretBox,
    private readonly ttlMs = 2000,
  ) {}

  async get<K extends SettingKey>(key: K): Promise<SettingValue<K>> {
    const stored = (await this.stored()).get(key);
    const spec: SettingSpec = settingSpecs[key];
    if (stored === undefined) return spec.default as SettingValue<K>;
    const value = JSON.parse(stored) as string | number | boolean;
    return (
      spec.kind === 'secret' && typeof value === 'string' && value ? this.secrets.open(value) : value
    ) as SettingValue<K>;
  }

  async authMode(): Promise<AuthMode> {
    return (await this.get('auth_mode')) as AuthMode;
  }

  async projectCreationRestriction(): Promise<'everyone' | 'adminonly'> {
    return (await this.get('project_creation_restriction')) as 'everyone' | 'adminonly';
  }

  /** Every setting with its value and whether it may change; secrets appear only as set or not. */
  async describe(): Promise<Record<string, { value: string | number | boolean; editable: boolean }>> {
    const described: Record<string, { value: string | number | boolean; editable: boolean }> = {};
    for (const key of Object.keys(settingSpecs) as SettingKey[]) {
      if (settingSpecs[key].kind === 'secret') continue;
      described[key] = { value: await this.get(key), editable: true };
    }
    return described;
  }

  /** Validates and stores a partial update; unknown keys and wrong types are refused. */
  async update(entries: Record<string, unknown>): Promise<void> {
    const encoded: Record<string, string> = {};
    for (const [key, value] of Object.entries(entries)) {
      if (!Object.hasOwn(settingSpecs, key))
        throw new RegistryError('BAD_REQUEST', `unknown configuration item ${key}`);
      const spec: SettingSpec = settingSpecs[key as SettingKey];
      const expected = spec.kind === 'secret' ? 'string' : spec.kind === 'integer' ? 'number' : spec.kind;
      if (typeof value !== expected || (spec.kind === 'integer' && !Number.isInteger(value))) {
        throw new RegistryError(
          'BAD_REQUEST',
          `${key} must be a ${spec.kind === 'secret' ? 'string' : spec.kind}`,
        );
      }
      if (spec.choices && !spec.choices.includes(value as string)) {
        throw new RegistryError('BAD_REQUEST', `${key} must be one of ${spec.choices.join(', ')}`);
      }
      encoded[key] = JSON.stringify(
        spec.kind === 'secret' && value ? this.secrets.seal(value as string) : value,
      );
    }
    if (Object.keys(encoded).length === 0)
      throw new RegistryError('BAD_REQUEST', 'Missing configuration item');
    await this.db.settings.set(encoded, this.clock.now());
    this.cache = undefined;
  }

  private async stored(): Promise<Map<string, string>> {
    const now = this.clock.now();
    if (!this.cache || this.cache.until <= now)
      this.cache = { values: await this.db.settings.all(), until: now + this.ttlMs };
    return this.cache.values;
  }
}
