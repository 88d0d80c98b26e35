import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, versionCompare } from '../../src/vuln/versions/composer.ts';

/** Checks each [a, b, expected order] both ways round. */
function checkOrder(compare: (a: string, b: string) => number, rows: [string, string, number][]): void {
  for (const [a, b, expected] of rows) {
    it(`${a} ${expected < 0 ? '<' : expected > 0 ? '>' : '=='} ${b}`, () => {
      assert.equal(Math.sign(compare(a, b)), expected);
      assert.equal(Math.sign(compare(b, a)), -expected || 0);
    });
  }
}

// PHP's documented version_compare examples and its special-form order dev < alpha < beta < RC < # < pl.
describe('PHP version_compare', () => {
  checkOrder(versionCompare, [
    ['5.2', '5.2.0', -1],
    ['5.3.0-dev', '5.3.0', -1],
    ['1.0-dev', '1.0alpha', -1],
    ['1.0alpha', '1.0a1', -1],
    ['1.0alpha1', '1.0a1', 0],
    ['1.0a1', '1.0b1', -1],
    ['1.0b1', '1.0RC1', -1],
    ['1.0RC1', '1.0rc1', 0],
    ['1.0rc1', '1.0', -1],
    ['1.0', '1.0pl1', -1],
    ['1.0pl1', '1.0p1', 0],
    ['1.0-foo', '1.0-dev', -1],
    ['1.0.0', '1.0.0.1', -1],
    ['1.10', '1.9', 1],
  ]);
});

describe('Composer version order (Packagist)', () => {
  checkOrder(compare, [
    ['1.0', '1.0.0', 0],
    ['v1.0.0', '1.0.0.0', 0],
    ['1.0.0-beta1', '1.0.0', -1],
    ['1.0.0-RC2', '1.0.0-RC10', -1],
    ['2.4.1', '2.10.0', -1],
    ['1.0.0-p1', '1.0.0', 1],
  ]);

  it('rejects branch names', () => {
    assert.throws(() => compare('dev-main', '1.0'));
  });
});
