import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export const inCi = process.env.CI === 'true' || process.env.CI === '1';

/**
 * For `describe(name, { skip: missingTools('skopeo') }, …)`: false when every command is on the
 * PATH, else the reason to skip. Under CI=true a missing tool is an error, never a skip.
 */
export function missingTools(...commands: string[]): string | false {
  const absent = commands.filter((command) => !onPath(command));
  if (absent.length === 0) return false;
  const reason = `not installed: ${absent.join(', ')} (npm test installs them)`;
  if (inCi) throw new Error(`${reason}; CI=true forbids skipping`);
  return reason;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command, failing with its whole output if it exits non-zero. */
export async function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 180_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr };
  } catch (error) {
    const failure = error as Error & { stdout?: string; stderr?: string; code?: number };
    throw new Error(
      `${command} ${args.join(' ')} failed (${failure.code}):\n${failure.stdout ?? ''}\n${failure.stderr ?? ''}`,
    );
  }
}
