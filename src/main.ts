import type { FastifyInstance } from 'fastify';
import { OpenAccessPolicy } from './access/access-policy.ts';
import { parseListen } from './config/load.ts';
import type { BerthConfig } from './config/schema.ts';
import { openSqliteDatabase } from './db/sqlite.ts';
import { HttpMetrics } from './http/metrics.ts';
import { buildServer } from './http/server.ts';
import { systemClock } from './lib/clock.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import { PeriodicTask } from './lib/periodic-task.ts';
import { BlobService } from './registry/blob-service.ts';
import { ListingService } from './registry/listing-service.ts';
import { ManifestService } from './registry/manifest-service.ts';
import { UploadService } from './registry/upload-service.ts';
import { FilesystemBlobStore } from './storage/filesystem/filesystem-blob-store.ts';

export interface Berth {
  app: FastifyInstance;
  /** Base URL the server listens on, e.g. http://127.0.0.1:5000. */
  url: string;
  log: Logger;
  close(): Promise<void>;
}

const purgeIntervalMs = 10 * 60 * 1000;

/**
 * The composition root: the only place that knows which implementations are in use. Builds
 * every service from the configuration, starts listening, and returns a handle to stop it all.
 */
export async function startBerth(
  config: BerthConfig,
  log: Logger = createLogger(config.log.level),
): Promise<Berth> {
  const clock = systemClock;
  const db = openSqliteDatabase({
    path: config.database.sqlite.path,
    synchronous: config.database.sqlite.synchronous,
  });
  const applied = await db.migrate();
  if (applied.length > 0) log.info({ migrations: applied }, 'database migrated');
  const store = new FilesystemBlobStore(config.storage.filesystem.root);
  await store.init();

  const uploads = new UploadService({
    db,
    store,
    clock,
    log,
    maxOpenUploads: config.registry.maxOpenUploadsPerRepository,
  });
  const registry = {
    blobs: new BlobService({ db, store, clock }),
    uploads,
    manifests: new ManifestService({ db, store, clock, cacheBytes: config.registry.manifestCacheBytes }),
    listing: new ListingService(db),
    access: new OpenAccessPolicy(),
    manifestMaxBytes: config.registry.manifestMaxBytes,
  };
  log.warn('authentication is not configured: anyone who can reach this server may push, pull and delete');

  const app = await buildServer({
    registry,
    log,
    metrics: config.metrics.enabled ? new HttpMetrics() : undefined,
    requestLogging: config.log.requests,
    idleTimeoutMs: config.http.idleTimeoutSeconds * 1000,
  });
  const { host, port } = parseListen(config.listen);
  try {
    await app.listen({ host, port });
  } catch (error) {
    await db.close();
    throw error;
  }
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;

  const idleMs = config.registry.uploadIdleMinutes * 60 * 1000;
  const purge = new PeriodicTask(
    'upload purge',
    Math.min(purgeIntervalMs, idleMs),
    (signal) => uploads.purgeIdle(clock.now() - idleMs, signal),
    log,
  );
  purge.start();

  log.info({ url, data: config.data }, 'berth is serving');
  return {
    app,
    url,
    log,
    async close() {
      await purge.stop();
      await app.close();
      await db.close();
    },
  };
}
