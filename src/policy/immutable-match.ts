import { DoublestarPattern, PatternError } from './doublestar.ts';

/** One selector of a rule, as Harbor's API writes it. */
export interface ImmutableSelector {
  kind: string;
  decoration: string;
  pattern: string;
  extras?: string;
}

/** Harbor's immutable tag rule (`ImmutableRule`), as stored and listed. */
export interface ImmutableRule {
  id: number;
  project_id: number;
  disabled: boolean;
  priority: number;
  action: string;
  template: string;
  params?: Record<string, unknown>;
  tag_selectors: ImmutableSelector[];
  scope_selectors: Record<string, ImmutableSelector[]>;
}

const tagDecorations = new Set(['matches', 'excludes']);
const repositoryDecorations = new Set(['repoMatches', 'repoExcludes']);

/** A selector ready to test: excluding selectors select what their pattern does not match. */
interface CompiledSelector {
  pattern: DoublestarPattern;
  excludes: boolean;
}

export interface CompiledRule {
  rule: ImmutableRule;
  repository: CompiledSelector;
  tag: CompiledSelector;
}

/** Why a rule cannot be stored, for a 400; undefined when it is valid. */
export function ruleProblem(
  rule: Pick<ImmutableRule, 'tag_selectors' | 'scope_selectors'>,
): string | undefined {
  const tag = rule.tag_selectors[0];
  const repository = rule.scope_selectors.repository?.[0];
  if (!tag) return 'the rule needs a tag selector (tag_selectors)';
  if (!repository) return 'the rule needs a repository selector (scope_selectors.repository)';
  for (const [selector, decorations] of [
    [tag, tagDecorations],
    [repository, repositoryDecorations],
  ] as const) {
    if (selector.kind !== 'doublestar')
      return `unsupported selector kind ${JSON.stringify(selector.kind.slice(0, 50))}; only doublestar`;
    if (!decorations.has(selector.decoration))
      return `unsupported decoration ${JSON.stringify(selector.decoration.slice(0, 50))}; expected one of ${[...decorations].join(', ')}`;
    try {
      DoublestarPattern.compile(selector.pattern);
    } catch (error) {
      if (error instanceof PatternError) return error.message;
      throw error;
    }
  }
  return undefined;
}

function compileSelector(selector: ImmutableSelector): CompiledSelector {
  return {
    pattern: DoublestarPattern.compile(selector.pattern),
    excludes: selector.decoration === 'excludes' || selector.decoration === 'repoExcludes',
  };
}

/**
 * The enabled rules, compiled. As in Harbor, a rule uses its first repository selector and its
 * first tag selector; a rule without either (or with a pattern that no longer compiles) never
 * matches.
 */
export function compileRules(rules: readonly ImmutableRule[]): CompiledRule[] {
  const compiled: CompiledRule[] = [];
  for (const rule of rules) {
    if (rule.disabled || ruleProblem(rule) !== undefined) continue;
    compiled.push({
      rule,
      repository: compileSelector(rule.scope_selectors.repository![0]!),
      tag: compileSelector(rule.tag_selectors[0]!),
    });
  }
  return compiled;
}

function selects(selector: CompiledSelector, value: string): boolean {
  // Harbor's selector treats an empty pattern as matching everything.
  const matched = selector.pattern.source === '' || selector.pattern.matches(value);
  return matched !== selector.excludes;
}

/**
 * The first enabled rule that makes `tag` immutable in `repository` (the path inside the
 * project, without the project's name, as Harbor matches it), or undefined.
 */
export function immutableRuleFor(
  rules: readonly CompiledRule[],
  repository: string,
  tag: string,
): ImmutableRule | undefined {
  return rules.find((rule) => selects(rule.repository, repository) && selects(rule.tag, tag))?.rule;
}
