import { type Kysely, Migrator, sql } from 'kysely';
import { AdapterScanQueries } from './adapter-scans.ts';
import { AdvisoryQueries } from './advisories.ts';
import { AuditLogQueries } from './audit-logs.ts';
import { BlobQueries } from './blobs.ts';
import { CveAllowlistQueries } from './cve-allowlists.ts';
import { GroupQueries } from './groups.ts';
import { ImmutableRuleQueries } from './immutable-rules.ts';
import { JobQueries } from './jobs.ts';
import { ManifestQueries } from './manifests.ts';
import { MemberQueries } from './members.ts';
import { migrationProvider } from './migrations/index.ts';
import { ProjectQueries } from './projects.ts';
import { QuotaQueries } from './quotas.ts';
import { RepositoryQueries } from './repositories.ts';
import { RobotQueries } from './robots.ts';
import { ScanAllQueries } from './scan-all.ts';
import { ScanReportQueries } from './scan-reports.ts';
import { ScannerRegistrationQueries } from './scanner-registrations.ts';
import type { Schema } from './schema.ts';
import { SettingQueries } from './settings.ts';
import { SigningKeyQueries } from './signing-keys.ts';
import { TagQueries } from './tags.ts';
import { TrustPolicyQueries } from './trust-policies.ts';
import { UploadQueries } from './uploads.ts';
import { UserQueries } from './users.ts';
import { VulndbMirrorQueries } from './vulndb-mirror.ts';

/**
 * The metadata store services use. One implementation on Kysely serves every dialect; a backend
 * (SQLite, PostgreSQL) only supplies the Kysely instance, so callers never know which it is.
 */
export interface Database {
  readonly repositories: RepositoryQueries;
  readonly blobs: BlobQueries;
  readonly manifests: ManifestQueries;
  readonly tags: TagQueries;
  readonly uploads: UploadQueries;
  readonly users: UserQueries;
  readonly groups: GroupQueries;
  readonly projects: ProjectQueries;
  readonly members: MemberQueries;
  readonly robots: RobotQueries;
  readonly settings: SettingQueries;
  readonly signingKeys: SigningKeyQueries;
  readonly auditLogs: AuditLogQueries;
  readonly jobs: JobQueries;
  readonly advisories: AdvisoryQueries;
  readonly scanReports: ScanReportQueries;
  readonly scannerRegistrations: ScannerRegistrationQueries;
  readonly adapterScans: AdapterScanQueries;
  readonly scanAll: ScanAllQueries;
  readonly vulndbMirror: VulndbMirrorQueries;
  readonly immutableRules: ImmutableRuleQueries;
  readonly quotas: QuotaQueries;
  readonly cveAllowlists: CveAllowlistQueries;
  readonly trustPolicies: TrustPolicyQueries;
  /** Runs `work` in one transaction: all of its writes land, or none do. */
  transaction<T>(work: (db: Database) => Promise<T>): Promise<T>;
  migrate(): Promise<string[]>;
  /** A trivial round trip (`select 1`): whether the database answers at all. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class KyselyDatabase implements Database {
  readonly repositories: RepositoryQueries;
  readonly blobs: BlobQueries;
  readonly manifests: ManifestQueries;
  readonly tags: TagQueries;
  readonly uploads: UploadQueries;
  readonly users: UserQueries;
  readonly groups: GroupQueries;
  readonly projects: ProjectQueries;
  readonly members: MemberQueries;
  readonly robots: RobotQueries;
  readonly settings: SettingQueries;
  readonly signingKeys: SigningKeyQueries;
  readonly auditLogs: AuditLogQueries;
  readonly jobs: JobQueries;
  readonly advisories: AdvisoryQueries;
  readonly scanReports: ScanReportQueries;
  readonly scannerRegistrations: ScannerRegistrationQueries;
  readonly adapterScans: AdapterScanQueries;
  readonly scanAll: ScanAllQueries;
  readonly vulndbMirror: VulndbMirrorQueries;
  readonly immutableRules: ImmutableRuleQueries;
  readonly quotas: QuotaQueries;
  readonly cveAllowlists: CveAllowlistQueries;
  readonly trustPolicies: TrustPolicyQueries;

  constructor(private readonly kysely: Kysely<Schema>) {
    this.repositories = new RepositoryQueries(kysely);
    this.blobs = new BlobQueries(kysely);
    this.manifests = new ManifestQueries(kysely);
    this.tags = new TagQueries(kysely);
    this.uploads = new UploadQueries(kysely);
    this.users = new UserQueries(kysely);
    this.groups = new GroupQueries(kysely);
    this.projects = new ProjectQueries(kysely);
    this.members = new MemberQueries(kysely);
    this.robots = new RobotQueries(kysely);
    this.settings = new SettingQueries(kysely);
    this.signingKeys = new SigningKeyQueries(kysely);
    this.auditLogs = new AuditLogQueries(kysely);
    this.jobs = new JobQueries(kysely);
    this.advisories = new AdvisoryQueries(kysely);
    this.scanReports = new ScanReportQueries(kysely);
    this.scannerRegistrations = new ScannerRegistrationQueries(kysely);
    this.adapterScans = new AdapterScanQueries(kysely);
    this.scanAll = new ScanAllQueries(kysely);
    this.vulndbMirror = new VulndbMirrorQueries(kysely);
    this.immutableRules = new ImmutableRuleQueries(kysely);
    this.quotas = new QuotaQueries(kysely);
    this.cveAllowlists = new CveAllowlistQueries(kysely);
    this.trustPolicies = new TrustPolicyQueries(kysely);
  }

  transaction<T>(work: (db: Database) => Promise<T>): Promise<T> {
    if (this.kysely.isTransaction) return work(this);
    return this.kysely.transaction().execute((trx) => work(new KyselyDatabase(trx)));
  }

  /** Applies pending migrations and returns their names; throws with the failing one's error. */
  async migrate(): Promise<string[]> {
    const migrator = new Migrator({ db: this.kysely, provider: migrationProvider });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
      throw new Error(`database migration ${failed} failed: ${(error as Error).message ?? String(error)}`, {
        cause: error,
      });
    }
    return (results ?? [])
      .filter((result) => result.status === 'Success')
      .map((result) => result.migrationName);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.kysely);
  }

  async close(): Promise<void> {
    await this.kysely.destroy();
  }
}
