import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, isPolicyCompliant, isValid, parse } from '../../src/vuln/versions/dpkg.ts';

/** Checks each [a, b, expected order] both ways round. */
function checkOrder(compare: (a: string, b: string) => number, rows: [string, string, number][]): void {
  for (const [a, b, expected] of rows) {
    it(`${a} ${expected < 0 ? '<' : expected > 0 ? '>' : '=='} ${b}`, () => {
      assert.equal(Math.sign(compare(a, b)), expected);
      assert.equal(Math.sign(compare(b, a)), -expected || 0);
    });
  }
}

describe('dpkg version order (Debian, Ubuntu)', () => {
  checkOrder(compare, [
    ['1:0.9', '2.0', 1],
    ['1.0~rc1', '1.0', -1],
    ['1.0-1', '1.0-1ubuntu1', -1],
    ['2.30-1~deb10u1', '2.30-1', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0~', '1.0', -1],
    ['1.0', '1.0a', -1],
    ['1.0a', '1.0+', -1],
    ['1.0+', '1.0.1', -1],
    ['1.0', '1.0-0', 0],
    ['0:1.0', '1.0', 0],
    ['1.001', '1.1', 0],
    ['1.10', '1.9', 1],
    ['1.2.3', '1.2.3.0', -1],
    ['1.0-1', '1.0-2', -1],
    ['1.0-10', '1.0-9', 1],
    ['2.0~beta1', '2.0~beta2', -1],
    ['1.2.1-2.2+wheezy3', '1.2.1-2.2+wheezy2', 1],
    ['1.2.1-2.2', '1.2.1-2.2+wheezy3', -1],
    ['7.88.1-10+deb12u5', '7.88.1-10+deb12u12', -1],
    ['2:1.0', '1:9.9', 1],
    ['1.0-1ubuntu0.1', '1.0-1ubuntu1', -1],
    ['1.18.0-6ubuntu14.4', '1.18.0-6ubuntu14.10', -1],
    ['9.99999999999999999999', '9.99999999999999999998', 1],
    ['a1.0', '1.0', 1],
    ['1.0_1', '1.0', 1],
  ]);

  it('parses epoch, upstream version and revision (the last hyphen starts the revision)', () => {
    assert.deepEqual(parse('1:2.30-1~deb10u1'), { epoch: 1, upstream: '2.30', revision: '1~deb10u1' });
    assert.deepEqual(parse('1.2-3-4'), { epoch: 0, upstream: '1.2-3', revision: '4' });
    assert.deepEqual(parse('3.1'), { epoch: 0, upstream: '3.1', revision: '' });
  });

  it('refuses what dpkg refuses, and tells policy violations apart', () => {
    for (const bad of ['', '1.0-', 'x:1.0', ':1.0', '1.0 1']) assert.equal(isValid(bad), false, bad);
    for (const good of ['0', '1:1.0-1', '1.0+dfsg-1~bpo1']) assert.equal(isPolicyCompliant(good), true, good);
    // dpkg only warns about these, and compares them.
    for (const odd of ['a1.0', '1.0_1']) {
      assert.equal(isValid(odd), true, odd);
      assert.equal(isPolicyCompliant(odd), false, odd);
    }
  });
});
