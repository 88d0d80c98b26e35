import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../../access/authenticator.ts';
import { CliSecrets } from '../../access/oidc-cli-secret.ts';
import { OidcClient, type OidcLoginAttempt } from '../../access/oidc-client.ts';
import { OidcPending } from '../../access/oidc-pending.ts';
import { OidcUsers } from '../../access/oidc-users.ts';
import type { SecretBox } from '../../access/secret-box.ts';
import { SessionStore } from '../../access/session-store.ts';
import type { SettingsService } from '../../access/settings-service.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import { type PendingOnboarding, registerOidcRoutes } from './routes.ts';
import type { SessionAuthServices } from './session-auth.ts';

export interface OidcLoginParts {
  db: Database;
  clock: Clock;
  log: Logger;
  secrets: SecretBox;
  settings: SettingsService;
  authenticator: Authenticator;
  audit: AuditLog;
}

/** How long a browser may take at the provider, and to choose a username. */
const pendingMs = 10 * 60 * 1000;

/**
 * OIDC login as one unit for the composition root: the CLI secrets (for the API), the browser
 * sessions (for authentication) and the `/c/oidc` routes (a server plugin).
 */
export function createOidcLogin(parts: OidcLoginParts): {
  cliSecrets: CliSecrets;
  browserSessions: SessionAuthServices;
  routes: (app: FastifyInstance) => Promise<void>;
} {
  const cliSecrets = new CliSecrets(parts.db, parts.clock, parts.secrets);
  const sessions = new SessionStore(parts.clock);
  const services = {
    settings: parts.settings,
    client: new OidcClient(parts.clock, parts.log),
    users: new OidcUsers(parts.db, parts.clock, cliSecrets, parts.authenticator),
    sessions,
    audit: parts.audit,
    logins: new OidcPending<OidcLoginAttempt>(parts.clock, pendingMs),
    onboardings: new OidcPending<PendingOnboarding>(parts.clock, pendingMs),
  };
  return {
    cliSecrets,
    browserSessions: { sessions, db: parts.db, authenticator: parts.authenticator },
    routes: async (app) => registerOidcRoutes(app, services),
  };
}
