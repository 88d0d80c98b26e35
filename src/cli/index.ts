import { Command, Option } from 'commander';
import { readVersion } from '../version.ts';
import { configCommand } from './config.ts';
import { migrateCommand } from './migrate.ts';
import { serveCommand } from './serve.ts';
import { signCommand } from './sign.ts';
import { verifyCommand } from './verify.ts';
import { vulndbCommand } from './vulndb.ts';

/** The `berth` command line. */
export function buildCli(): Command {
  const version = readVersion();
  const program = new Command('berth')
    .description('Berth: a secure OCI container image registry')
    .version(version, '-v, --version', 'print the version')
    .addHelpText('after', "\nRun `berth <command> --help` for a command's options. Docs: README.md")
    .showHelpAfterError('(run `berth --help` for usage)');
  program
    .command('version')
    .description('print the version')
    .action(() => console.log(version));
  program.addCommand(serveCommand());
  program.addCommand(migrateCommand());
  program.addCommand(configCommand());
  program.addCommand(vulndbCommand());
  program.addCommand(signCommand());
  program.addCommand(verifyCommand());
  return program;
}

/** Options every command that reads the configuration accepts. */
export function withConfigOptions(command: Command): Command {
  return command
    .addOption(new Option('-c, --config <file>', 'YAML configuration file').env('BERTH_CONFIG'))
    .option('--data <dir>', 'data directory (database and blobs)')
    .option('--listen <host:port>', 'address to serve on');
}
