import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, isValid } from '../../src/vuln/versions/nuget.ts';

/** Checks each [a, b, expected order] both ways round. */
function checkOrder(compare: (a: string, b: string) => number, rows: [string, string, number][]): void {
  for (const [a, b, expected] of rows) {
    it(`${a} ${expected < 0 ? '<' : expected > 0 ? '>' : '=='} ${b}`, () => {
      assert.equal(Math.sign(compare(a, b)), expected);
      assert.equal(Math.sign(compare(b, a)), -expected || 0);
    });
  }
}

describe('NuGet version order', () => {
  checkOrder(compare, [
    ['1.0', '1.0.0.0', 0],
    ['1.0.0.1', '1.0.0', 1],
    ['1.0.0-Beta', '1.0.0-beta', 0],
    ['1.0.0-alpha', '1.0.0', -1],
    ['1.0.0-alpha.2', '1.0.0-alpha.10', -1],
    ['1.0.0+meta', '1.0.0', 0],
    ['3.5.0', '3.4.1', 1],
  ]);

  it('validates', () => {
    assert.equal(isValid('1.2.3.4-rc.1+abc'), true);
    assert.equal(isValid('1.2.3.4.5'), false);
  });
});
