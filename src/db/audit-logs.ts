import { type ExpressionBuilder, type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import type { AuditLogTable, Schema } from './schema.ts';

export type AuditLogRow = Selectable<AuditLogTable>;
export type NewAuditLogRow = Insertable<AuditLogTable>;

/** How a text column must match: exactly, containing a string (case-insensitively), or one of a list. */
export type TextMatch = { exact: string } | { contains: string } | { oneOf: readonly string[] };

/** Filters of the audit log query; all given ones must hold. */
export interface AuditLogFilter {
  username?: TextMatch;
  operation?: TextMatch;
  resourceType?: TextMatch;
  resource?: TextMatch;
  result?: string;
  /**
   * A project's entries: those recorded with its id, and those whose resource lies inside it
   * (`name/…`), which is how registry events name what they touched.
   */
  project?: { id: number; name: string };
  /** Epoch ms, inclusive. */
  from?: number;
  to?: number;
}

export type AuditLogSortColumn = 'id' | 'op_time' | 'username' | 'operation' | 'resource' | 'resource_type';

export interface AuditLogOrder {
  column: AuditLogSortColumn;
  descending: boolean;
}

type TextColumn = 'username' | 'operation' | 'resource_type' | 'resource';

function escapeLike(value: string): string {
  return value.replace(/[%_\\]/g, '\\$&');
}

function likeExpression(column: TextColumn, pattern: string) {
  return sql<boolean>`lower(${sql.ref(column)}) like ${pattern.toLowerCase()} escape '\\'`;
}

function textCondition(eb: ExpressionBuilder<Schema, 'audit_logs'>, column: TextColumn, match: TextMatch) {
  if ('exact' in match) return eb(column, '=', match.exact);
  if ('contains' in match) return likeExpression(column, `%${escapeLike(match.contains)}%`);
  return match.oneOf.length === 0 ? eb.lit(false) : eb(column, 'in', [...match.oneOf]);
}

/** The `audit_logs` table: append-only; there is no update and no delete. */
export class AuditLogQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async append(rows: readonly NewAuditLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db
      .insertInto('audit_logs')
      .values([...rows])
      .execute();
  }

  /** A page of entries and the count of all that match; newest first unless `order` says otherwise. */
  async find(
    filter: AuditLogFilter,
    limit: number,
    offset: number,
    order: readonly AuditLogOrder[] = [],
  ): Promise<{ rows: AuditLogRow[]; total: number }> {
    let query = this.db.selectFrom('audit_logs');
    const text: [TextColumn, TextMatch | undefined][] = [
      ['username', filter.username],
      ['operation', filter.operation],
      ['resource_type', filter.resourceType],
      ['resource', filter.resource],
    ];
    for (const [column, match] of text) {
      if (match) query = query.where((eb) => textCondition(eb, column, match));
    }
    if (filter.result !== undefined) query = query.where('result', '=', filter.result);
    const project = filter.project;
    if (project) {
      query = query.where((eb) =>
        eb.or([
          eb('project_id', '=', project.id),
          likeExpression('resource', `${escapeLike(project.name.toLowerCase())}/%`),
        ]),
      );
    }
    if (filter.from !== undefined) query = query.where('op_time', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('op_time', '<=', filter.to);
    let page = query.selectAll();
    for (const { column, descending } of order) page = page.orderBy(column, descending ? 'desc' : 'asc');
    page = page.orderBy('id', 'desc');
    const [rows, count] = await Promise.all([
      page.limit(limit).offset(offset).execute(),
      query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }
}
