import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, isValid, normalize } from '../../src/vuln/versions/pep440.ts';

/** Checks each [a, b, expected order] both ways round. */
function checkOrder(compare: (a: string, b: string) => number, rows: [string, string, number][]): void {
  for (const [a, b, expected] of rows) {
    it(`${a} ${expected < 0 ? '<' : expected > 0 ? '>' : '=='} ${b}`, () => {
      assert.equal(Math.sign(compare(a, b)), expected);
      assert.equal(Math.sign(compare(b, a)), -expected || 0);
    });
  }
}

describe('PEP 440 version order (PyPI)', () => {
  // The ordering example of PEP 440's "Summary of permitted suffixes and relative ordering".
  const chain = [
    '1.dev0',
    '1.0.dev456',
    '1.0a1',
    '1.0a2.dev456',
    '1.0a12.dev456',
    '1.0a12',
    '1.0b1.dev456',
    '1.0b2',
    '1.0b2.post345.dev456',
    '1.0b2.post345',
    '1.0rc1.dev456',
    '1.0rc1',
    '1.0',
    '1.0+abc.5',
    '1.0+abc.7',
    '1.0+5',
    '1.0.post456.dev34',
    '1.0.post456',
    '1.0.15',
    '1.1.dev1',
  ];
  checkOrder(
    compare,
    chain.slice(1).map((next, i) => [chain[i] as string, next, -1]),
  );
  checkOrder(compare, [
    ['1.0.dev0', '1.0a1', -1],
    ['1.0', '1.0.post1', -1],
    ['1!0.1', '2.0', 1],
    ['1.0RC1', '1.0rc1', 0],
    ['1.0c1', '1.0rc1', 0],
    ['1.0-alpha-1', '1.0a1', 0],
    ['1.0.post0', '1.0', 1],
    ['1.0-1', '1.0.post1', 0],
    ['1.0', '1.0.0', 0],
    ['v1.0', '1.0', 0],
    ['1.0.0', '1.0+local', -1],
    ['1.0+ubuntu-1', '1.0+ubuntu.1', 0],
    ['2.0b1', '2.0.dev1', 1],
  ]);

  it('normalizes to the canonical spelling', () => {
    assert.equal(normalize('1.0RC1'), '1.0rc1');
    assert.equal(normalize('1.0-1'), '1.0.post1');
    assert.equal(normalize('v1.0.Preview-2.DEV'), '1.0rc2.dev0');
    assert.equal(normalize('01!01.02.post'), '1!1.2.post0');
    assert.equal(normalize('1.0+Ubuntu_1'), '1.0+ubuntu.1');
  });

  it('rejects what PEP 440 does not allow', () => {
    for (const bad of ['', 'one', '1.0+', '1.0.foo', '1.0-', '1.0a1b2'])
      assert.equal(isValid(bad), false, bad);
  });
});
