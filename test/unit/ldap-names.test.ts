import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  and,
  attribute,
  equals,
  isUnder,
  normalizeDn,
  normalizeFilter,
  or,
} from '../../src/access/ldap-names.ts';

test('user input in a filter value is escaped, never filter syntax', () => {
  assert.equal(equals('uid', 'alice'), '(uid=alice)');
  assert.equal(equals('uid', '*'), '(uid=\\2a)');
  assert.equal(equals('uid', 'a)(uid=*'), '(uid=a\\29\\28uid=\\2a)');
  assert.equal(equals('uid', 'back\\slash\0'), '(uid=back\\5cslash\\00)');
});

test('attribute names from settings are checked', () => {
  assert.equal(attribute('sAMAccountName'), 'sAMAccountName');
  assert.equal(attribute('2.5.4.3'), '2.5.4.3');
  assert.throws(() => attribute('uid)(cn'));
  assert.throws(() => attribute(''));
});

test('configured filters are wrapped and combined like Harbor does', () => {
  assert.equal(normalizeFilter(' objectClass=person '), '(objectClass=person)');
  assert.equal(normalizeFilter('(objectClass=person)'), '(objectClass=person)');
  assert.equal(normalizeFilter(''), '');
  assert.equal(and('', '(uid=a)'), '(uid=a)');
  assert.equal(and('(a=1)', '(b=2)'), '(&(a=1)(b=2))');
  assert.equal(and(), '(objectClass=*)');
  assert.equal(or('(a=1)', '(b=2)'), '(|(a=1)(b=2))');
});

test('DNs compare without regard to case and spacing', () => {
  assert.equal(normalizeDn('CN=Devs, OU=Groups ,DC=Example'), 'cn=devs,ou=groups,dc=example');
  assert.equal(normalizeDn('cn=a\\,b,dc=x'), 'cn=a\\,b,dc=x');
  assert.equal(normalizeDn('cn=x+uid=y,dc=z'), normalizeDn('UID=y + CN=x,dc=z'));
  assert.ok(isUnder('ou=groups,dc=example', 'CN=devs, OU=Groups, DC=example'));
  assert.ok(isUnder('ou=groups,dc=example', 'ou=groups,dc=example'));
  assert.ok(!isUnder('ou=groups,dc=example', 'cn=devs,ou=other,dc=example'));
  assert.ok(!isUnder('ou=groups,dc=example', 'cn=x,ou=notgroups,dc=example'));
});
