import type { Migration, MigrationProvider } from 'kysely';
import { registryTables } from './0001-registry.ts';
import { accessTables } from './0002-access.ts';
import { contentTables } from './0003-content.ts';
import { jobTables } from './0004-jobs.ts';
import { vulndbTables } from './0005-vulndb.ts';
import { scanTables } from './0006-scans.ts';
import { scanAllAndVulndbSyncTables } from './0007-scan-all-vulndb-sync.ts';
import { advisorySourceColumns } from './0008-advisory-sources.ts';
import { scannerAdapterTables } from './0009-scanner-adapters.ts';
import { trustPolicyTables } from './0010-trust-policies.ts';
import { cveAllowlistTables } from './0011-cve-allowlists.ts';
import { quotaTables } from './0012-quotas.ts';
import { immutableTagRuleTables } from './0013-immutable-tag-rules.ts';

/** Every migration, in order. Names sort lexically; never rename or edit one that has shipped. */
const migrations: Record<string, Migration> = {
  '0001-registry': registryTables,
  '0002-access': accessTables,
  '0003-content': contentTables,
  '0004-jobs': jobTables,
  '0005-vulndb': vulndbTables,
  '0006-scans': scanTables,
  '0007-scan-all-vulndb-sync': scanAllAndVulndbSyncTables,
  '0008-advisory-sources': advisorySourceColumns,
  '0009-scanner-adapters': scannerAdapterTables,
  '0010-trust-policies': trustPolicyTables,
  '0011-cve-allowlists': cveAllowlistTables,
  '0012-quotas': quotaTables,
  '0013-immutable-tag-rules': immutableTagRuleTables,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
