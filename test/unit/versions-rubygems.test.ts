import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, isPrerelease, isValid } from '../../src/vuln/versions/rubygems.ts';

/** Checks each [a, b, expected order] both ways round. */
function checkOrder(compare: (a: string, b: string) => number, rows: [string, string, number][]): void {
  for (const [a, b, expected] of rows) {
    it(`${a} ${expected < 0 ? '<' : expected > 0 ? '>' : '=='} ${b}`, () => {
      assert.equal(Math.sign(compare(a, b)), expected);
      assert.equal(Math.sign(compare(b, a)), -expected || 0);
    });
  }
}

describe('RubyGems Gem::Version order', () => {
  checkOrder(compare, [
    ['1.0.a', '1.0', -1],
    ['1.0.a', '1.0.b', -1],
    ['1.0.a10', '1.0.a9', 1],
    ['1.0.0', '1', 0],
    ['1.0', '1.0.0.1', -1],
    ['1.0.rc1', '1.0', -1],
    ['1.0.rc1', '1.0.rc1.1', -1],
    ['1.0-1', '1.0.pre.1', 0],
    ['1.0-1', '1.0', -1],
    ['1.8.2.a', '1.8.2', -1],
    ['1.8.2.a', '1.8.1', 1],
    ['0.9', '1.0.a', -1],
    ['4.4.0', '4.3.5', 1],
    ['2.9.2', '10.0', -1],
    ['1.0.b1', '1.0.a.2', 1],
  ]);

  it('calls any version with a letter a pre-release', () => {
    assert.equal(isPrerelease('1.0.a'), true);
    assert.equal(isPrerelease('1.0'), false);
    assert.equal(isValid('1.0.a'), true);
    assert.equal(isValid('junk'), false);
  });
});
