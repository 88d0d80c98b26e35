import { Command, Option } from 'commander';
import { openDatabase } from '../db/open.ts';
import { type AdvisoryFormat, advisoryFormats, importAdvisories } from '../vuln/feed-import.ts';
import { withConfigOptions } from './index.ts';
import { type ConfigFlags, loadConfigOrExit } from './load.ts';
import { mirrorStatusLines, queueRematchAfterImport } from './vulndb-followups.ts';

/** `berth vulndb import PATH` and `berth vulndb status`: the offline vulnerability database. */
export function vulndbCommand(): Command {
  const vulndb = new Command('vulndb').description(
    'manage the offline vulnerability database (OSV, Alpine secdb, Debian tracker)',
  );

  vulndb.addCommand(
    withConfigOptions(new Command('import'))
      .description(
        'import advisories: OSV (a directory of JSON files, an all.zip, or one record), an Alpine secdb ' +
          'file (<branch>/<repo>.json) or the Debian security tracker JSON; the format is told from the content',
      )
      .argument('<path>', 'directory (searched recursively for *.json), .zip archive or .json file')
      .addOption(
        new Option('--format <format>', 'the feed format, instead of telling it from the content').choices(
          advisoryFormats,
        ),
      )
      .action(async (path: string, flags: ConfigFlags & { format?: AdvisoryFormat }) => {
        const config = loadConfigOrExit(flags);
        const db = openDatabase(config.database);
        try {
          await db.migrate();
          const summary = await importAdvisories(db, path, {
            format: flags.format,
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
            `imported ${path} (${summary.format}): ${summary.files} files, ${summary.inserted} new, ${summary.replaced} updated, ` +
              `${summary.unchanged} unchanged, ${summary.withdrawn} withdrawn, ${summary.failed} failed`,
          );
          if (summary.inserted + summary.replaced + summary.unchanged === 0) process.exitCode = 1;
          const rematch = await queueRematchAfterImport(db, config, summary.inserted + summary.replaced);
          if (rematch) console.log(rematch);
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
        const db = openDatabase(config.database);
        try {
          await db.migrate();
          const status = await db.advisories.status();
          console.log(`advisories: ${status.advisories} (${status.withdrawn} withdrawn)`);
          console.log(`affected packages: ${status.affectedPackages}`);
          for (const { source, count } of status.sources) console.log(`  from ${source}: ${count}`);
          for (const { ecosystem, count } of status.ecosystems)
            console.log(`  ${ecosystem}: ${count} advisories`);
          console.log(
            status.lastImport
              ? `last import: ${new Date(status.lastImport.importedAt).toISOString()} from ${status.lastImport.source} (${status.lastImport.count} records)`
              : 'last import: never',
          );
          for (const line of await mirrorStatusLines(db, config)) console.log(line);
        } finally {
          await db.close();
        }
      }),
  );
  return vulndb;
}
