import { randomBytes } from 'node:crypto';
import { generateSecret, hashPassword } from '../access/passwords.ts';
import { robotLoginName } from '../access/robot-names.ts';
import type { TokenService } from '../access/token-service.ts';
import type { Database } from '../db/database.ts';
import type { Clock } from '../lib/clock.ts';
import { scanPullers } from './scan-pullers.ts';

export interface ScanCredential {
  /** The Authorization value the adapter pulls with. */
  authorization: string;
  /** Ends the credential at once (the scan is over), before it would expire. */
  revoke(): Promise<void>;
}

/**
 * A short-lived credential that lets an external scanner pull one repository and nothing else,
 * as Harbor gives its adapters: a project robot with pull on the project, expiring with the
 * token, is the token's subject (so deleting it revokes the token); the registry token itself
 * grants pull on that one repository only.
 */
export async function issueScanCredential(
  deps: { db: Database; tokens: TokenService; clock: Clock; ttlSeconds: number },
  repository: string,
  scanner: string,
): Promise<ScanCredential> {
  const { db, tokens, clock, ttlSeconds } = deps;
  const projectName = repository.slice(0, repository.indexOf('/'));
  const project = await db.projects.findByName(projectName);
  if (!project) throw new Error(`project ${projectName} not found`);
  const name = `scanner-${randomBytes(6).toString('hex')}`;
  const now = clock.now();
  const robotId = await db.robots.insert(
    {
      name,
      project_id: Number(project.id),
      description: `pull credential of one scan by ${scanner.slice(0, 100)}`,
      // Never logged in with: the secret is thrown away, only the token is handed out.
      secret_hash: await hashPassword(generateSecret()),
      duration: 1,
      expires_at: Math.ceil(now / 1000) + ttlSeconds,
      disabled: 0,
      created_at: now,
    },
    [{ kind: 'project', namespace: projectName, resource: 'repository', action: 'pull' }],
  );
  const login = robotLoginName(name, projectName);
  scanPullers.add(login, now + ttlSeconds * 1000);
  const issued = await tokens.issue(login, [{ type: 'repository', name: repository, actions: ['pull'] }]);
  return {
    authorization: `Bearer ${issued.token}`,
    revoke: async () => {
      scanPullers.delete(login);
      await db.robots.delete(robotId);
    },
  };
}
