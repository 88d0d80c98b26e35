import type { NewAuditLogRow } from '../db/audit-logs.ts';
import type { Database } from '../db/database.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';

/** Who did what, from where, with which result. Never carries a secret. */
export interface AuditEvent {
  /** User or robot name; `anonymous` for callers without credentials. */
  username: string;
  clientIp: string;
  userAgent: string;
  /** Harbor's resource types: `artifact`, `project`, `member`, `robot`, `user`, `configuration`, `login`, `token`, … */
  resourceType: string;
  /** e.g. `library/alpine:3.20`, `library`, a user name. */
  resource: string;
  /** `create`, `delete`, `pull`, `push`, `update`, `login`, `grant`, … */
  operation: string;
  result: 'success' | 'failure' | 'denied';
  projectId?: number;
  /** Short extra facts (granted scopes, changed keys); never a secret. */
  detail?: string;
}

/** Records audit events. Append-only: nothing that records can change or remove an entry. */
export interface AuditLog {
  record(event: AuditEvent): void;
  /**
   * The registry's hot path (pulls above all): a successful artifact operation, without an
   * event object. Same entry as `record` with resourceType `artifact` and result `success`.
   */
  recordArtifact(
    username: string,
    clientIp: string,
    userAgent: string,
    resource: string,
    operation: string,
  ): void;
  /** Writes every event recorded so far. */
  flush(): Promise<void>;
}

const flushDelayMs = 200;
const maxBatch = 500;

/**
 * Batches events and appends them to the database a little later, so a pull's hot path costs
 * one array push. Events still in memory when the process dies are lost; `flush()` on shutdown.
 */
export class DatabaseAuditLog implements AuditLog {
  private pending: NewAuditLogRow[] = [];
  /**
   * Artifact operations of this flush window by (operation, artifact, who, from where): a client
   * pulling the same thing over and over is one entry with a count, not thousands of rows.
   */
  private artifacts = new Map<string, { row: NewAuditLogRow; count: number }>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  recordArtifact(
    username: string,
    clientIp: string,
    userAgent: string,
    resource: string,
    operation: string,
  ): void {
    const key = `${operation} ${resource}\0${username}\0${clientIp}`;
    const same = this.artifacts.get(key);
    if (same) {
      same.count += 1;
      return;
    }
    const entry = {
      row: this.rowOf({
        username,
        clientIp,
        userAgent,
        resourceType: 'artifact',
        resource,
        operation,
        result: 'success',
      }),
      count: 1,
    };
    this.artifacts.set(key, entry);
    this.enqueue(entry.row);
  }

  record(event: AuditEvent): void {
    if (
      event.resourceType === 'artifact' &&
      event.result === 'success' &&
      !event.detail &&
      !event.projectId
    ) {
      this.recordArtifact(event.username, event.clientIp, event.userAgent, event.resource, event.operation);
      return;
    }
    this.enqueue(this.rowOf(event));
  }

  private rowOf(event: AuditEvent): NewAuditLogRow {
    return {
      op_time: this.clock.now(),
      username: event.username,
      client_ip: event.clientIp,
      user_agent: event.userAgent.slice(0, 512),
      resource_type: event.resourceType,
      resource: event.resource.slice(0, 1024),
      operation: event.operation,
      result: event.result,
      project_id: event.projectId ?? null,
      detail: event.detail?.slice(0, 2048) ?? null,
    };
  }

  private enqueue(row: NewAuditLogRow): void {
    this.pending.push(row);
    if (this.pending.length >= maxBatch) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), flushDelayMs);
      this.timer.unref();
    }
  }

  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.pending;
    for (const { row, count } of this.artifacts.values()) {
      if (count > 1) row.detail = JSON.stringify({ count });
    }
    this.pending = [];
    this.artifacts = new Map();
    this.writing = this.writing.then(async () => {
      try {
        await this.db.auditLogs.append(batch);
      } catch (error) {
        this.log.error({ err: error, events: batch.length }, 'audit log write failed');
      }
    });
    return this.writing;
  }
}
