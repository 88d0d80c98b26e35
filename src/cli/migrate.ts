import { Command } from 'commander';
import { openSqliteDatabase } from '../db/sqlite.ts';
import { withConfigOptions } from './index.ts';
import { type ConfigFlags, loadConfigOrExit } from './load.ts';

export function migrateCommand(): Command {
  return withConfigOptions(new Command('migrate'))
    .description('apply pending database migrations and exit (serve does this too)')
    .action(async (flags: ConfigFlags) => {
      const config = loadConfigOrExit(flags);
      const db = openSqliteDatabase(config.database.sqlite);
      try {
        const applied = await db.migrate();
        console.log(applied.length === 0 ? 'database is up to date' : `applied: ${applied.join(', ')}`);
      } finally {
        await db.close();
      }
    });
}
