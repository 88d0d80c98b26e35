import type { Kysely, Migration } from 'kysely';
import { withIdColumn } from './columns.ts';

/** Identity and access: users, groups, projects and their members, robots, settings, keys, audit. */
export const accessTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await withIdColumn(db, db.schema.createTable('users'))
      .addColumn('username', 'text', (column) => column.notNull().unique())
      .addColumn('email', 'text')
      .addColumn('realname', 'text', (column) => column.notNull().defaultTo(''))
      .addColumn('comment', 'text', (column) => column.notNull().defaultTo(''))
      .addColumn('password_hash', 'text')
      .addColumn('sysadmin', 'integer', (column) => column.notNull().defaultTo(0))
      .addColumn('source', 'text', (column) => column.notNull().defaultTo('local'))
      .addColumn('external_id', 'text')
      .addColumn('cli_secret', 'text')
      .addColumn('disabled', 'integer', (column) => column.notNull().defaultTo(0))
      .addColumn('failed_logins', 'integer', (column) => column.notNull().defaultTo(0))
      .addColumn('locked_until', 'bigint', (column) => column.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema.createIndex('users_email').on('users').column('email').unique().execute();
    await db.schema
      .createIndex('users_external')
      .on('users')
      .columns(['source', 'external_id'])
      .unique()
      .execute();

    await withIdColumn(db, db.schema.createTable('user_groups'))
      .addColumn('name', 'text', (column) => column.notNull())
      .addColumn('type', 'integer', (column) => column.notNull())
      .addColumn('ldap_dn', 'text')
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addUniqueConstraint('user_groups_name_type', ['name', 'type'])
      .execute();
    await db.schema.createIndex('user_groups_ldap_dn').on('user_groups').column('ldap_dn').unique().execute();

    await db.schema
      .createTable('user_group_members')
      .addColumn('user_id', 'integer', (column) =>
        column.notNull().references('users.id').onDelete('cascade'),
      )
      .addColumn('group_id', 'integer', (column) =>
        column.notNull().references('user_groups.id').onDelete('cascade'),
      )
      .addPrimaryKeyConstraint('user_group_members_pk', ['user_id', 'group_id'])
      .execute();

    await withIdColumn(db, db.schema.createTable('projects'))
      .addColumn('name', 'text', (column) => column.notNull().unique())
      .addColumn('owner_id', 'integer', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .execute();

    await db.schema
      .createTable('project_metadata')
      .addColumn('project_id', 'integer', (column) =>
        column.notNull().references('projects.id').onDelete('cascade'),
      )
      .addColumn('name', 'text', (column) => column.notNull())
      .addColumn('value', 'text', (column) => column.notNull())
      .addPrimaryKeyConstraint('project_metadata_pk', ['project_id', 'name'])
      .execute();

    await withIdColumn(db, db.schema.createTable('project_members'))
      .addColumn('project_id', 'integer', (column) =>
        column.notNull().references('projects.id').onDelete('cascade'),
      )
      .addColumn('entity_type', 'text', (column) => column.notNull())
      .addColumn('entity_id', 'integer', (column) => column.notNull())
      .addColumn('role_id', 'integer', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .addUniqueConstraint('project_members_entity', ['project_id', 'entity_type', 'entity_id'])
      .execute();
    await db.schema
      .createIndex('project_members_entity_id')
      .on('project_members')
      .columns(['entity_type', 'entity_id'])
      .execute();

    // project_id 0 is a system-level robot (as in Harbor): no foreign key, the service cleans up.
    await withIdColumn(db, db.schema.createTable('robots'))
      .addColumn('name', 'text', (column) => column.notNull())
      .addColumn('project_id', 'integer', (column) => column.notNull())
      .addColumn('description', 'text', (column) => column.notNull().defaultTo(''))
      .addColumn('secret_hash', 'text', (column) => column.notNull())
      .addColumn('duration', 'integer', (column) => column.notNull())
      .addColumn('expires_at', 'bigint', (column) => column.notNull())
      .addColumn('disabled', 'integer', (column) => column.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .addUniqueConstraint('robots_name_project', ['name', 'project_id'])
      .execute();

    await db.schema
      .createTable('robot_permissions')
      .addColumn('robot_id', 'integer', (column) =>
        column.notNull().references('robots.id').onDelete('cascade'),
      )
      .addColumn('kind', 'text', (column) => column.notNull())
      .addColumn('namespace', 'text', (column) => column.notNull())
      .addColumn('resource', 'text', (column) => column.notNull())
      .addColumn('action', 'text', (column) => column.notNull())
      .addPrimaryKeyConstraint('robot_permissions_pk', [
        'robot_id',
        'kind',
        'namespace',
        'resource',
        'action',
      ])
      .execute();

    await db.schema
      .createTable('configurations')
      .addColumn('key', 'text', (column) => column.primaryKey())
      .addColumn('value', 'text', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .execute();

    await db.schema
      .createTable('signing_keys')
      .addColumn('kid', 'text', (column) => column.primaryKey())
      .addColumn('algorithm', 'text', (column) => column.notNull())
      .addColumn('private_key', 'text', (column) => column.notNull())
      .addColumn('public_key', 'text', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('retire_at', 'bigint', (column) => column.notNull())
      .execute();

    await withIdColumn(db, db.schema.createTable('audit_logs'))
      .addColumn('op_time', 'bigint', (column) => column.notNull())
      .addColumn('username', 'text', (column) => column.notNull())
      .addColumn('client_ip', 'text', (column) => column.notNull().defaultTo(''))
      .addColumn('user_agent', 'text', (column) => column.notNull().defaultTo(''))
      .addColumn('resource_type', 'text', (column) => column.notNull())
      .addColumn('resource', 'text', (column) => column.notNull())
      .addColumn('operation', 'text', (column) => column.notNull())
      .addColumn('result', 'text', (column) => column.notNull())
      .addColumn('project_id', 'integer')
      .addColumn('detail', 'text')
      .execute();
    await db.schema.createIndex('audit_logs_op_time').on('audit_logs').column('op_time').execute();
    await db.schema
      .createIndex('audit_logs_project')
      .on('audit_logs')
      .columns(['project_id', 'op_time'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of [
      'audit_logs',
      'signing_keys',
      'configurations',
      'robot_permissions',
      'robots',
      'project_members',
      'project_metadata',
      'projects',
      'user_group_members',
      'user_groups',
      'users',
    ]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
