import type { Generated } from 'kysely';
import type { AdapterScanTable } from './adapter-scans.ts';
import type { CveAllowlistTable } from './cve-allowlists.ts';
import type { ImmutableTagRuleTable } from './immutable-rules.ts';
import type { ProjectBlobTable, QuotaTable } from './quotas.ts';
import type { ProjectScannerTable, ScannerRegistrationTable } from './scanner-registrations.ts';
import type { SignatureVerificationTable, TrustPolicyTable } from './trust-policies.ts';

/**
 * Tables as Kysely sees them. Portable types only (text, bigint, no JSON columns, no arrays) so
 * SQLite and PostgreSQL share one schema and one set of queries. Times are epoch milliseconds.
 */

export interface RepositoryTable {
  name: string;
  created_at: number;
}

/** Content the blob store holds, once however many repositories link it. */
export interface BlobTable {
  digest: string;
  size: number;
  created_at: number;
}

/** A repository may use a blob: it was pushed or mounted there. */
export interface RepositoryBlobTable {
  repository: string;
  digest: string;
  created_at: number;
}

export interface ManifestTable {
  repository: string;
  digest: string;
  media_type: string;
  size: number;
  /** `artifactType`, or the config media type for image manifests (what referrers report). */
  artifact_type: string | null;
  subject: string | null;
  /** The manifest's top-level annotations as JSON text, for referrers responses. */
  annotations: string | null;
  created_at: number;
}

/** What a manifest points at (config, layers, child manifests), for deletion checks and GC. */
export interface ManifestReferenceTable {
  repository: string;
  manifest: string;
  child: string;
  kind: 'blob' | 'manifest';
}

export interface TagTable {
  repository: string;
  name: string;
  digest: string;
  updated_at: number;
}

export interface UploadTable {
  id: string;
  repository: string;
  /** Bytes received and acknowledged so far. */
  size: number;
  created_at: number;
  updated_at: number;
}

/** Booleans are stored as 0/1 integers: one type for SQLite and PostgreSQL. */
export type Flag = 0 | 1;

export interface UserTable {
  id: Generated<number>;
  username: string;
  email: string | null;
  realname: string;
  comment: string;
  /** argon2id; null for users who authenticate elsewhere (LDAP, OIDC). */
  password_hash: string | null;
  sysadmin: Flag;
  source: 'local' | 'ldap' | 'oidc';
  /** LDAP DN, or `issuer|subject` for OIDC. */
  external_id: string | null;
  /** OIDC users' registry password, encrypted at rest. */
  cli_secret: string | null;
  disabled: Flag;
  failed_logins: number;
  /** Epoch ms until which logins are refused after repeated failures; 0 when not locked. */
  locked_until: number;
  created_at: number;
  updated_at: number;
}

export interface UserGroupTable {
  id: Generated<number>;
  name: string;
  /** Harbor's group types: 1 LDAP, 2 HTTP, 3 OIDC. */
  type: number;
  ldap_dn: string | null;
  created_at: number;
}

/** Groups a user belonged to at their last login (from LDAP or the OIDC groups claim). */
export interface UserGroupMemberTable {
  user_id: number;
  group_id: number;
}

export interface ProjectTable {
  id: Generated<number>;
  name: string;
  owner_id: number;
  created_at: number;
  updated_at: number;
}

/** Harbor's project metadata: string values (`public` is "true" or "false"). */
export interface ProjectMetadataTable {
  project_id: number;
  name: string;
  value: string;
}

export interface ProjectMemberTable {
  id: Generated<number>;
  project_id: number;
  /** `u` user, `g` group. */
  entity_type: 'u' | 'g';
  entity_id: number;
  /** 1 projectAdmin, 2 developer, 3 guest, 4 maintainer, 5 limitedGuest. */
  role_id: number;
  created_at: number;
  updated_at: number;
}

export interface RobotTable {
  id: Generated<number>;
  name: string;
  /** 0 for system-level robots. */
  project_id: number;
  description: string;
  secret_hash: string;
  /** Days; -1 never expires. */
  duration: number;
  /** Epoch seconds; -1 never. */
  expires_at: number;
  disabled: Flag;
  created_at: number;
  updated_at: number;
}

export interface RobotPermissionTable {
  robot_id: number;
  kind: 'system' | 'project';
  namespace: string;
  resource: string;
  action: string;
}

/** Settings changed through the API; values are JSON, secrets encrypted. */
export interface ConfigurationTable {
  key: string;
  value: string;
  updated_at: number;
}

export interface SigningKeyTable {
  kid: string;
  algorithm: string;
  /** JWK, encrypted at rest. */
  private_key: string;
  /** JWK. */
  public_key: string;
  created_at: number;
  /** Epoch ms after which it signs nothing more (it still verifies until tokens expire). */
  retire_at: number;
}

export interface AuditLogTable {
  id: Generated<number>;
  op_time: number;
  username: string;
  client_ip: string;
  user_agent: string;
  resource_type: string;
  resource: string;
  operation: string;
  /** `success` or `failure` (or `denied`). */
  result: string;
  project_id: number | null;
  detail: string | null;
}

/** Harbor's repository id and description (see migration 0003-content). */
export interface RepositoryDetailsTable {
  id: Generated<number>;
  name: string;
  description: string;
  updated_at: number;
}

/** Harbor's numeric artifact id of a manifest. */
export interface ArtifactIdTable {
  id: Generated<number>;
  repository: string;
  digest: string;
}

/** Harbor's numeric tag id. */
export interface TagIdTable {
  id: Generated<number>;
  repository: string;
  name: string;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'error';

/**
 * A job of the job service (see migration 0004-jobs). `failed`: an attempt failed and another
 * is due at `run_after`; `error`: the last attempt failed. A `running` job whose lease has
 * passed belongs to a worker that died and may be claimed again.
 */
export interface JobTable {
  id: Generated<number>;
  type: string;
  /** JSON text. */
  payload: string;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  run_after: number;
  lease_until: number | null;
  worker: string | null;
  last_error: string | null;
  dedupe_key: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface JobLogTable {
  id: Generated<number>;
  job_id: number;
  logged_at: number;
  level: string;
  message: string;
}

/** A cron schedule that enqueues a job of `type` at each of its times. */
export interface JobScheduleTable {
  name: string;
  type: string;
  cron: string;
  payload: string;
  next_run_at: number;
  /** 1 or 0. */
  enabled: number;
  updated_at: number;
}

/** Job types whose queued jobs no worker claims until resumed. */
export interface PausedJobTypeTable {
  type: string;
  paused_at: number;
}

export type AdvisorySeverity = 'critical' | 'high' | 'medium' | 'low' | 'unknown';

/** An OSV advisory (see migration 0005-vulndb); `id` is the OSV id, times are OSV's RFC 3339 text. */
export interface AdvisoryTable {
  id: string;
  modified: string;
  published: string | null;
  withdrawn: string | null;
  summary: string | null;
  details: string | null;
  severity: AdvisorySeverity;
  cvss_vector: string | null;
  cvss_score: number | null;
  /** JSON array of strings. */
  aliases: string;
  /** JSON array of OSV references. */
  references: string;
  /** The OSV record as imported, JSON text. */
  raw: string;
  /** Which feed the record came from: `osv`, `alpine-secdb`, `debian-tracker` (0008). */
  source: string;
  /** The id reports show (a CVE id) when `id` is a source-qualified key; null means `id`. */
  vulnerability_id: string | null;
  /** JSON array of CWE ids (`CWE-79`). */
  cwe_ids: string;
  cvss_v4_vector: string | null;
  cvss_v4_score: number | null;
}

export interface AdvisoryAliasTable {
  id: Generated<number>;
  alias: string;
  advisory_id: string;
}

/** One `affected[]` entry of an advisory. `ecosystem` as OSV spells it (`Debian:12`), `base_ecosystem` before the colon. */
export interface AffectedPackageTable {
  id: Generated<number>;
  advisory_id: string;
  ecosystem: string;
  base_ecosystem: string;
  package_name: string;
  purl: string | null;
  /** JSON array of OSV ranges. */
  ranges: string;
  /** JSON array of version strings. */
  versions: string;
}

export interface VulndbImportTable {
  id: Generated<number>;
  source: string;
  imported_at: number;
  count: number;
}

export type ScanStatus = 'Pending' | 'Running' | 'Success' | 'Error' | 'Stopped';

/** One scanner's latest report on a manifest digest (see migration 0006-scans); times are epoch ms. */
export interface ScanReportTable {
  id: Generated<number>;
  digest: string;
  scanner_name: string;
  scanner_version: string;
  status: ScanStatus;
  /** Harbor's vulnerability report (version 1.1), JSON text, once the scan succeeded. */
  report: string | null;
  /** JSON: { total, fixable, summary: { Critical: n, ... } }. */
  summary: string | null;
  /** The vulnerability database the scan used: its last import's source, and when it was imported. */
  db_version: string | null;
  db_imported_at: number | null;
  job_id: number | null;
  requested_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
  /** JSON: the packages the scan looked up ({ imageDigest, packages }), for re-matching (0007). */
  packages: string | null;
}

/** One scan-all run: what started it (`Manual`, `Schedule`) and its job. */
export interface ScanAllRunTable {
  id: Generated<number>;
  trigger: string;
  job_id: number | null;
  created_at: number;
}

/** A digest a scan-all run asked to scan; its report says how that went. */
export interface ScanAllTaskTable {
  run_id: number;
  digest: string;
  repository: string;
}

/** What a vulnerability database mirror URL answered last, for conditional GETs and status. */
export interface VulndbMirrorSourceTable {
  url: string;
  etag: string | null;
  last_modified: string | null;
  checked_at: number;
  /** imported, not-modified or failed. */
  outcome: string;
  error: string | null;
  bytes: number | null;
  imported_at: number | null;
  imported_records: number | null;
  changed_records: number | null;
}

export interface Schema {
  immutable_tag_rules: ImmutableTagRuleTable;
  trust_policies: TrustPolicyTable;
  signature_verifications: SignatureVerificationTable;
  repositories: RepositoryTable;
  blobs: BlobTable;
  repository_blobs: RepositoryBlobTable;
  manifests: ManifestTable;
  manifest_references: ManifestReferenceTable;
  tags: TagTable;
  uploads: UploadTable;
  users: UserTable;
  user_groups: UserGroupTable;
  user_group_members: UserGroupMemberTable;
  projects: ProjectTable;
  project_metadata: ProjectMetadataTable;
  project_members: ProjectMemberTable;
  robots: RobotTable;
  robot_permissions: RobotPermissionTable;
  configurations: ConfigurationTable;
  signing_keys: SigningKeyTable;
  audit_logs: AuditLogTable;
  repository_details: RepositoryDetailsTable;
  artifact_ids: ArtifactIdTable;
  tag_ids: TagIdTable;
  jobs: JobTable;
  job_logs: JobLogTable;
  job_schedules: JobScheduleTable;
  paused_job_types: PausedJobTypeTable;
  advisories: AdvisoryTable;
  advisory_aliases: AdvisoryAliasTable;
  affected_packages: AffectedPackageTable;
  vulndb_imports: VulndbImportTable;
  scan_reports: ScanReportTable;
  scan_all_runs: ScanAllRunTable;
  scan_all_tasks: ScanAllTaskTable;
  vulndb_mirror_sources: VulndbMirrorSourceTable;
  scanner_registrations: ScannerRegistrationTable;
  project_scanners: ProjectScannerTable;
  adapter_scans: AdapterScanTable;
  quotas: QuotaTable;
  project_blobs: ProjectBlobTable;
  cve_allowlists: CveAllowlistTable;
}
