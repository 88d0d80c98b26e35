import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DoublestarPattern, PatternError } from '../../src/policy/doublestar.ts';
import {
  compileRules,
  type ImmutableRule,
  immutableRuleFor,
  ruleProblem,
} from '../../src/policy/immutable-match.ts';

/** [pattern, name, matches]: the semantics of bmatcuk/doublestar's Match, which Harbor calls. */
const cases: [string, string, boolean][] = [
  ['**', '', true],
  ['**', 'a', true],
  ['**', 'a/b/c', true],
  ['*', 'abc', true],
  ['*', 'a/b', false],
  ['*', '', true],
  ['a*', 'a', true],
  ['a*c', 'abbbc', true],
  ['a*c', 'ab/c', false],
  ['*/*', 'a/b', true],
  ['*/*', 'a/b/c', false],
  ['a/*', 'a/b/c', false],
  ['a/**', 'a/b', true],
  ['a/**', 'a/b/c', true],
  ['a/**', 'a', true],
  ['a/**', 'ab', false],
  ['a/**/c', 'a/c', true],
  ['a/**/c', 'a/b/c', true],
  ['a/**/c', 'a/b/x/c', true],
  ['a/**/c', 'a/b/x/d', false],
  ['**/c', 'c', true],
  ['**/c', 'a/b/c', true],
  ['**/c', 'a/bc', false],
  // `**` that does not fill a segment is a single star, as in bash.
  ['a**', 'abc', true],
  ['a**', 'a/b', false],
  ['a/**.txt', 'a/b.txt', true],
  ['a/**.txt', 'a/b/c.txt', false],
  ['release-**', 'release-1.10', true],
  ['release-**', 'rel-1.10', false],
  ['v?.?', 'v1.2', true],
  ['v?.?', 'v1.23', false],
  ['?', '/', false],
  ['[abc]', 'b', true],
  ['[abc]', 'd', false],
  ['[a-c]x', 'bx', true],
  ['[!a-c]x', 'bx', false],
  ['[^a-c]x', 'dx', true],
  ['[-a]', '-', true],
  ['[\\]]', ']', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'axb', false],
  ['{a,b}', 'a', true],
  ['{a,b}', 'b', true],
  ['{a,b}', 'c', false],
  ['{a,b}', 'ab', false],
  ['x{,y}', 'x', true],
  ['x{,y}', 'xy', true],
  ['{a,b{c,d}}e', 'bde', true],
  ['{a,b{c,d}}e', 'be', false],
  ['{library/*,tools/**}', 'library/alpine', true],
  ['{library/*,tools/**}', 'library/a/b', false],
  ['{library/*,tools/**}', 'tools/a/b', true],
  ['{image_priority_a,image_priority_b}', 'image_priority_b', true],
  ['{image_priority_a,image_priority_b}', 'image_priority_c', false],
  ['{v1.*,latest}', 'v1.2.3', true],
  ['{v1.*,latest}', 'v2.0', false],
  ['a,b', 'a,b', true],
  ['a}', 'a}', true],
];

describe('doublestar patterns', () => {
  for (const [pattern, name, expected] of cases) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(name)}`, () => {
      assert.equal(DoublestarPattern.compile(pattern).matches(name), expected);
    });
  }

  it('rejects malformed patterns, naming the problem', () => {
    for (const [pattern, reason] of [
      ['[', /character class/],
      ['[]', /empty or unclosed character class/],
      ['[!]', /empty or unclosed character class/],
      ['[abc', /unclosed character class/],
      ['{a,b', /unclosed \{/],
      ['a\\', /unfinished escape/],
    ] as const) {
      assert.throws(
        () => DoublestarPattern.compile(pattern),
        (error: Error) => error instanceof PatternError && reason.test(error.message),
        pattern,
      );
    }
  });

  it('refuses patterns whose alternatives multiply beyond the bound', () => {
    const pattern = '{a,b,c,d}'.repeat(8);
    assert.throws(() => DoublestarPattern.compile(pattern), /too many alternatives/);
  });

  it('stays fast on patterns that make backtracking matchers explode', () => {
    const pattern = DoublestarPattern.compile(`${'*a'.repeat(60)}b`);
    const started = performance.now();
    assert.equal(pattern.matches('a'.repeat(128)), false);
    assert.ok(performance.now() - started < 500, 'matching took too long');
  });
});

function rule(
  id: number,
  repository: [decoration: string, pattern: string],
  tag: [decoration: string, pattern: string],
  disabled = false,
): ImmutableRule {
  return {
    id,
    project_id: 1,
    disabled,
    priority: 0,
    action: 'immutable',
    template: 'immutable_template',
    tag_selectors: [{ kind: 'doublestar', decoration: tag[0], pattern: tag[1] }],
    scope_selectors: {
      repository: [{ kind: 'doublestar', decoration: repository[0], pattern: repository[1] }],
    },
  };
}

describe('immutable tag rules', () => {
  it("matches a repository (without the project's name) and a tag", () => {
    const rules = compileRules([rule(1, ['repoMatches', '**'], ['matches', 'release-**'])]);
    assert.equal(immutableRuleFor(rules, 'photon', 'release-1.10')?.id, 1);
    assert.equal(immutableRuleFor(rules, 'team/photon', 'release-1.10')?.id, 1);
    assert.equal(immutableRuleFor(rules, 'photon', 'latest'), undefined);
  });

  it('excluding selectors select what their pattern does not match', () => {
    const rules = compileRules([rule(7, ['repoExcludes', '{a,b}'], ['excludes', 'dev-*'])]);
    assert.equal(immutableRuleFor(rules, 'c', 'v1'), rules[0]!.rule);
    assert.equal(immutableRuleFor(rules, 'a', 'v1'), undefined);
    assert.equal(immutableRuleFor(rules, 'c', 'dev-1'), undefined);
  });

  it('any enabled rule is enough; disabled rules are ignored', () => {
    const rules = compileRules([
      rule(1, ['repoMatches', 'app'], ['matches', 'v*'], true),
      rule(2, ['repoMatches', 'app'], ['matches', 'stable']),
    ]);
    assert.equal(immutableRuleFor(rules, 'app', 'v1'), undefined);
    assert.equal(immutableRuleFor(rules, 'app', 'stable')?.id, 2);
  });

  it("uses each rule's first selector only, as Harbor does", () => {
    const both = rule(3, ['repoMatches', '**'], ['matches', '**']);
    both.tag_selectors.push({ kind: 'doublestar', decoration: 'excludes', pattern: 'scan-*' });
    assert.equal(immutableRuleFor(compileRules([both]), 'x', 'scan-1')?.id, 3);
  });

  it('an empty pattern selects everything, like Harbor selectors', () => {
    assert.equal(
      immutableRuleFor(compileRules([rule(4, ['repoMatches', ''], ['matches', ''])]), 'a/b', 'x')?.id,
      4,
    );
  });

  it('explains what is wrong with a rule', () => {
    assert.equal(ruleProblem(rule(1, ['repoMatches', '**'], ['matches', '**'])), undefined);
    assert.match(ruleProblem(rule(1, ['matches', '**'], ['matches', '**']))!, /decoration "matches"/);
    assert.match(ruleProblem(rule(1, ['repoMatches', '**'], ['repoMatches', '**']))!, /decoration/);
    assert.match(ruleProblem(rule(1, ['repoMatches', '[x'], ['matches', '**']))!, /character class/);
    const label = rule(1, ['repoMatches', '**'], ['matches', '**']);
    label.tag_selectors[0]!.kind = 'label';
    assert.match(ruleProblem(label)!, /only doublestar/);
    assert.match(ruleProblem({ tag_selectors: [], scope_selectors: {} })!, /tag selector/);
  });
});
