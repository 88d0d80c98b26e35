import type { Caller, TokenAccess } from './caller.ts';
import { isSysadmin } from './caller.ts';
import type { PermissionEvaluator } from './evaluator.ts';
import type { ProjectDirectory, ProjectRef } from './project-directory.ts';
import type { ProjectService } from './project-service.ts';

/** What a request may do to a repository on /v2. */
export type RegistryAction = 'pull' | 'push' | 'delete';

/** The one place registry routes ask whether an action is allowed. */
export interface AccessPolicy {
  allows(caller: Caller, repository: string, action: RegistryAction): Promise<boolean>;
  /** May the caller list every repository (`/v2/_catalog`)? */
  allowsCatalog(caller: Caller): Promise<boolean>;
}

/** The project a repository belongs to: its first path component (`project/repo…`). */
export function projectOf(repository: string): string | undefined {
  const slash = repository.indexOf('/');
  return slash > 0 ? repository.slice(0, slash) : undefined;
}

export interface RegistryAccessOptions {
  evaluator: PermissionEvaluator;
  directory: ProjectDirectory;
  projects: ProjectService;
  /** Create a missing project when a system administrator pushes to it. */
  autoCreateProjects: boolean;
}

function tokenAllows(access: readonly TokenAccess[], type: string, name: string, action: string): boolean {
  return access.some(
    (entry) =>
      entry.type === type &&
      entry.name === name &&
      (entry.actions.includes(action) || entry.actions.includes('*')),
  );
}

/**
 * Registry access through projects: a repository `p/r…` belongs to project `p`, whose roles,
 * robots and public flag decide. Bearer tokens carry their grants and are taken at their word.
 */
export class RegistryAccess implements AccessPolicy {
  constructor(private readonly options: RegistryAccessOptions) {}

  async allows(caller: Caller, repository: string, action: RegistryAction): Promise<boolean> {
    if (caller.kind === 'token') return tokenAllows(caller.access, 'repository', repository, action);
    const project = await this.projectFor(caller, repository, action);
    return (
      project !== undefined && this.options.evaluator.canInProject(caller, project, 'repository', action)
    );
  }

  async allowsCatalog(caller: Caller): Promise<boolean> {
    if (caller.kind === 'token') return tokenAllows(caller.access, 'registry', 'catalog', '*');
    return this.options.evaluator.canInSystem(caller, 'catalog', 'read');
  }

  /**
   * The access to put in a token for the requested scopes (`type:name:actions`): for each, the
   * requested actions the caller holds (`*` asks for all). Unknown types get nothing.
   */
  async grant(caller: Caller, scopes: readonly string[]): Promise<TokenAccess[]> {
    const granted: TokenAccess[] = [];
    for (const scope of scopes) {
      const parts = scope.split(':');
      if (parts.length < 3) continue;
      const type = parts[0]!;
      const name = parts.slice(1, -1).join(':');
      const requested = parts.at(-1)!.split(',').filter(Boolean);
      const actions = await this.grantedActions(caller, type, name, requested);
      granted.push({ type, name, actions });
    }
    return granted;
  }

  private async grantedActions(
    caller: Caller,
    type: string,
    name: string,
    requested: string[],
  ): Promise<string[]> {
    if (type === 'registry' && name === 'catalog') return (await this.allowsCatalog(caller)) ? ['*'] : [];
    if (type !== 'repository') return [];
    const wanted = requested.includes('*') ? ['pull', 'push', 'delete'] : requested;
    const held: string[] = [];
    for (const action of wanted) {
      if (
        (action === 'pull' || action === 'push' || action === 'delete') &&
        (await this.allows(caller, name, action))
      ) {
        held.push(action);
      }
    }
    if (requested.includes('*') && held.length === 3) held.push('*');
    return held;
  }

  private async projectFor(
    caller: Caller,
    repository: string,
    action: RegistryAction,
  ): Promise<ProjectRef | undefined> {
    const name = projectOf(repository);
    if (!name) return undefined;
    const project = await this.options.directory.byName(name);
    if (project || action !== 'push' || !this.options.autoCreateProjects || !isSysadmin(caller))
      return project;
    try {
      return await this.options.projects.create(caller, { name, public: false });
    } catch {
      // Another request created it meanwhile (or the name is not a valid project name). Its
      // commit may reach this request before its invalidation does (PostgreSQL: concurrent
      // transactions), so the cached "no such project" is dropped before asking again.
      this.options.directory.invalidate();
      return this.options.directory.byName(name);
    }
  }
}
