import type { Database } from '../db/database.ts';
import type { NamedMemberRow } from '../db/members.ts';
import type { Clock } from '../lib/clock.ts';
import { RegistryError } from '../oci/errors.ts';
import type { GroupService } from './group-service.ts';
import { roleName } from './permissions.ts';
import type { ProjectDirectory, ProjectRef } from './project-directory.ts';

/** Who to add: a user (by id or name) or a group (by id, LDAP DN, or name and type). */
export interface MemberRequest {
  roleId: number;
  user?: { id?: number; username?: string };
  group?: { id?: number; name?: string; type?: number; ldapDn?: string };
}

export interface MemberServiceOptions {
  db: Database;
  clock: Clock;
  directory: ProjectDirectory;
  groups: GroupService;
  /**
   * Adds a user known to the external directory (LDAP) but not yet to Berth, as Harbor's
   * SearchAndOnBoardUser does; resolves once done, whether or not the directory knew them.
   */
  onboardUser?: (username: string) => Promise<void>;
}

function requireRole(roleId: number): void {
  if (roleName(roleId) === undefined) {
    throw new RegistryError('BAD_REQUEST', 'invalid role: must be a built-in project role (1-5)');
  }
}

/**
 * Project members: users and groups with a role in a project. Every change invalidates the
 * project directory's role cache at once, so a removed member loses access on the next request.
 */
export class MemberService {
  constructor(private readonly options: MemberServiceOptions) {}

  /** The project's members, users first, by name; `entityName` filters by a name fragment. */
  async list(project: ProjectRef, entityName?: string): Promise<NamedMemberRow[]> {
    const members = await this.options.db.members.findNamed(project.id);
    if (!entityName) return members;
    const wanted = entityName.toLowerCase();
    return members.filter((member) => member.entity_name.toLowerCase().includes(wanted));
  }

  async get(project: ProjectRef, memberId: number): Promise<NamedMemberRow> {
    const [member] = await this.options.db.members.findNamed(project.id, memberId);
    if (!member) throw new RegistryError('NOT_FOUND', `the project member with id ${memberId} is not found`);
    return member;
  }

  async add(project: ProjectRef, request: MemberRequest): Promise<NamedMemberRow> {
    requireRole(request.roleId);
    const entity = await this.entityOf(request);
    const id = await this.options.db.transaction(async (db) => {
      if (await db.members.findEntity(project.id, entity.type, entity.id)) {
        throw new RegistryError('CONFLICT', 'The project member specified already exist');
      }
      return db.members.insert({
        project_id: project.id,
        entity_type: entity.type,
        entity_id: entity.id,
        role_id: request.roleId,
        created_at: this.options.clock.now(),
      });
    });
    this.options.directory.invalidate();
    return this.get(project, id);
  }

  async updateRole(project: ProjectRef, memberId: number, roleId: number): Promise<NamedMemberRow> {
    requireRole(roleId);
    const member = await this.get(project, memberId);
    await this.options.db.members.updateRole(project.id, memberId, roleId, this.options.clock.now());
    this.options.directory.invalidate();
    return member;
  }

  /** Removes a member; returns it, or undefined if there was none (Harbor answers 200 either way). */
  async remove(project: ProjectRef, memberId: number): Promise<NamedMemberRow | undefined> {
    const [member] = await this.options.db.members.findNamed(project.id, memberId);
    if (!member) return undefined;
    await this.options.db.members.delete(project.id, memberId);
    this.options.directory.invalidate();
    return member;
  }

  /** The user or group a request names, in Harbor's order of precedence. */
  private async entityOf(request: MemberRequest): Promise<{ type: 'u' | 'g'; id: number }> {
    const { user, group } = request;
    const db = this.options.db;
    if (user?.id && user.id > 0) {
      if (!(await db.users.findById(user.id))) {
        throw new RegistryError('BAD_REQUEST', `User ${user.id} not found`);
      }
      return { type: 'u', id: user.id };
    }
    if (group?.id && group.id > 0) {
      if (!(await db.groups.findById(group.id))) {
        throw new RegistryError('BAD_REQUEST', `Group ${group.id} not found`);
      }
      return { type: 'g', id: group.id };
    }
    if (user?.username) {
      let found = await db.users.findByUsername(user.username);
      if (!found && this.options.onboardUser) {
        await this.options.onboardUser(user.username);
        found = await db.users.findByUsername(user.username);
      }
      if (!found) throw new RegistryError('NOT_FOUND', `user ${user.username} is not found`);
      return { type: 'u', id: Number(found.id) };
    }
    if (group?.ldapDn) {
      return { type: 'g', id: await this.options.groups.ensureLdapGroup(group.ldapDn, group.name) };
    }
    if (group?.name) {
      const found = group.type
        ? await db.groups.findByName(group.name, group.type)
        : (await db.groups.findAll()).find((candidate) => candidate.name === group.name);
      if (!found) throw new RegistryError('NOT_FOUND', `group ${group.name} is not found`);
      return { type: 'g', id: Number(found.id) };
    }
    throw new RegistryError('BAD_REQUEST', 'at least one of member_user or member_group must be provided');
  }
}
