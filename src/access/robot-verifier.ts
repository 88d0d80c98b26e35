import type { Database } from '../db/database.ts';
import type { RobotRow } from '../db/robots.ts';
import type { Clock } from '../lib/clock.ts';
import type { RobotVerifier } from './authenticator.ts';
import type { Caller } from './caller.ts';
import { decoyHash, verifyPassword } from './passwords.ts';
import type { ProjectDirectory } from './project-directory.ts';
import { parseRobotLoginName } from './robot-names.ts';

/** Whether a robot's `expires_at` (epoch seconds, -1 never) has passed at `nowMs`. */
export function robotExpired(expiresAt: number, nowMs: number): boolean {
  return expiresAt !== -1 && nowMs >= expiresAt * 1000;
}

/**
 * Checks robot credentials against the argon2id hash of the secret. Runs on a cache miss only:
 * the Authenticator remembers successful logins briefly (never past the robot's expiry), and
 * forgets them all whenever a robot changes. Whether a robot is still active (for the registry
 * tokens issued to it) is cached the same way.
 */
export class DatabaseRobotVerifier implements RobotVerifier {
  private readonly activity = new Map<string, { active: boolean; until: number }>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly directory: ProjectDirectory,
    /** How long an answer of `active` holds (another node's changes show within it). */
    private readonly activityTtlMs = 30_000,
  ) {}

  async verify(login: string, secret: string): Promise<{ caller: Caller; expiresAt?: number } | undefined> {
    const robot = await this.find(login);
    if (!robot) {
      // Spend the same time as a real check, so timing does not tell which robots exist.
      await verifyPassword(await decoyHash(), secret);
      return undefined;
    }
    if (!(await verifyPassword(robot.secret_hash, secret))) return undefined;
    const expiresAt = Number(robot.expires_at);
    if (robot.disabled === 1 || robotExpired(expiresAt, this.clock.now())) return undefined;
    const permissions = await this.db.robots.permissionsOf(Number(robot.id));
    return {
      caller: {
        kind: 'robot',
        id: Number(robot.id),
        name: login,
        projectId: Number(robot.project_id),
        permissions,
      },
      expiresAt: expiresAt === -1 ? undefined : expiresAt * 1000,
    };
  }

  async active(login: string): Promise<boolean> {
    const now = this.clock.now();
    const known = this.activity.get(login);
    if (known && known.until > now) return known.active;
    const robot = await this.find(login);
    const expiresAt = robot ? Number(robot.expires_at) : -1;
    const active = robot !== undefined && robot.disabled === 0 && !robotExpired(expiresAt, now);
    const until =
      active && expiresAt !== -1
        ? Math.min(now + this.activityTtlMs, expiresAt * 1000)
        : now + this.activityTtlMs;
    if (this.activity.size >= 10_000) this.activity.clear();
    this.activity.set(login, { active, until });
    return active;
  }

  forget(): void {
    this.activity.clear();
  }

  private async find(login: string): Promise<RobotRow | undefined> {
    const parsed = parseRobotLoginName(login);
    if (!parsed) return undefined;
    if (parsed.project === undefined) return this.db.robots.findByName(parsed.name, 0);
    const project = await this.directory.byName(parsed.project);
    return project ? this.db.robots.findByName(parsed.name, project.id) : undefined;
  }
}
