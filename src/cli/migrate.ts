import { Command } from 'commander';
import { copySqliteToPostgres } from '../db/copy-to-postgres.ts';
import { openDatabase, postgresOptions } from '../db/open.ts';
import { redactDatabaseUrl } from '../db/postgres.ts';
import { withConfigOptions } from './index.ts';
import { type ConfigFlags, loadConfigOrExit } from './load.ts';

export function migrateCommand(): Command {
  return withConfigOptions(new Command('migrate'))
    .description('apply pending database migrations and exit (serve does this too)')
    .option(
      '--to <postgres-url>',
      'copy the embedded SQLite database (database.sqlite.path) into this empty PostgreSQL database',
    )
    .action(async (flags: ConfigFlags & { to?: string }) => {
      const config = loadConfigOrExit(flags);
      if (flags.to !== undefined) {
        if (!/^postgres(ql)?:\/\//i.test(flags.to)) {
          console.error('berth: --to must be a postgres:// URL');
          process.exit(2);
        }
        const copied = await copySqliteToPostgres(
          config.database.sqlite.path,
          flags.to,
          postgresOptions(config.database),
        );
        for (const { table, rows } of copied) console.log(`${table}: ${rows} rows`);
        console.log(
          `copied ${config.database.sqlite.path} to ${redactDatabaseUrl(flags.to)}; set database.url to use it`,
        );
        return;
      }
      const db = openDatabase(config.database);
      try {
        const applied = await db.migrate();
        console.log(applied.length === 0 ? 'database is up to date' : `applied: ${applied.join(', ')}`);
      } finally {
        await db.close();
      }
    });
}
