import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, isValid } from '../../src/vuln/versions/apk.ts';

/** Checks each [a, b, expected order] both ways round. */
function checkOrder(compare: (a: string, b: string) => number, rows: [string, string, number][]): void {
  for (const [a, b, expected] of rows) {
    it(`${a} ${expected < 0 ? '<' : expected > 0 ? '>' : '=='} ${b}`, () => {
      assert.equal(Math.sign(compare(a, b)), expected);
      assert.equal(Math.sign(compare(b, a)), -expected || 0);
    });
  }
}

describe('apk version order (Alpine)', () => {
  checkOrder(compare, [
    ['1.2.3-r1', '1.2.3-r10', -1],
    ['1.2.3-r2', '1.2.3-r10', -1],
    ['1.2.3', '1.2.3-r0', -1],
    ['1.0_rc1', '1.0', -1],
    ['1.0', '1.0_p1', -1],
    ['1.0a', '1.0', 1],
    ['1.0a', '1.0b', -1],
    ['1.0_alpha1', '1.0_beta1', -1],
    ['1.0_beta1', '1.0_pre1', -1],
    ['1.0_pre1', '1.0_rc1', -1],
    ['1.0_rc1', '1.0_rc2', -1],
    ['1.0_cvs1', '1.0_svn1', -1],
    ['1.0_svn1', '1.0_git1', -1],
    ['1.0_git1', '1.0_hg1', -1],
    ['1.0_hg1', '1.0_p1', -1],
    ['1.0', '1.0_cvs', -1],
    ['1.0_p1', '1.0_p2', -1],
    ['1.0_p1-r1', '1.0_p1-r0', 1],
    ['1.0', '1.0.0', -1],
    ['1.0.1', '1.0a', 1],
    ['1.2.10', '1.2.9', 1],
    ['1.01', '1.1', -1],
    ['1.001', '1.01', -1],
    ['2.36.1-r0', '2.36.1-r0', 0],
    ['3.0.8-r0', '3.0.7-r1', 1],
    ['1.35.0-r29', '1.35.0-r5', 1],
    ['1.2.3_rc1-r1', '1.2.3-r0', -1],
    ['8.2.0015', '8.2.002', -1],
    ['1.0~abc123', '1.0~abc124', -1],
    ['1.0~abc123-r1', '1.0~abc123', 1],
    ['1.0_rc1~abc', '1.0_rc1', 1],
    ['1.0_beta', '1.0_beta1', -1],
  ]);

  // Rows of apk-tools' own test table (test/version.data in alpinelinux/apk-tools).
  checkOrder(compare, [
    ['0.1.0_alpha_pre2', '0.1.0_alpha', -1],
    ['1.0.0_pre20191002222144-r0', '1.0.0_pre20210530193627-r0', -1],
    ['6.0_pre1', '6.0', -1],
    ['6.0_p1', '6.0', 1],
    ['1.0_p10-r0', '1.0_p9-r0', 1],
    ['1.3_pre1-r1', '1.3.2', -1],
    ['2.5.1-r8', '2.5.1a-r1', -1],
    ['0.15.1b-r2', '0.15.1b', 1],
    ['2.12r-r4', '2.12r-r5', -1],
    ['1.06-r6', '006', -1],
    ['1.02.07', '1.02.10-r1', -1],
    ['1.2.07.8', '1.2.12.04', -1],
    ['0.9.28.1', '087-r1', -1],
    ['3.0.0-r2', '021109-r3', -1],
    ['20060720', '3.0.20060720', 1],
    ['0.7.18-r2', '0.17-r6', -1],
    ['0.20070118', '0.20070207_rc1', -1],
    ['2.9.11_pre20051101-r3', '2.9.11_pre20051101', 1],
    ['1.6.8_p12-r1', '1.6.8_p9-r2', 1],
    ['0.59s-r11', '0.65', -1],
    ['22.7.3-r1', '22.7', 1],
    ['1.07.5', '1.07', 1],
  ]);

  it('accepts apk-tools version syntax and rejects the rest', () => {
    for (const good of [
      '1',
      '1.2.3',
      '1.2.3a',
      '1.0_alpha',
      '1.0_rc1_p2',
      '1.0_p1-r5',
      '2.36.1-r0',
      '1.0~0a1f-r2',
      '1.0_rc',
    ])
      assert.equal(isValid(good), true, good);
    for (const bad of [
      '',
      'a1',
      '1.0-1',
      '1.0_foo',
      '1.0a.1',
      '1.0-r1.2',
      '1..2',
      '1.0A',
      '1.0a1',
      '1.0_',
      '1.0~',
      '1.0~xyz',
      '1.0-r',
    ])
      assert.equal(isValid(bad), false, bad);
  });
});
