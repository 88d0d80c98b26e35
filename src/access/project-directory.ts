import type { Database } from '../db/database.ts';
import type { Clock } from '../lib/clock.ts';

export interface ProjectRef {
  id: number;
  name: string;
  public: boolean;
}

interface Cached<T> {
  value: T;
  until: number;
}

/**
 * Projects and memberships as permission checks need them, cached for a moment: every registry
 * request asks, and the answers change rarely. Local changes invalidate at once; another node's
 * changes show within `ttlMs`.
 */
export class ProjectDirectory {
  private readonly projects = new Map<string, Cached<ProjectRef | undefined>>();
  private readonly roles = new Map<string, Cached<number[]>>();
  private readonly invalidationListeners: (() => void)[] = [];

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly ttlMs = 2000,
  ) {}

  async byName(name: string): Promise<ProjectRef | undefined> {
    const now = this.clock.now();
    const cached = this.projects.get(name);
    if (cached && cached.until > now) return cached.value;
    const row = await this.db.projects.findByName(name);
    const value = row
      ? {
          id: Number(row.id),
          name: row.name,
          public: (await this.db.projects.metadata(Number(row.id))).public === 'true',
        }
      : undefined;
    this.remember(this.projects, name, value, now);
    return value;
  }

  /** The roles a user holds in a project, directly or through groups. */
  async rolesOf(projectId: number, userId: number, groupIds: readonly number[]): Promise<number[]> {
    const now = this.clock.now();
    const key = `${projectId}:${userId}:${groupIds.join(',')}`;
    const cached = this.roles.get(key);
    if (cached && cached.until > now) return cached.value;
    const value = await this.db.members.rolesOf(projectId, userId, groupIds);
    this.remember(this.roles, key, value, now);
    return value;
  }

  /** Forget everything: called after any change to projects, members or groups. */
  invalidate(): void {
    this.projects.clear();
    this.roles.clear();
    for (const listener of this.invalidationListeners) listener();
  }

  /** Told after each `invalidate()`, so caches built on project metadata drop it too. */
  onInvalidate(listener: () => void): void {
    this.invalidationListeners.push(listener);
  }

  private remember<T>(map: Map<string, Cached<T>>, key: string, value: T, now: number): void {
    if (map.size > 10_000) map.clear();
    map.set(key, { value, until: now + this.ttlMs });
  }
}
