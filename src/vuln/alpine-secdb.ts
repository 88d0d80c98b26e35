import type { AdvisoryWrite, NewAffectedPackage } from '../db/advisories.ts';

/**
 * Alpine's security database (secdb.alpinelinux.org, `<branch>/<repo>.json`), built from the
 * `secfixes` blocks of the APKBUILDs: per origin package, each fixed version lists the
 * vulnerabilities that version fixes. The version `0` lists vulnerabilities that never affected
 * the package as Alpine ships it (Alpine's APKBUILD secfixes convention), so it yields nothing.
 * An entry may name several ids for one issue, space-separated (`CVE-2018-7540 XSA-252`): the
 * first is the id, the rest its aliases.
 */
export interface SecdbDocument {
  distroversion: string;
  reponame: string;
  packages: { pkg: { name: string; secfixes?: Record<string, unknown> } }[];
}

export const alpineSecdbSource = 'alpine-secdb';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether a parsed JSON document has the shape of a secdb file. */
export function isSecdbDocument(value: unknown): value is SecdbDocument {
  return (
    isObject(value) &&
    typeof value.distroversion === 'string' &&
    typeof value.reponame === 'string' &&
    Array.isArray(value.packages)
  );
}

interface PendingRecord {
  id: string;
  aliases: Set<string>;
  /** Fixed versions per origin package, in the order the file lists them. */
  fixes: Map<string, string[]>;
}

/**
 * The advisories of a secdb file, one per vulnerability id: its affected entries are the origin
 * packages that list it, in ecosystem `Alpine:<distroversion>`, affected from the start until the
 * fixed version. The record key is `alpine-secdb:<distroversion>/<reponame>:<id>`, so `main` and
 * `community`, and other feeds naming the same CVE, stay separate records.
 */
export function advisoriesFromSecdb(document: SecdbDocument, modified: string): AdvisoryWrite[] {
  const ecosystem = `Alpine:${document.distroversion}`;
  const scope = `${document.distroversion}/${document.reponame}`;
  const records = new Map<string, PendingRecord>();
  for (const entry of document.packages) {
    const name = isObject(entry) && isObject(entry.pkg) ? entry.pkg.name : undefined;
    const secfixes = isObject(entry) && isObject(entry.pkg) ? entry.pkg.secfixes : undefined;
    if (typeof name !== 'string' || name === '' || !isObject(secfixes)) continue;
    for (const [version, ids] of Object.entries(secfixes)) {
      if (version === '0' || !Array.isArray(ids)) continue;
      for (const line of ids) {
        if (typeof line !== 'string') continue;
        const [id, ...aliases] = line.trim().split(/\s+/);
        if (!id) continue;
        const record = records.get(id) ?? { id, aliases: new Set<string>(), fixes: new Map() };
        records.set(id, record);
        for (const alias of aliases) record.aliases.add(alias);
        const fixes = record.fixes.get(name) ?? [];
        if (!fixes.includes(version)) fixes.push(version);
        record.fixes.set(name, fixes);
      }
    }
  }
  return [...records.values()].map((record) => {
    const affected: NewAffectedPackage[] = [...record.fixes].map(([name, fixed]) => ({
      ecosystem,
      base_ecosystem: 'Alpine',
      package_name: name,
      purl: null,
      // One range: the earliest fix ends it; a later listing of the same id adds nothing.
      ranges: JSON.stringify([
        { type: 'ECOSYSTEM', events: [{ introduced: '0' }, ...fixed.map((version) => ({ fixed: version }))] },
      ]),
      versions: '[]',
    }));
    const aliases = [...record.aliases];
    return {
      advisory: {
        id: `${alpineSecdbSource}:${scope}:${record.id}`,
        modified,
        published: null,
        withdrawn: null,
        summary: null,
        details: null,
        severity: 'unknown',
        cvss_vector: null,
        cvss_score: null,
        aliases: JSON.stringify(aliases),
        references: JSON.stringify(
          record.id.startsWith('CVE-')
            ? [{ type: 'ADVISORY', url: `https://security.alpinelinux.org/vuln/${record.id}` }]
            : [],
        ),
        raw: JSON.stringify({
          distroversion: document.distroversion,
          reponame: document.reponame,
          id: record.id,
          aliases,
          fixed: Object.fromEntries(record.fixes),
        }),
        source: alpineSecdbSource,
        vulnerability_id: record.id,
        cwe_ids: '[]',
        cvss_v4_vector: null,
        cvss_v4_score: null,
      },
      // The id itself is an alias row too, so a CVE lookup finds this feed's record.
      aliases: [record.id, ...aliases],
      affected,
    };
  });
}
