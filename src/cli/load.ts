import { ConfigError, loadConfig } from '../config/load.ts';
import type { BerthConfig } from '../config/schema.ts';

export interface ConfigFlags {
  config?: string;
  data?: string;
  listen?: string;
  logLevel?: string;
  role?: string;
}

/** Loads the configuration for a command, or prints every problem and exits with status 2. */
export function loadConfigOrExit(flags: ConfigFlags): BerthConfig {
  try {
    return loadConfig({
      file: flags.config,
      flags: { data: flags.data, listen: flags.listen, 'log.level': flags.logLevel, 'node.role': flags.role },
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`berth: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}
