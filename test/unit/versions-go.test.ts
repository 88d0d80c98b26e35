import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, isPseudoVersion, isValid } from '../../src/vuln/versions/go.ts';

/** Checks each [a, b, expected order] both ways round. */
function checkOrder(compare: (a: string, b: string) => number, rows: [string, string, number][]): void {
  for (const [a, b, expected] of rows) {
    it(`${a} ${expected < 0 ? '<' : expected > 0 ? '>' : '=='} ${b}`, () => {
      assert.equal(Math.sign(compare(a, b)), expected);
      assert.equal(Math.sign(compare(b, a)), -expected || 0);
    });
  }
}

describe('Go module version order', () => {
  checkOrder(compare, [
    ['v0.0.0-20191109021931-daa7c04131f5', 'v0.1.0', -1],
    ['v0.0.0-20191109021931-daa7c04131f5', 'v0.0.0-20200101000000-0123456789ab', -1],
    ['v1.2.3', 'v1.2.4-0.20191109021931-daa7c04131f5', -1],
    ['v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.4', -1],
    ['v1.2.4-pre', 'v1.2.4-pre.0.20191109021931-daa7c04131f5', -1],
    ['v2.0.0+incompatible', 'v2.0.0', 0],
    ['v2.0.1+incompatible', 'v2.0.0', 1],
    ['v1', 'v1.0.0', 0],
    ['v1.2', 'v1.2.0', 0],
    ['1.2.3', 'v1.2.3', 0],
    ['v1.10.0', 'v1.9.9', 1],
    ['v0.17.0', 'v0.0.0-20210220032951-036812b2e83c', 1],
  ]);

  it('recognizes versions and pseudo-versions', () => {
    assert.equal(isValid('v1.2.3-rc.1'), true);
    assert.equal(isValid('v1.2.3.4'), false);
    assert.equal(isValid('vx'), false);
    assert.equal(isPseudoVersion('v0.0.0-20191109021931-daa7c04131f5'), true);
    assert.equal(isPseudoVersion('v1.2.4-0.20191109021931-daa7c04131f5'), true);
    assert.equal(isPseudoVersion('v1.2.4-rc.1'), false);
  });
});
