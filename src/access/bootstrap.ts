import type { Database } from '../db/database.ts';
import { newUser } from '../db/users.ts';
import type { Clock } from '../lib/clock.ts';
import { generateSecret, hashPassword, passwordProblem } from './passwords.ts';

export interface AdminBootstrap {
  created: boolean;
  /** Set when the password was generated: shown once, never stored in clear. */
  generatedPassword?: string;
}

/**
 * Makes sure the first system administrator, `admin` (as in Harbor), exists. Its password is
 * the configured one, or a generated one the caller prints once; later starts change nothing.
 */
export async function ensureAdmin(
  db: Database,
  clock: Clock,
  configuredPassword: string,
): Promise<AdminBootstrap> {
  if (await db.users.findByUsername('admin')) return { created: false };
  if (configuredPassword) {
    const problem = passwordProblem(configuredPassword);
    if (problem) throw new Error(`adminPassword (BERTH_ADMIN_PASSWORD): ${problem}`);
  }
  const password = configuredPassword || generateSecret(24);
  const now = clock.now();
  await db.users.insert(
    newUser(
      {
        username: 'admin',
        realname: 'Berth administrator',
        password_hash: await hashPassword(password),
        sysadmin: 1,
        source: 'local',
      },
      now,
    ),
  );
  return configuredPassword ? { created: true } : { created: true, generatedPassword: password };
}
