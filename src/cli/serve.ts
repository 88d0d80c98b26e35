import { Command } from 'commander';
import { ConfigError } from '../config/load.ts';
import { startBerth } from '../main.ts';
import { withConfigOptions } from './index.ts';
import { type ConfigFlags, loadConfigOrExit } from './load.ts';

export function serveCommand(): Command {
  return withConfigOptions(new Command('serve'))
    .description('run the registry server')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--role <role>', 'api (HTTP only), worker (background jobs only) or all (default)')
    .addHelpText(
      'after',
      '\nExamples:\n  berth serve --listen 127.0.0.1:5000 --data ./data\n  berth serve --role worker -c /etc/berth/config.yaml\n  BERTH_LOG_LEVEL=debug berth serve -c /etc/berth/config.yaml',
    )
    .action(async (flags: ConfigFlags) => {
      const config = loadConfigOrExit(flags);
      // Settings that only prove wrong at start (a TLS key that does not match) end it like bad config.
      const berth = await startBerth(config).catch((error: unknown) => {
        if (!(error instanceof ConfigError)) throw error;
        console.error(`berth: ${error.message}`);
        process.exit(2);
      });
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        berth.log.info({ signal }, 'shutting down');
        berth.close().then(
          () => process.exit(0),
          (error: unknown) => {
            berth.log.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}
