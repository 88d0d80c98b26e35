import { type Command, Option } from 'commander';
import { tryParseDigest } from '../oci/digest.ts';
import { type Credentials, OciClient, OciClientError } from './oci-client.ts';

export interface RegistryFlags {
  registry?: string;
  username?: string;
  password?: string;
  token?: string;
}

/** `--registry`, `--username`/`--password` or `--token`, each also from a BERTH_* variable. */
export function withRegistryOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--registry <url>', 'registry base URL, e.g. https://berth.example').env('BERTH_REGISTRY'),
    )
    .addOption(new Option('--username <name>', 'user or robot to log in as').env('BERTH_USERNAME'))
    .addOption(new Option('--password <secret>', 'its password or robot secret').env('BERTH_PASSWORD'))
    .addOption(new Option('--token <token>', 'a bearer token instead of a login').env('BERTH_TOKEN'));
}

/** `<repository>@<digest>` or `<repository>:<tag>`. */
export function parseImageArgument(value: string): { repository: string; reference: string } {
  const at = value.indexOf('@');
  if (at > 0) {
    const digest = value.slice(at + 1);
    if (!tryParseDigest(digest)) throw new OciClientError(`${JSON.stringify(digest)} is not a digest`);
    return { repository: value.slice(0, at), reference: digest };
  }
  const colon = value.lastIndexOf(':');
  if (colon > value.lastIndexOf('/') && colon > 0)
    return { repository: value.slice(0, colon), reference: value.slice(colon + 1) };
  throw new OciClientError(
    `give the image as <repository>@<digest> or <repository>:<tag>, not ${JSON.stringify(value)}`,
  );
}

export function registryClient(flags: RegistryFlags, repository: string): OciClient {
  if (!flags.registry) throw new OciClientError('--registry (or BERTH_REGISTRY) is required');
  let credentials: Credentials | undefined;
  if (flags.token) credentials = { token: flags.token };
  else if (flags.username) credentials = { username: flags.username, password: flags.password ?? '' };
  return new OciClient(flags.registry, repository, credentials);
}

/** Runs a command body, turning a thrown error into one `berth: <command>: …` line and exit status 1. */
export async function reportFailure(command: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    console.error(`berth: ${command}: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
