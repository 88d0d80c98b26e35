import type { Database } from '../db/database.ts';
import type { ProjectRow } from '../db/projects.ts';
import type { Clock } from '../lib/clock.ts';
import { RegistryError } from '../oci/errors.ts';
import { type Caller, isSysadmin } from './caller.ts';
import { roles } from './permissions.ts';
import type { ProjectDirectory, ProjectRef } from './project-directory.ts';
import { projectMetadataProblem } from './project-metadata.ts';

/** Harbor's project name rule. */
const projectNamePattern = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export function projectNameProblem(name: string): string | undefined {
  if (name.length < 1 || name.length > 255 || !projectNamePattern.test(name)) {
    return 'project name is not in lower case or contains illegal characters';
  }
  return undefined;
}

export interface ProjectSummary {
  row: ProjectRow;
  metadata: Record<string, string>;
}

export interface NewProject {
  name: string;
  public: boolean;
  metadata?: Record<string, string>;
  /** Bytes the project may store; -1 unlimited; absent: the configured default. */
  storageLimit?: number;
}

/** Harbor's rule for a storage limit: -1 (unlimited) or a positive number of bytes. */
export function storageLimitProblem(limit: number): string | undefined {
  return Number.isSafeInteger(limit) && (limit === -1 || limit > 0)
    ? undefined
    : `invalid storage limit ${limit}: -1 (unlimited) or a positive number of bytes`;
}

/** Projects: creation (with its creator as project admin) and the changes everyone must see. */
export class ProjectService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly directory: ProjectDirectory,
    /** The storage limit of a project created without one (bytes, -1 unlimited). */
    private readonly defaultStorageLimit = -1,
  ) {}

  async create(creator: Caller, project: NewProject): Promise<ProjectRef> {
    const problem =
      projectNameProblem(project.name) ??
      projectMetadataProblem(project.metadata ?? {}) ??
      (project.storageLimit === undefined ? undefined : storageLimitProblem(project.storageLimit));
    if (problem) throw new RegistryError('BAD_REQUEST', problem);
    const now = this.clock.now();
    const ownerId = creator.kind === 'user' ? creator.id : await this.firstAdminId();
    const id = await this.db.transaction(async (db) => {
      if (await db.projects.findByName(project.name)) {
        throw new RegistryError('CONFLICT', `The project named ${project.name} already exists`);
      }
      const created = await db.projects.insert(
        { name: project.name, owner_id: ownerId, now },
        { ...project.metadata, public: project.public ? 'true' : 'false' },
      );
      await db.quotas.insert(created, project.storageLimit ?? this.defaultStorageLimit, now);
      if (creator.kind === 'user') {
        await db.members.insert({
          project_id: created,
          entity_type: 'u',
          entity_id: creator.id,
          role_id: roles.projectAdmin,
          created_at: now,
        });
      }
      return created;
    });
    this.directory.invalidate();
    return { id, name: project.name, public: project.public };
  }

  /** Projects the caller may see: all for administrators, else public ones and their own. */
  async visible(caller: Caller): Promise<ProjectSummary[]> {
    const [rows, metadata] = await Promise.all([this.db.projects.findAll(), this.db.projects.allMetadata()]);
    const all = rows.map((row) => ({ row, metadata: metadata.get(Number(row.id)) ?? {} }));
    if (isSysadmin(caller)) return all;
    let own = new Set<number>();
    if (caller.kind === 'user') own = new Set(await this.db.members.projectIdsOf(caller.id, caller.groupIds));
    if (caller.kind === 'robot') {
      const namespaces = new Set(
        caller.permissions.filter((p) => p.kind === 'project').map((p) => p.namespace),
      );
      return all.filter(
        ({ row, metadata }) =>
          metadata.public === 'true' ||
          namespaces.has('*') ||
          namespaces.has(row.name) ||
          Number(row.id) === caller.projectId,
      );
    }
    return all.filter(({ row, metadata }) => metadata.public === 'true' || own.has(Number(row.id)));
  }

  /** Sets metadata entries: only Harbor's known keys, each with a valid value. */
  async setMetadata(project: ProjectRef, entries: Record<string, string>): Promise<void> {
    const problem = projectMetadataProblem(entries);
    if (problem) throw new RegistryError('BAD_REQUEST', problem);
    await this.db.transaction(async (db) => {
      await db.projects.setMetadata(project.id, entries);
      await db.projects.touch(project.id, this.clock.now());
    });
    this.directory.invalidate();
  }

  /** Sets the project's storage limit (bytes, -1 unlimited); usage above it refuses new pushes only. */
  async setStorageLimit(project: ProjectRef, limit: number): Promise<void> {
    const problem = storageLimitProblem(limit);
    if (problem) throw new RegistryError('BAD_REQUEST', problem);
    await this.db.quotas.setHardOfProject(project.id, limit, this.clock.now());
  }

  async deleteMetadata(project: ProjectRef, name: string): Promise<boolean> {
    const deleted = await this.db.projects.deleteMetadata(project.id, name);
    this.directory.invalidate();
    return deleted;
  }

  /** Why the project cannot be deleted, or undefined when it can. */
  async deletionProblem(project: ProjectRef): Promise<string | undefined> {
    const repositories = await this.db.repositories.findInProject(project.name);
    return repositories.length > 0 ? 'the project contains repositories, can not be deleted' : undefined;
  }

  async delete(project: ProjectRef): Promise<void> {
    const problem = await this.deletionProblem(project);
    if (problem) throw new RegistryError('PRECONDITION', problem);
    // Metadata and members go with the project (foreign keys); its robots are not keyed to it.
    await this.db.transaction(async (db) => {
      await db.robots.deleteInProject(project.id);
      await db.projects.delete(project.id);
    });
    this.directory.invalidate();
  }

  private async firstAdminId(): Promise<number> {
    const admin = await this.db.users.findByUsername('admin');
    return admin ? Number(admin.id) : 0;
  }
}
