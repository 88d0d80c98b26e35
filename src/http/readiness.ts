import type { FastifyInstance } from 'fastify';
import type { Database } from '../db/database.ts';
import type { Digest } from '../oci/digest.ts';
import type { BlobStatter } from '../storage/blob-store.ts';

/** Resolves to undefined when the node can take traffic, else the reason it cannot. */
export type ReadinessCheck = () => Promise<string | undefined>;

// A digest no content has: asking the store for it is one cheap round trip (a HEAD on S3, a
// stat on disk) that answers "not found" when the store is reachable and fails when it is not.
const probeDigest = `sha256:${'0'.repeat(64)}` as Digest;

function withinTime<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export function readinessCheck(db: Database, store: BlobStatter, timeoutMs = 2_000): ReadinessCheck {
  return async () => {
    const problems = await Promise.all([
      withinTime(db.ping(), timeoutMs, 'database').then(
        () => undefined,
        (error: unknown) => `database: ${(error as Error).message}`,
      ),
      withinTime(store.stat(probeDigest), timeoutMs, 'blob store').then(
        () => undefined,
        (error: unknown) => `blob store: ${(error as Error).message}`,
      ),
    ]);
    const failed = problems.filter((problem) => problem !== undefined);
    return failed.length > 0 ? failed.join('; ') : undefined;
  };
}

/** `GET /readyz` for load balancers: 200 when the database and blob store answer, else 503 and why. */
export function readinessRoute(app: FastifyInstance, check: ReadinessCheck): void {
  app.get('/readyz', async (request, reply) => {
    request.routeName = 'readiness';
    const reason = await check();
    reply.header('cache-control', 'no-store').type('application/json');
    if (reason === undefined) return reply.send('{"status":"ready"}');
    request.log.warn({ reason }, 'not ready');
    return reply.code(503).send(JSON.stringify({ status: 'not ready', reason }));
  });
}
