import { Command } from 'commander';
import { stringify } from 'yaml';
import { configLeaves } from '../config/load.ts';
import { redactSecrets } from '../config/redact.ts';
import { withConfigOptions } from './index.ts';
import { type ConfigFlags, loadConfigOrExit } from './load.ts';

export function configCommand(): Command {
  return withConfigOptions(new Command('config'))
    .description('validate the configuration and print it as Berth will use it')
    .option('--env', 'list every setting with its environment variable instead')
    .action((flags: ConfigFlags & { env?: boolean }) => {
      if (flags.env) {
        for (const leaf of configLeaves()) {
          const fallback =
            leaf.schema.default === undefined ? '' : ` (default ${JSON.stringify(leaf.schema.default)})`;
          console.log(
            `${leaf.env.padEnd(40)} ${leaf.path.join('.')}: ${leaf.schema.description ?? ''}${fallback}`,
          );
        }
        return;
      }
      process.stdout.write(stringify(redactSecrets(loadConfigOrExit(flags))));
    });
}
