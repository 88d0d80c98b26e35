import type { Authenticator } from '../../access/authenticator.ts';
import type { ConfigurationService } from '../../access/configuration-service.ts';
import type { PermissionEvaluator } from '../../access/evaluator.ts';
import type { GroupService } from '../../access/group-service.ts';
import type { LdapDirectory } from '../../access/ldap-directory.ts';
import type { MemberService } from '../../access/member-service.ts';
import type { CliSecrets } from '../../access/oidc-cli-secret.ts';
import type { PermissionListing } from '../../access/permission-listing.ts';
import type { ProjectDirectory } from '../../access/project-directory.ts';
import type { ProjectService } from '../../access/project-service.ts';
import type { RobotService } from '../../access/robot-service.ts';
import type { SettingsService } from '../../access/settings-service.ts';
import type { TokenService } from '../../access/token-service.ts';
import type { UserService } from '../../access/user-service.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Database } from '../../db/database.ts';
import type { JobService } from '../../jobs/job-service.ts';
import type { Clock } from '../../lib/clock.ts';
import type { CveAllowlistService } from '../../policy/cve-allowlist-service.ts';
import type { TagImmutability } from '../../policy/tag-immutability.ts';
import type { ArtifactService } from '../../registry/artifact-service.ts';
import type { ManifestService } from '../../registry/manifest-service.ts';
import type { SbomService } from '../../scan/sbom/sbom-service.ts';
import type { ScanAllService } from '../../scan/scan-all.ts';
import type { ScanService } from '../../scan/scan-service.ts';
import type { RegistrationService } from '../../scanner-adapter/registration-service.ts';
import type { TrustPolicyService } from '../../trust/trust-policy-service.ts';
import type { VulndbSync } from '../../vuln/vulndb-sync.ts';

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
  artifacts: ArtifactService;
  audit: AuditLog;
  users: UserService;
  groups: GroupService;
  members: MemberService;
  configurations: ConfigurationService;
  permissions: PermissionListing;
  robots: RobotService;
  ldap: LdapDirectory;
  /** OIDC users' CLI secrets; `metaFor` gives GET /users/current its `oidc_user_meta`. */
  cliSecrets: CliSecrets;
  jobs: JobService;
  scans: ScanService;
  /** SBOM generation (`scan_type: sbom`), its status and documents. */
  sboms: SbomService;
  /** Scanner registrations (Harbor's /scanners) and each project's scanner. */
  scanners: RegistrationService;
  scanAll: ScanAllService;
  /** Harbor's immutable tag rules of each project. */
  immutability: TagImmutability;
  /** Berth's per-project trust policies (content trust). */
  trustPolicies: TrustPolicyService;
  vulndb: VulndbSync;
  /** The system's and the projects' CVE allowlists (Harbor's /system/CVEAllowlist, `cve_allowlist`). */
  cveAllowlists: CveAllowlistService;
  version: string;
}
