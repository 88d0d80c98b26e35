import { hash } from 'node:crypto';
import type { UserRow } from '../db/users.ts';

/**
 * A short fingerprint of a user's identity and current credentials (id, password hash, CLI
 * secret). Refresh tokens carry it, so a password or CLI secret change, or deleting the user and
 * creating another of the same name, ends every refresh token issued before.
 */
export function credentialStamp(user: UserRow): string {
  const material = [user.id, user.source, user.password_hash ?? '', user.cli_secret ?? ''].join('\0');
  return hash('sha256', material, 'base64url').slice(0, 22);
}
