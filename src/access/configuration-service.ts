import { RegistryError } from '../oci/errors.ts';
import type { Authenticator } from './authenticator.ts';
import type { SettingsService } from './settings-service.ts';
import type { UserService } from './user-service.ts';

export type ConfigurationItems = Record<string, { value: string | number | boolean; editable: boolean }>;

/** Durations Harbor requires to be positive and at most ten digits long. */
const positiveKeys = ['token_expiration', 'robot_token_duration'];
const largestDuration = 9_999_999_999;

/**
 * `/configurations` over the settings: Harbor's extra rules on top of the settings' own type
 * checks. The auth mode can change only while nobody but the first administrator has an
 * account (their identities would mean something else under another mode), and any change
 * drops cached logins, since it may change who can log in and how.
 */
export class ConfigurationService {
  constructor(
    private readonly settings: SettingsService,
    private readonly users: UserService,
    private readonly authenticator: Authenticator,
  ) {}

  /** Every setting but the secrets, which are never shown. */
  async describe(): Promise<ConfigurationItems> {
    const items = await this.settings.describe();
    const authMode = items.auth_mode;
    if (authMode) authMode.editable = !(await this.users.hasUsersBesidesAdmin());
    return items;
  }

  /** Validates and applies a partial update; returns the keys it changed. */
  async update(entries: Record<string, unknown>): Promise<string[]> {
    const requestedMode = entries.auth_mode;
    if (
      typeof requestedMode === 'string' &&
      requestedMode !== (await this.settings.authMode()) &&
      (await this.users.hasUsersBesidesAdmin())
    ) {
      throw new RegistryError(
        'BAD_REQUEST',
        'the auth mode cannot be modified as new users have been inserted into database',
      );
    }
    for (const key of positiveKeys) {
      const value = entries[key];
      if (typeof value !== 'number') continue;
      if (value <= 0) throw new RegistryError('BAD_REQUEST', `the ${key} value must be positive`);
      if (value > largestDuration) {
        throw new RegistryError(
          'BAD_REQUEST',
          `the ${key} value is over the limit value: ${largestDuration}`,
        );
      }
    }
    await this.settings.update(entries);
    this.authenticator.forgetLogins();
    return Object.keys(entries);
  }
}
