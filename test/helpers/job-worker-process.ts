/**
 * A job service worker in a process of its own, for tests that kill it mid-job: it opens the
 * SQLite database (or postgres:// URL) at argv[2], works jobs of type argv[3] with a lease of
 * argv[4] ms, prints `claimed <id>` when a job starts, and never finishes one.
 */
import { openPostgresDatabase } from '../../src/db/postgres.ts';
import { openSqliteDatabase } from '../../src/db/sqlite.ts';
import { JobService } from '../../src/jobs/job-service.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';

const [path, type, leaseMs] = process.argv.slice(2);
const db = path!.startsWith('postgres://')
  ? openPostgresDatabase(path!)
  : openSqliteDatabase({ path: path! });
const jobs = new JobService({
  db,
  clock: systemClock,
  log: createLogger('silent'),
  workers: 1,
  pollIntervalMs: 20,
  leaseMs: Number(leaseMs),
});
jobs.register(type!, async (_payload, { jobId, log }) => {
  log.info('first worker started');
  // Time for the log lines to be stored: the test kills this process the moment it reads this.
  setTimeout(() => process.stdout.write(`claimed ${jobId}\n`), 100);
  await new Promise(() => {});
});
jobs.start();
setInterval(() => {}, 60_000);
