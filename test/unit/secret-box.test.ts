import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SecretBox } from '../../src/access/secret-box.ts';

test('seals and opens; a fresh nonce every time', () => {
  const box = new SecretBox(randomBytes(32));
  const a = box.seal('Search-Ldap-Pass-1');
  const b = box.seal('Search-Ldap-Pass-1');
  assert.notEqual(a, b);
  assert.ok(!a.includes('Search-Ldap-Pass-1'));
  assert.equal(box.open(a), 'Search-Ldap-Pass-1');
});

test('refuses tampered values, truncated tags and another key', () => {
  const key = randomBytes(32);
  const box = new SecretBox(key);
  const [iv, tag, sealed] = box.seal('secret').slice('enc:v1:'.length).split(':') as [string, string, string];
  const shortTag = Buffer.from(tag, 'base64').subarray(0, 4).toString('base64');
  assert.throws(() => box.open(`enc:v1:${iv}:${shortTag}:${sealed}`), /malformed/);
  const flipped = Buffer.from(sealed, 'base64');
  flipped[0] = flipped[0]! ^ 1;
  assert.throws(() => box.open(`enc:v1:${iv}:${tag}:${flipped.toString('base64')}`));
  assert.throws(() => new SecretBox(randomBytes(32)).open(`enc:v1:${iv}:${tag}:${sealed}`));
  assert.throws(() => box.open('plain'), /not a sealed secret/);
});
