import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, compareLoose, isValid, isValidLoose, parseLoose } from '../../src/vuln/versions/semver.ts';

/** Checks each [a, b, expected order] both ways round. */
function checkOrder(compare: (a: string, b: string) => number, rows: [string, string, number][]): void {
  for (const [a, b, expected] of rows) {
    it(`${a} ${expected < 0 ? '<' : expected > 0 ? '>' : '=='} ${b}`, () => {
      assert.equal(Math.sign(compare(a, b)), expected);
      assert.equal(Math.sign(compare(b, a)), -expected || 0);
    });
  }
}

describe('SemVer 2.0.0 precedence (npm, crates.io)', () => {
  // semver.org §11's example chain, then the rest of the rules.
  const chain = [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
  ];
  checkOrder(
    compare,
    chain.slice(1).map((next, i) => [chain[i] as string, next, -1]),
  );
  checkOrder(compare, [
    ['1.0.0', '2.0.0', -1],
    ['2.0.0', '2.1.0', -1],
    ['2.1.0', '2.1.1', -1],
    ['1.10.0', '1.9.0', 1],
    ['1.0.0+build.1', '1.0.0+build.2', 0],
    ['1.0.0-alpha+001', '1.0.0-alpha', 0],
    ['1.0.0-1', '1.0.0-a', -1],
    ['1.0.0-beta.9', '1.0.0-beta.10', -1],
    ['1.0.0-Beta', '1.0.0-beta', -1],
    ['3.0.0-beta.1', '3.0.0-beta.9', -1],
    ['5.0.0-alpha.8', '5.0.0-beta.1', -1],
    ['99999999999999999999.0.0', '99999999999999999998.0.0', 1],
  ]);

  it('validates strictly: no v, no missing parts, no leading zeros', () => {
    for (const good of ['0.0.0', '1.2.3-rc.1+meta', '1.0.0-0A.is.legal'])
      assert.equal(isValid(good), true, good);
    for (const bad of ['v1.2.3', '1.2', '01.2.3', '1.2.3-01', '1.2.3-', '1.2.3.4'])
      assert.equal(isValid(bad), false, bad);
  });
});

describe("SemVer over npm's loose forms", () => {
  checkOrder(compareLoose, [
    ['1.0', '1.0.0', 0],
    ['v1.2.3', '1.2.3', 0],
    ['=1.2.3', '1.2.3', 0],
    ['1', '1.0.0', 0],
    ['1.0', '1.0.1', -1],
    ['1.2.3beta', '1.2.3', -1],
  ]);

  it('reads v-prefixed and shortened versions', () => {
    assert.deepEqual(parseLoose('v1.2'), { release: ['1', '2', '0'], prerelease: [] });
    assert.equal(isValidLoose('1.0'), true);
    assert.equal(isValidLoose('not a version'), false);
  });
});
