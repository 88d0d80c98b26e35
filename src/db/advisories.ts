import type { Insertable, Kysely, Selectable } from 'kysely';
import type { AdvisoryTable, AffectedPackageTable, Schema } from './schema.ts';

export type AdvisoryRow = Selectable<AdvisoryTable>;
export type NewAdvisoryRow = Insertable<AdvisoryTable>;
export type AffectedPackageRow = Selectable<AffectedPackageTable>;
export type NewAffectedPackage = Omit<Insertable<AffectedPackageTable>, 'id' | 'advisory_id'>;

export interface AdvisoryWrite {
  advisory: NewAdvisoryRow;
  aliases: string[];
  affected: NewAffectedPackage[];
}

export type UpsertOutcome = 'inserted' | 'replaced' | 'unchanged';

export interface VulndbStatus {
  advisories: number;
  withdrawn: number;
  affectedPackages: number;
  ecosystems: { ecosystem: string; count: number }[];
  /** Advisories per feed (`osv`, `alpine-secdb`, `debian-tracker`). */
  sources: { source: string; count: number }[];
  lastImport: { source: string; importedAt: number; count: number } | undefined;
}

/** The offline vulnerability database: `advisories`, `advisory_aliases`, `affected_packages`, `vulndb_imports`. */
export class AdvisoryQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  /**
   * Stores an advisory with its aliases and affected packages, unless the stored one is as new
   * or newer (OSV `modified` times are RFC 3339 UTC, so they order as text).
   */
  async upsert(write: AdvisoryWrite): Promise<UpsertOutcome> {
    const { advisory } = write;
    const stored = await this.db
      .selectFrom('advisories')
      .select('modified')
      .where('id', '=', advisory.id)
      .executeTakeFirst();
    if (stored && stored.modified >= advisory.modified) return 'unchanged';
    if (stored) {
      await this.db.deleteFrom('advisory_aliases').where('advisory_id', '=', advisory.id).execute();
      await this.db.deleteFrom('affected_packages').where('advisory_id', '=', advisory.id).execute();
      const { id, ...rest } = advisory;
      await this.db.updateTable('advisories').set(rest).where('id', '=', id).execute();
    } else {
      await this.db.insertInto('advisories').values(advisory).execute();
    }
    const aliases = [...new Set(write.aliases)];
    if (aliases.length > 0) {
      await this.db
        .insertInto('advisory_aliases')
        .values(aliases.map((alias) => ({ alias, advisory_id: advisory.id })))
        .execute();
    }
    if (write.affected.length > 0) {
      await this.db
        .insertInto('affected_packages')
        .values(write.affected.map((entry) => ({ ...entry, advisory_id: advisory.id })))
        .execute();
    }
    return stored ? 'replaced' : 'inserted';
  }

  async findById(id: string): Promise<AdvisoryRow | undefined> {
    return this.db.selectFrom('advisories').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Advisory ids known under `alias` (a CVE id, say). */
  async idsByAlias(alias: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('advisory_aliases')
      .select('advisory_id')
      .where('alias', '=', alias)
      .execute();
    return rows.map((row) => row.advisory_id);
  }

  /** Affected entries naming a package, with their advisory, withdrawn advisories left out. */
  async affectedEntries(
    baseEcosystem: string,
    packageName: string,
  ): Promise<{ entry: AffectedPackageRow; advisory: AdvisoryRow }[]> {
    const rows = await this.db
      .selectFrom('affected_packages as p')
      .innerJoin('advisories as a', 'a.id', 'p.advisory_id')
      .selectAll('p')
      .select([
        'a.id as a_id',
        'a.modified as a_modified',
        'a.published as a_published',
        'a.withdrawn as a_withdrawn',
        'a.summary as a_summary',
        'a.details as a_details',
        'a.severity as a_severity',
        'a.cvss_vector as a_cvss_vector',
        'a.cvss_score as a_cvss_score',
        'a.aliases as a_aliases',
        'a.references as a_references',
        'a.source as a_source',
        'a.vulnerability_id as a_vulnerability_id',
        'a.cwe_ids as a_cwe_ids',
        'a.cvss_v4_vector as a_cvss_v4_vector',
        'a.cvss_v4_score as a_cvss_v4_score',
      ])
      .where('p.base_ecosystem', '=', baseEcosystem)
      .where('p.package_name', '=', packageName)
      .where('a.withdrawn', 'is', null)
      .orderBy('p.advisory_id')
      .orderBy('p.id')
      .execute();
    return rows.map((row) => ({
      entry: {
        id: row.id,
        advisory_id: row.advisory_id,
        ecosystem: row.ecosystem,
        base_ecosystem: row.base_ecosystem,
        package_name: row.package_name,
        purl: row.purl,
        ranges: row.ranges,
        versions: row.versions,
      },
      advisory: {
        id: row.a_id,
        modified: row.a_modified,
        published: row.a_published,
        withdrawn: row.a_withdrawn,
        summary: row.a_summary,
        details: row.a_details,
        severity: row.a_severity,
        cvss_vector: row.a_cvss_vector,
        cvss_score: row.a_cvss_score,
        aliases: row.a_aliases,
        references: row.a_references,
        // The raw record is not needed to match; callers read it with findById.
        raw: '',
        source: row.a_source,
        vulnerability_id: row.a_vulnerability_id,
        cwe_ids: row.a_cwe_ids,
        cvss_v4_vector: row.a_cvss_v4_vector,
        cvss_v4_score: row.a_cvss_v4_score,
      },
    }));
  }

  async recordImport(source: string, importedAt: number, count: number): Promise<void> {
    await this.db.insertInto('vulndb_imports').values({ source, imported_at: importedAt, count }).execute();
  }

  async status(): Promise<VulndbStatus> {
    const totals = await this.db
      .selectFrom('advisories')
      .select((eb) => [
        eb.fn.countAll<number>().as('advisories'),
        eb.fn.count<number>('withdrawn').as('withdrawn'),
      ])
      .executeTakeFirstOrThrow();
    const affected = await this.db
      .selectFrom('affected_packages')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    const ecosystems = await this.db
      .selectFrom('affected_packages')
      .select((eb) => ['base_ecosystem', eb.fn.count<number>('advisory_id').distinct().as('count')])
      .groupBy('base_ecosystem')
      .orderBy('base_ecosystem')
      .execute();
    const sources = await this.db
      .selectFrom('advisories')
      .select((eb) => ['source', eb.fn.countAll<number>().as('count')])
      .groupBy('source')
      .orderBy('source')
      .execute();
    const last = await this.db
      .selectFrom('vulndb_imports')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return {
      advisories: Number(totals.advisories),
      withdrawn: Number(totals.withdrawn),
      affectedPackages: Number(affected.count),
      ecosystems: ecosystems.map((row) => ({ ecosystem: row.base_ecosystem, count: Number(row.count) })),
      sources: sources.map((row) => ({ source: row.source, count: Number(row.count) })),
      lastImport: last
        ? { source: last.source, importedAt: Number(last.imported_at), count: Number(last.count) }
        : undefined,
    };
  }
}
