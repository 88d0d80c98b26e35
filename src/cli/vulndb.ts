import { Command } from 'commander';
import { openSqliteDatabase } from '../db/sqlite.ts';
import { importOsv } from '../vuln/osv-import.ts';
import { withConfigOptions } from './index.ts';
import { type ConfigFlags, loadConfigOrExit } from './load.ts';

/** `berth vulndb import PATH` and `berth vulndb status`: the offline vulnerability database. */
export function vulndbCommand(): Command {
  const vulndb = new Command('vulndb').description('manage the offline vulnerability database (OSV)');

  vulndb.addCommand(
    withConfigOptions(new Command('import'))
      .description('import OSV advisories from a directory of JSON files or an OSV all.zip')
      .argument('<path>', 'directory (searched recursively for *.json) or .zip archive')
      .action(async (path: string, flags: ConfigFlags) => {
        const config = loadConfigOrExit(flags);
        const db = openSqliteDatabase(config.database.sqlite);
        try {
          await db.migrate();
          const summary = await importOsv(db, path, {
            onProgress: (p) =>
              console.error(
                `vulndb: ${p.files} files, ${p.inserted} new, ${p.replaced} updated, ${p.unchanged} unchanged, ${p.failed} failed`,
              ),
          });
          for (const error of summary.errors) console.error(`vulndb: ${error.file}: ${error.message}`);
          if (summary.failed > summary.errors.length) {
            console.error(`vulndb: … and ${summary.failed - summary.errors.length} more failures`);
          }
          console.log(
            `imported ${path}: ${summary.files} files, ${summary.inserted} new, ${summary.replaced} updated, ` +
              `${summary.unchanged} unchanged, ${summary.withdrawn} withdrawn, ${summary.failed} failed`,
          );
          if (summary.inserted + summary.replaced + summary.unchanged === 0) process.exitCode = 1;
        } catch (error) {
          console.error(`berth: vulndb import: ${error instanceof Error ? error.message : String(error)}`);
          process.exitCode = 1;
        } finally {
          await db.close();
        }
      }),
  );

  vulndb.addCommand(
    withConfigOptions(new Command('status'))
      .description('print what the vulnerability database holds and its last import')
      .action(async (flags: ConfigFlags) => {
        const config = loadConfigOrExit(flags);
        const db = openSqliteDatabase(config.database.sqlite);
        try {
          await db.migrate();
          const status = await db.advisories.status();
          console.log(`advisories: ${status.advisories} (${status.withdrawn} withdrawn)`);
          console.log(`affected packages: ${status.affectedPackages}`);
          for (const { ecosystem, count } of status.ecosystems)
            console.log(`  ${ecosystem}: ${count} advisories`);
          console.log(
            status.lastImport
              ? `last import: ${new Date(status.lastImport.importedAt).toISOString()} from ${status.lastImport.source} (${status.lastImport.count} records)`
              : 'last import: never',
          );
        } finally {
          await db.close();
        }
      }),
  );
  return vulndb;
}
