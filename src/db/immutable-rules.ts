import { createHash } from 'node:crypto';
import type { Generated, Kysely, Selectable } from 'kysely';
import type { Flag, Schema } from './schema.ts';

/** Harbor's immutable tag rules (see migration 0013-immutable-tag-rules). */
export interface ImmutableTagRuleTable {
  id: Generated<number>;
  project_id: number;
  /** JSON: priority, action, template, params, tag_selectors, scope_selectors. */
  definition: string;
  /** Hex SHA-256 of `definition`: what the uniqueness constraint compares. */
  definition_sha256: string;
  disabled: Flag;
  created_at: number;
  updated_at: number;
}

export type ImmutableTagRuleRow = Selectable<ImmutableTagRuleTable>;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `immutable_tag_rules`: each project's rules, in the order they were made. */
export class ImmutableRuleQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async listForProject(projectId: number): Promise<ImmutableTagRuleRow[]> {
    return this.db
      .selectFrom('immutable_tag_rules')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('id')
      .execute();
  }

  async find(projectId: number, id: number): Promise<ImmutableTagRuleRow | undefined> {
    return this.db
      .selectFrom('immutable_tag_rules')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async count(projectId: number): Promise<number> {
    const row = await this.db
      .selectFrom('immutable_tag_rules')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** The new rule's id, or undefined when the project already has a rule with this definition. */
  async insert(row: {
    project_id: number;
    definition: string;
    disabled: Flag;
    now: number;
  }): Promise<number | undefined> {
    const inserted = await this.db
      .insertInto('immutable_tag_rules')
      .values({
        project_id: row.project_id,
        definition: row.definition,
        definition_sha256: sha256(row.definition),
        disabled: row.disabled,
        created_at: row.now,
        updated_at: row.now,
      })
      .onConflict((conflict) => conflict.columns(['project_id', 'definition_sha256']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted ? Number(inserted.id) : undefined;
  }

  /** False when another rule of the project already has this definition. */
  async update(
    projectId: number,
    id: number,
    change: { definition: string; disabled: Flag; now: number },
  ): Promise<boolean> {
    const clash = await this.db
      .selectFrom('immutable_tag_rules')
      .select('id')
      .where('project_id', '=', projectId)
      .where('definition_sha256', '=', sha256(change.definition))
      .where('id', '!=', id)
      .executeTakeFirst();
    if (clash) return false;
    await this.db
      .updateTable('immutable_tag_rules')
      .set({
        definition: change.definition,
        definition_sha256: sha256(change.definition),
        disabled: change.disabled,
        updated_at: change.now,
      })
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .execute();
    return true;
  }

  async delete(projectId: number, id: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('immutable_tag_rules')
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
