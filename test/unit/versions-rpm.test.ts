import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, parse, rpmvercmp } from '../../src/vuln/versions/rpm.ts';

/** Checks each [a, b, expected order] both ways round. */
function checkOrder(compare: (a: string, b: string) => number, rows: [string, string, number][]): void {
  for (const [a, b, expected] of rows) {
    it(`${a} ${expected < 0 ? '<' : expected > 0 ? '>' : '=='} ${b}`, () => {
      assert.equal(Math.sign(compare(a, b)), expected);
      assert.equal(Math.sign(compare(b, a)), -expected || 0);
    });
  }
}

// The version field cases are rpm's own test table (tests/rpmvercmp.at in rpm ≥ 4.15).
describe('rpmvercmp', () => {
  checkOrder(rpmvercmp, [
    ['1.0', '1.0', 0],
    ['1.0', '2.0', -1],
    ['2.0.1', '2.0', 1],
    ['2.0.1a', '2.0.1', 1],
    ['5.5p1', '5.5p2', -1],
    ['5.5p1', '5.5p10', -1],
    ['10xyz', '10.1xyz', -1],
    ['xyz10', 'xyz10.1', -1],
    ['xyz.4', '8', -1],
    ['xyz.4', '2', -1],
    ['5.5p2', '5.6p1', -1],
    ['5.6p1', '6.5p1', -1],
    ['6.0.rc1', '6.0', 1],
    ['10b2', '10a1', 1],
    ['1.0a', '1.0aa', -1],
    ['10.0001', '10.1', 0],
    ['10.0001', '10.0039', -1],
    ['4.999.9', '5.0', -1],
    ['20101121', '20101122', -1],
    ['2_0', '2.0', 0],
    ['a+', 'a_', 0],
    ['+a', '_a', 0],
    ['_+', '_', 0],
    ['1.0a', '1.0.a', 0],
    ['1.0~rc1', '1.0', -1],
    ['1.0~rc1', '1.0~rc2', -1],
    ['1.0~rc1~git123', '1.0~rc1', -1],
    ['1.0^', '1.0', 1],
    ['1.0^git1', '1.0', 1],
    ['1.0^git1', '1.0^git2', -1],
    ['1.0^git1', '1.01', -1],
    ['1.0^20160101', '1.0.1', -1],
    ['1.0^20160101^git1', '1.0^20160101', 1],
    ['1.0~rc1^git1', '1.0~rc1', 1],
    ['1.0^git1~pre', '1.0^git1', -1],
  ]);
});

describe('rpm epoch:version-release order (RHEL, Rocky, Alma, Amazon, SUSE)', () => {
  checkOrder(compare, [
    ['1:1.0', '2.0', 1],
    ['0:1.0-1', '1.0-1', 0],
    ['1.0-1.el8', '1.0-2.el8', -1],
    ['2.28-225.el9_4', '2.28-225.el9', 1],
    ['3.0.7-16.el9_2', '3.0.7-24.el9', -1],
    ['1.1.1k-7.el8_6', '1.1.1k-12.el8_9', -1],
    ['4.14.3-26.el9', '4.16.1-19.el9', -1],
    ['1.0', '1.0-5', 0],
    ['1.0-1~beta', '1.0-1', -1],
  ]);

  it('parses epoch, version and release', () => {
    assert.deepEqual(parse('2:4.16.1-19.el9'), { epoch: 2, version: '4.16.1', release: '19.el9' });
    assert.deepEqual(parse('1.0'), { epoch: 0, version: '1.0', release: undefined });
  });
});
