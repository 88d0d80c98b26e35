import { robotPrefix } from './authenticator.ts';

/** Harbor's rule for the name part of a robot account. */
const robotNamePattern = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export function robotNameProblem(name: string): string | undefined {
  if (name.length < 1 || name.length > 255 || !robotNamePattern.test(name)) {
    return 'robot name is not in lower case or contains illegal characters';
  }
  return undefined;
}

/** The name a robot logs in with: `robot$name` (system) or `robot$project+name` (project). */
export function robotLoginName(name: string, projectName?: string): string {
  return projectName === undefined ? `${robotPrefix}${name}` : `${robotPrefix}${projectName}+${name}`;
}

/**
 * The parts of a robot login name, or undefined if it is not one. Neither project names nor
 * robot names may contain `+`, so the first `+` is the separator.
 */
export function parseRobotLoginName(login: string): { name: string; project?: string } | undefined {
  if (!login.startsWith(robotPrefix)) return undefined;
  const rest = login.slice(robotPrefix.length);
  const plus = rest.indexOf('+');
  if (plus < 0) return robotNameProblem(rest) ? undefined : { name: rest };
  const project = rest.slice(0, plus);
  const name = rest.slice(plus + 1);
  if (!project || robotNameProblem(name)) return undefined;
  return { name, project };
}
