import type { ProjectRef } from '../access/project-directory.ts';
import { projectOf } from '../access/registry-access.ts';
import type { Database } from '../db/database.ts';
import type { ImmutableTagRuleRow } from '../db/immutable-rules.ts';
import type { Clock } from '../lib/clock.ts';
import { RegistryError } from '../oci/errors.ts';
import { cosignTagSubject } from '../registry/accessories.ts';
import type { TagGuard } from '../registry/manifest-service.ts';
import {
  type CompiledRule,
  compileRules,
  type ImmutableRule,
  type ImmutableSelector,
  immutableRuleFor,
  ruleProblem,
} from './immutable-match.ts';

/** Harbor's limit on the immutable tag rules of one project. */
export const maxRulesPerProject = 15;

/** A rule as a client sends it: everything but its id and project. */
export type ImmutableRuleInput = Omit<
  ImmutableRule,
  'id' | 'project_id' | 'priority' | 'action' | 'template'
> &
  Partial<Pick<ImmutableRule, 'priority' | 'action' | 'template'>>;

export interface TagImmutabilityOptions {
  db: Database;
  /** Projects by name (cached): the push path already asked it, so this costs no query. */
  projects: { byName(name: string): Promise<ProjectRef | undefined> };
  clock: Clock;
  /** How long another node's rule changes may take to show here. */
  ttlMs?: number;
}

function selectorJson(selector: ImmutableSelector): ImmutableSelector {
  const json: ImmutableSelector = {
    kind: selector.kind,
    decoration: selector.decoration,
    pattern: selector.pattern,
  };
  if (selector.extras !== undefined) json.extras = selector.extras;
  return json;
}

/** The stored form of a rule: fixed key order, so equal rules are equal text (Harbor's uniqueness). */
function definitionOf(input: ImmutableRuleInput): string {
  return JSON.stringify({
    priority: input.priority ?? 0,
    action: input.action ?? 'immutable',
    template: input.template ?? 'immutable_template',
    params: input.params ?? {},
    tag_selectors: input.tag_selectors.map(selectorJson),
    scope_selectors: Object.fromEntries(
      Object.entries(input.scope_selectors).map(([scope, selectors]) => [scope, selectors.map(selectorJson)]),
    ),
  });
}

function ruleOf(row: ImmutableTagRuleRow): ImmutableRule {
  const definition = JSON.parse(row.definition) as Omit<ImmutableRule, 'id' | 'project_id' | 'disabled'>;
  return {
    id: Number(row.id),
    project_id: Number(row.project_id),
    disabled: row.disabled === 1,
    ...definition,
  };
}

function checkRule(input: ImmutableRuleInput): void {
  if (input.action !== undefined && input.action !== 'immutable')
    throw new RegistryError('BAD_REQUEST', `unsupported action ${JSON.stringify(input.action.slice(0, 50))}`);
  const problem = ruleProblem(input);
  if (problem) throw new RegistryError('BAD_REQUEST', problem);
}

/**
 * Harbor's tag immutability: each project's rules, and the check that a matching tag is never
 * moved or deleted once it exists. Compiled rules are cached per project (the check sits on the
 * push path); local changes invalidate at once, another node's show within `ttlMs`.
 */
export class TagImmutability implements TagGuard {
  private readonly db: Database;
  private readonly projects: TagImmutabilityOptions['projects'];
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly cache = new Map<number, { rules: CompiledRule[]; until: number }>();
  private readonly changeListeners: ((projectId: number) => void)[] = [];

  constructor(options: TagImmutabilityOptions) {
    this.db = options.db;
    this.projects = options.projects;
    this.clock = options.clock;
    this.ttlMs = options.ttlMs ?? 2000;
  }

  async list(project: ProjectRef): Promise<ImmutableRule[]> {
    return (await this.db.immutableRules.listForProject(project.id)).map(ruleOf);
  }

  /** Told after a project's rules changed here, so other nodes drop their copy. */
  onChange(listener: (projectId: number) => void): void {
    this.changeListeners.push(listener);
  }

  /** Drops the cached rules of one project (changed elsewhere), or of all. */
  forget(projectId?: number): void {
    if (projectId === undefined) this.cache.clear();
    else this.cache.delete(projectId);
  }

  private changed(projectId: number): void {
    this.cache.delete(projectId);
    for (const listener of this.changeListeners) listener(projectId);
  }

  async create(project: ProjectRef, input: ImmutableRuleInput): Promise<number> {
    checkRule(input);
    const id = await this.db.transaction(async (db) => {
      if ((await db.immutableRules.count(project.id)) >= maxRulesPerProject) {
        throw new RegistryError(
          'BAD_REQUEST',
          `project ${project.name} already has ${maxRulesPerProject} immutable tag rules, the most it may have`,
        );
      }
      return db.immutableRules.insert({
        project_id: project.id,
        definition: definitionOf(input),
        disabled: input.disabled ? 1 : 0,
        now: this.clock.now(),
      });
    });
    if (id === undefined) throw new RegistryError('CONFLICT', 'immutable rule already exists');
    this.changed(project.id);
    return id;
  }

  async update(project: ProjectRef, id: number, input: ImmutableRuleInput): Promise<void> {
    checkRule(input);
    if (!(await this.db.immutableRules.find(project.id, id))) throw this.notFound(id);
    const updated = await this.db.immutableRules.update(project.id, id, {
      definition: definitionOf(input),
      disabled: input.disabled ? 1 : 0,
      now: this.clock.now(),
    });
    if (!updated) throw new RegistryError('CONFLICT', 'immutable rule already exists');
    this.changed(project.id);
  }

  async delete(project: ProjectRef, id: number): Promise<void> {
    if (!(await this.db.immutableRules.delete(project.id, id))) throw this.notFound(id);
    this.changed(project.id);
  }

  /**
   * The enabled rule that protects `tag` of `repository` (a full name, `project/path`), or
   * undefined. Cosign's `sha256-<hex>.sig` style tags are never protected: Harbor keeps those
   * signatures as accessories, not tags, so its rules never see them.
   */
  async ruleFor(repository: string, tag: string): Promise<ImmutableRule | undefined> {
    const projectName = projectOf(repository);
    if (projectName === undefined || cosignTagSubject(tag)) return undefined;
    const project = await this.projects.byName(projectName);
    if (!project) return undefined;
    const rules = await this.rulesOf(project.id);
    if (rules.length === 0) return undefined;
    return immutableRuleFor(rules, repository.slice(projectName.length + 1), tag);
  }

  /** The registry's refusal (Harbor's message and 412, with the spec's DENIED code). */
  async lockOf(repository: string, tag: string): Promise<RegistryError | undefined> {
    const rule = await this.ruleFor(repository, tag);
    if (!rule) return undefined;
    const path = repository.slice(repository.indexOf('/') + 1);
    return new RegistryError(
      'DENIED',
      `Failed to process request due to '${path}:${tag}' configured as immutable (immutable tag rule ${rule.id}).`,
      { status: 412, detail: { repository, tag, immutable_rule_id: rule.id } },
    );
  }

  /** The management API's refusal to delete: Harbor's PRECONDITION, naming the first protected tag. */
  async assertDeletable(repository: string, tags: readonly string[]): Promise<void> {
    for (const tag of tags) {
      const rule = await this.ruleFor(repository, tag);
      if (rule) {
        throw new RegistryError(
          'PRECONDITION',
          `the tag ${tag} configured as immutable, cannot be deleted (immutable tag rule ${rule.id})`,
        );
      }
    }
  }

  private async rulesOf(projectId: number): Promise<CompiledRule[]> {
    const now = this.clock.now();
    const cached = this.cache.get(projectId);
    if (cached && cached.until > now) return cached.rules;
    const rules = compileRules((await this.db.immutableRules.listForProject(projectId)).map(ruleOf));
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(projectId, { rules, until: now + this.ttlMs });
    return rules;
  }

  private notFound(id: number): RegistryError {
    return new RegistryError('NOT_FOUND', `immutable rule ${id} not found`);
  }
}
