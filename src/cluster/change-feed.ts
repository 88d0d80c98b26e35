import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { BerthConfig } from '../config/schema.ts';
import { postgresOptions, usesPostgres } from '../db/open.ts';
import { postgresTlsSettings } from '../db/postgres.ts';
import type { Logger } from '../lib/logger.ts';

export type ChangeHandler = (payload: string) => void;

/**
 * Tells the other nodes sharing one database that something they may have cached changed.
 * Delivery is best effort: a subscriber that may have missed messages (a lost connection) is
 * told through `onResync`, and must then drop everything it caches.
 */
export interface ChangeFeed {
  publish(topic: string, payload?: string): void;
  subscribe(topic: string, handler: ChangeHandler): void;
  /** Called when messages may have been missed; the handler drops every cache. */
  onResync(handler: () => void): void;
  close(): Promise<void>;
}

/** The embedded (SQLite) case: one process, so messages only go to this process's subscribers. */
export class LocalChangeFeed implements ChangeFeed {
  private readonly events = new EventEmitter();

  constructor() {
    this.events.setMaxListeners(0);
  }

  publish(topic: string, payload = ''): void {
    this.events.emit(topic, payload);
  }

  subscribe(topic: string, handler: ChangeHandler): void {
    this.events.on(topic, handler);
  }

  onResync(): void {}

  async close(): Promise<void> {
    this.events.removeAllListeners();
  }
}

/** The one channel every node LISTENs on; messages carry their topic. */
export const changeChannel = 'berth_changes';

interface Envelope {
  node: string;
  topic: string;
  payload: string;
}

export interface PostgresChangeFeedOptions {
  url: string;
  ssl?: ConnectionOptions;
  log: Logger;
  /** Wait before reconnecting after the connection is lost. */
  retryMs?: number;
}

/**
 * PostgreSQL `LISTEN/NOTIFY` on one dedicated connection (not the pool's: a pooled connection
 * would lose its LISTEN when recycled). When the connection drops it reconnects, then asks
 * every subscriber to resynchronise, since notifications sent meanwhile are gone.
 */
export class PostgresChangeFeed implements ChangeFeed {
  /** Tells this node's own messages apart: NOTIFY also reaches the sender's session. */
  readonly nodeId = randomUUID();
  private client: pg.Client | undefined;
  private readonly handlers = new Map<string, Set<ChangeHandler>>();
  private readonly resyncHandlers = new Set<() => void>();
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: PostgresChangeFeedOptions) {}

  /** Connects and listens; throws when the first connection fails. */
  async start(): Promise<void> {
    try {
      await this.connect();
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  publish(topic: string, payload = ''): void {
    const client = this.client;
    if (!client) {
      this.options.log.warn(
        { topic },
        'change feed disconnected; other nodes see this change when their caches expire',
      );
      return;
    }
    const envelope: Envelope = { node: this.nodeId, topic, payload };
    client
      .query('select pg_notify($1, $2)', [changeChannel, JSON.stringify(envelope)])
      .catch((error: unknown) =>
        this.options.log.warn({ err: (error as Error).message, topic }, 'change notification not sent'),
      );
  }

  subscribe(topic: string, handler: ChangeHandler): void {
    let set = this.handlers.get(topic);
    if (!set) {
      set = new Set();
      this.handlers.set(topic, set);
    }
    set.add(handler);
  }

  onResync(handler: () => void): void {
    this.resyncHandlers.add(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: 'berth-change-feed',
      connectionTimeoutMillis: 5_000,
      ...(this.options.ssl ? { ssl: this.options.ssl } : {}),
    });
    client.on('notification', (message) => this.deliver(message.payload));
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      if (this.closed) return;
      this.options.log.warn({ err: error?.message }, 'change feed connection lost; reconnecting');
      void client.end().catch(() => {});
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    await client.connect();
    await client.query(`listen ${changeChannel}`);
    if (this.closed) {
      await client.end();
      return;
    }
    this.client = client;
  }

  private scheduleReconnect(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.connect()
        .then(() => {
          if (this.closed) return;
          this.options.log.info('change feed reconnected; dropping caches that may have missed changes');
          for (const handler of this.resyncHandlers) handler();
        })
        .catch((error: unknown) => {
          this.options.log.warn({ err: (error as Error).message }, 'change feed reconnect failed');
          if (!this.closed) this.scheduleReconnect();
        });
    }, this.options.retryMs ?? 500);
    this.retryTimer.unref();
  }

  private deliver(raw: string | undefined): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw ?? '') as Envelope;
    } catch {
      return;
    }
    if (envelope.node === this.nodeId || typeof envelope.topic !== 'string') return;
    for (const handler of this.handlers.get(envelope.topic) ?? []) {
      try {
        handler(String(envelope.payload ?? ''));
      } catch (error) {
        this.options.log.error({ err: error, topic: envelope.topic }, 'change handler failed');
      }
    }
  }
}

/** The feed for the configured database: NOTIFY on PostgreSQL, in-process on SQLite. */
export async function openChangeFeed(settings: BerthConfig['database'], log: Logger): Promise<ChangeFeed> {
  if (!usesPostgres(settings)) return new LocalChangeFeed();
  const tls = postgresOptions(settings).tls;
  const feed = new PostgresChangeFeed({
    url: settings.url,
    log,
    ...(tls ? { ssl: postgresTlsSettings(tls) } : {}),
  });
  await feed.start();
  return feed;
}
