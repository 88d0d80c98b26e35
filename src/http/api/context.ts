import type { AuditLog } from '../../audit/audit-log.ts';
import type { Authenticator } from '../../access/authenticator.ts';
import type { PermissionEvaluator } from '../../access/evaluator.ts';
import type { ProjectDirectory } from '../../access/project-directory.ts';
import type { ProjectService } from '../../access/project-service.ts';
import type { SettingsService } from '../../access/settings-service.ts';
import type { TokenService } from '../../access/token-service.ts';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../../lib/clock.ts';
import type { ManifestService } from '../../registry/manifest-service.ts';

/** What the management API's routes may call: services, never storage directly. */
export interface ApiServices {
  db: Database;
  clock: Clock;
  evaluator: PermissionEvaluator;
  directory: ProjectDirectory;
  projects: ProjectService;
  settings: SettingsService;
  authenticator: Authenticator;
  tokens: TokenService;
  manifests: ManifestService;
  audit: AuditLog;
  version: string;
}
