import type { Database } from '../db/database.ts';
import type { Clock } from '../lib/clock.ts';
import { RegistryError } from '../oci/errors.ts';
import type { Caller } from './caller.ts';
import { roles } from './permissions.ts';
import type { ProjectDirectory, ProjectRef } from './project-directory.ts';

/** Harbor's project name rule. */
const projectNamePattern = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export function projectNameProblem(name: string): string | undefined {
  if (name.length < 1 || name.length > 255 || !projectNamePattern.test(name)) {
    return 'project name is not in lower case or contains illegal characters';
  }
  return undefined;
}

export interface NewProject {
  name: string;
  public: boolean;
  metadata?: Record<string, string>;
}

/** Projects: creation (with its creator as project admin) and the changes everyone must see. */
export class ProjectService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly directory: ProjectDirectory,
  ) {}

  async create(creator: Caller, project: NewProject): Promise<ProjectRef> {
    const problem = projectNameProblem(project.name);
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

  private async firstAdminId(): Promise<number> {
    const admin = await this.db.users.findByUsername('admin');
    return admin ? Number(admin.id) : 0;
  }
}
