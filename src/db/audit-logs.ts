import type { Insertable, Kysely, Selectable } from 'kysely';
import type { AuditLogTable, Schema } from './schema.ts';

export type AuditLogRow = Selectable<AuditLogTable>;
export type NewAuditLogRow = Insertable<AuditLogTable>;

/** Filters of the audit log query; strings match exactly unless named `…Prefix`. */
export interface AuditLogFilter {
  username?: string;
  operation?: string;
  resourceType?: string;
  resourcePrefix?: string;
  result?: string;
  projectId?: number;
  /** Epoch ms, inclusive. */
  from?: number;
  to?: number;
}

/** The `audit_logs` table: append-only; there is no update and no delete. */
export class AuditLogQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async append(rows: readonly NewAuditLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.insertInto('audit_logs').values([...rows]).execute();
  }

  /** Newest first. */
  async find(
    filter: AuditLogFilter,
    limit: number,
    offset: number,
  ): Promise<{ rows: AuditLogRow[]; total: number }> {
    let query = this.db.selectFrom('audit_logs');
    if (filter.username !== undefined) query = query.where('username', '=', filter.username);
    if (filter.operation !== undefined) query = query.where('operation', '=', filter.operation);
    if (filter.resourceType !== undefined) query = query.where('resource_type', '=', filter.resourceType);
    if (filter.resourcePrefix !== undefined)
      query = query.where('resource', 'like', `${filter.resourcePrefix.replace(/[%_\\]/g, '\\$&')}%`);
    if (filter.result !== undefined) query = query.where('result', '=', filter.result);
    if (filter.projectId !== undefined) query = query.where('project_id', '=', filter.projectId);
    if (filter.from !== undefined) query = query.where('op_time', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('op_time', '<=', filter.to);
    const [rows, count] = await Promise.all([
      query.selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute(),
      query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }
}
