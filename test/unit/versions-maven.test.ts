import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare } from '../../src/vuln/versions/maven.ts';

/** Checks each [a, b, expected order] both ways round. */
function checkOrder(compare: (a: string, b: string) => number, rows: [string, string, number][]): void {
  for (const [a, b, expected] of rows) {
    it(`${a} ${expected < 0 ? '<' : expected > 0 ? '>' : '=='} ${b}`, () => {
      assert.equal(Math.sign(compare(a, b)), expected);
      assert.equal(Math.sign(compare(b, a)), -expected || 0);
    });
  }
}

describe('Maven ComparableVersion order', () => {
  const chain = [
    '1.0-alpha',
    '1.0-alpha1',
    '1.0-beta',
    '1.0-milestone1',
    '1.0-rc1',
    '1.0-SNAPSHOT',
    '1.0',
    '1.0-sp1',
    '1.0.1',
  ];
  checkOrder(
    compare,
    chain.slice(1).map((next, i) => [chain[i] as string, next, -1]),
  );
  checkOrder(compare, [
    ['1.0', '1.0.0', 0],
    ['1.0', '1-ga', 0],
    ['1.0-final', '1.0', 0],
    ['1.0-release', '1', 0],
    ['1.0-cr1', '1.0-rc1', 0],
    ['1.0-a1', '1.0-alpha-1', 0],
    ['1.0-b2', '1.0-beta-2', 0],
    ['1.0-m3', '1.0-milestone-3', 0],
    ['1.0-ALPHA', '1.0-alpha', 0],
    ['1.0-alpha-10', '1.0-alpha-2', 1],
    ['1.0.10', '1.0.9', 1],
    ['1.0-sp', '1.0-xyz', -1],
    ['1.0-abc', '1.0-xyz', -1],
    ['1.0-xyz', '1.0.1', -1],
    ['1', '1.1', -1],
    ['1-1', '1.1', -1],
    ['2.0.0.RELEASE', '2.0.0', 0],
    ['3.5.0', '3.4.1', 1],
    ['1.2.0', '3.5.0', -1],
    ['2.17.0', '2.15.0', 1],
    ['2.14.1', '2.15.0', -1],
  ]);

  it('accepts any non-empty string, as Maven does', () => {
    assert.equal(Math.sign(compare('latest', 'latest')), 0);
  });
});
