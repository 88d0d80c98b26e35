import type { Kysely, Migration } from 'kysely';

/**
 * Advisories from more than OSV: `source` says which feed a record came from (`osv`,
 * `alpine-secdb`, `debian-tracker`) and `vulnerability_id` the id reports show when the stored key
 * is not it (a distribution feed's CVE is stored under a source-qualified key, so the same CVE
 * from two feeds is two records). Also the CWE ids and the CVSS v4 vector and score.
 */
export const advisorySourceColumns: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // One column per statement: SQLite's ALTER TABLE adds a single column at a time.
    const advisories = () => db.schema.alterTable('advisories');
    await advisories()
      .addColumn('source', 'text', (column) => column.notNull().defaultTo('osv'))
      .execute();
    await advisories().addColumn('vulnerability_id', 'text').execute();
    await advisories()
      .addColumn('cwe_ids', 'text', (column) => column.notNull().defaultTo('[]'))
      .execute();
    await advisories().addColumn('cvss_v4_vector', 'text').execute();
    await advisories().addColumn('cvss_v4_score', 'real').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const column of ['cvss_v4_score', 'cvss_v4_vector', 'cwe_ids', 'vulnerability_id', 'source']) {
      await db.schema.alterTable('advisories').dropColumn(column).execute();
    }
  },
};
