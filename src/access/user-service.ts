import type { Database } from '../db/database.ts';
import { newUser, type UserRow } from '../db/users.ts';
import type { Clock } from '../lib/clock.ts';
import { RegistryError } from '../oci/errors.ts';
import type { Authenticator } from './authenticator.ts';
import type { Caller } from './caller.ts';
import type { PermissionEvaluator } from './evaluator.ts';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.ts';
import type { ProjectDirectory } from './project-directory.ts';
import type { SettingsService } from './settings-service.ts';
import { type ProfileFields, profileProblem, usernameProblem } from './user-profile.ts';

/** The first administrator (Harbor's user 1): never deleted, never demoted. */
export const bootstrapAdmin = 'admin';

export interface NewLocalUser extends ProfileFields {
  username: string;
  password: string;
}

export interface UserServiceOptions {
  db: Database;
  clock: Clock;
  settings: SettingsService;
  evaluator: PermissionEvaluator;
  /** Its cached logins are forgotten whenever a password, a flag or a user goes away. */
  authenticator: Authenticator;
  directory: ProjectDirectory;
}

function isSelf(caller: Caller, userId: number): boolean {
  return caller.kind === 'user' && caller.id === userId;
}

/**
 * Users as Harbor manages them: local accounts with its password and profile rules. Every change
 * that could leave a stale cached login (password, sysadmin flag, deletion) takes effect at once.
 */
export class UserService {
  constructor(private readonly options: UserServiceOptions) {}

  list(): Promise<UserRow[]> {
    return this.options.db.users.findAll();
  }

  async get(id: number): Promise<UserRow> {
    const user = await this.options.db.users.findById(id);
    if (!user) throw new RegistryError('NOT_FOUND', `user ${id} not found`);
    return user;
  }

  /** Whether anyone but the first administrator has an account (auth_mode may change only if not). */
  async hasUsersBesidesAdmin(): Promise<boolean> {
    const users = await this.options.db.users.findAll();
    return users.some((user) => user.username !== bootstrapAdmin);
  }

  /** Creates a local user; allowed only while users are kept in Berth's own database. */
  async create(input: NewLocalUser): Promise<UserRow> {
    const mode = await this.options.settings.authMode();
    if (mode !== 'db_auth') {
      throw new RegistryError('FORBIDDEN', `creating local user is not allowed under auth mode: ${mode}`);
    }
    const problem =
      passwordProblem(input.password) ?? usernameProblem(input.username) ?? profileProblem(input);
    if (problem) throw new RegistryError('BAD_REQUEST', problem);
    const passwordHash = await hashPassword(input.password);
    const now = this.options.clock.now();
    const id = await this.options.db.transaction(async (db) => {
      if (await db.users.findByUsername(input.username)) {
        throw new RegistryError('CONFLICT', `username ${input.username} already exists`);
      }
      if (await db.users.findByEmail(input.email)) {
        throw new RegistryError('CONFLICT', `email ${input.email} already exists`);
      }
      return db.users.insert(
        newUser(
          {
            username: input.username,
            email: input.email,
            realname: input.realname,
            comment: input.comment,
            password_hash: passwordHash,
            source: 'local',
          },
          now,
        ),
      );
    });
    return this.get(id);
  }

  /** Changes email, real name and comment; fields left out keep their values. */
  async updateProfile(caller: Caller, id: number, changes: Partial<ProfileFields>): Promise<UserRow> {
    await this.requireModifiable(caller, id);
    const user = await this.get(id);
    const profile: ProfileFields = {
      email: changes.email ?? user.email ?? '',
      realname: changes.realname ?? user.realname,
      comment: changes.comment ?? user.comment,
    };
    const problem = profileProblem(profile);
    if (problem) throw new RegistryError('BAD_REQUEST', problem);
    await this.options.db.transaction(async (db) => {
      const holder = await db.users.findByEmail(profile.email);
      if (holder && Number(holder.id) !== id) {
        throw new RegistryError('CONFLICT', `email ${profile.email} already exists`);
      }
      await db.users.update(id, { ...profile, updated_at: this.options.clock.now() });
    });
    return user;
  }

  /**
   * Sets a new password. Users changing their own must give the current one; administrators
   * may reset anyone else's without it (which also lifts a lock from failed logins).
   */
  async changePassword(
    caller: Caller,
    id: number,
    passwords: { oldPassword?: string; newPassword: string },
  ): Promise<UserRow> {
    await this.requireModifiable(caller, id);
    const user = await this.get(id);
    if (user.source !== 'local' || !user.password_hash) {
      throw new RegistryError('BAD_REQUEST', `the password of ${user.username} is kept by ${user.source}`);
    }
    if (isSelf(caller, id) && !(await verifyPassword(user.password_hash, passwords.oldPassword ?? ''))) {
      throw new RegistryError('FORBIDDEN', 'Current password is incorrect');
    }
    const problem = passwordProblem(passwords.newPassword);
    if (problem) throw new RegistryError('BAD_REQUEST', problem);
    if (await verifyPassword(user.password_hash, passwords.newPassword)) {
      throw new RegistryError('BAD_REQUEST', 'New password is identical to old password');
    }
    await this.options.db.users.update(id, {
      password_hash: await hashPassword(passwords.newPassword),
      failed_logins: 0,
      locked_until: 0,
      updated_at: this.options.clock.now(),
    });
    this.options.authenticator.forgetLogins();
    return user;
  }

  async setSysadmin(id: number, sysadmin: boolean): Promise<UserRow> {
    const user = await this.get(id);
    if (user.username === bootstrapAdmin && !sysadmin) {
      throw new RegistryError('FORBIDDEN', `the sysadmin flag of ${bootstrapAdmin} cannot be removed`);
    }
    await this.options.db.users.update(id, {
      sysadmin: sysadmin ? 1 : 0,
      updated_at: this.options.clock.now(),
    });
    this.options.authenticator.forgetLogins();
    return user;
  }

  /** Deletes a user and their memberships; nobody deletes themselves or the first administrator. */
  async delete(caller: Caller, id: number): Promise<UserRow> {
    const user = await this.get(id);
    if (isSelf(caller, id) || user.username === bootstrapAdmin) {
      throw new RegistryError('FORBIDDEN', `User with ID ${id} cannot be deleted`);
    }
    await this.options.db.transaction(async (db) => {
      await db.members.deleteEntity('u', id);
      await db.users.delete(id);
    });
    this.options.authenticator.forgetLogins();
    this.options.directory.invalidate();
    return user;
  }

  /** Users whose name contains `fragment` (case-insensitive), for pickers: any logged-in caller. */
  async search(fragment: string): Promise<UserRow[]> {
    const wanted = fragment.toLowerCase();
    return (await this.list()).filter((user) => user.username.toLowerCase().includes(wanted));
  }

  /**
   * Harbor's rule: with local accounts an administrator may change anyone and a user themselves;
   * when accounts live in LDAP or OIDC only the first administrator's local account can change.
   */
  private async requireModifiable(caller: Caller, id: number): Promise<void> {
    const mayUpdateUsers = this.options.evaluator.canInSystem(caller, 'user', 'update');
    let allowed: boolean;
    if ((await this.options.settings.authMode()) === 'db_auth') {
      allowed = mayUpdateUsers || isSelf(caller, id);
    } else {
      const user = await this.options.db.users.findById(id);
      allowed = mayUpdateUsers && user?.username === bootstrapAdmin;
    }
    if (!allowed) throw new RegistryError('FORBIDDEN', `User with ID ${id} can't be updated`);
  }
}
