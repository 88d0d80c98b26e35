import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RegistryError } from '../../src/oci/errors.ts';
import { assertRepositoryName, isRepositoryName, isTag, parseReference } from '../../src/oci/reference.ts';

describe('repository names', () => {
  it('accepts the spec grammar, multi-level included', () => {
    for (const name of [
      'a',
      'library/alpine',
      'a/b/c/d',
      'my-org/my_repo',
      'x__y',
      'a.b-c--d/e',
      '0',
      'foo/blobs/manifests',
    ]) {
      assert.ok(isRepositoryName(name), name);
    }
  });

  it('rejects uppercase, leading or trailing separators, empty components and traversal', () => {
    for (const name of [
      '',
      'A',
      'a//b',
      '/a',
      'a/',
      '-a',
      'a-',
      'a..b',
      '../a',
      'a/../b',
      'a/./b',
      'a___b',
      'a b',
      'a\\b',
      '.',
      'a%2fb',
    ]) {
      assert.ok(!isRepositoryName(name), name);
    }
  });

  it('bounds the length at 255', () => {
    assert.ok(isRepositoryName('a'.repeat(255)));
    assert.ok(!isRepositoryName('a'.repeat(256)));
  });

  it('reports NAME_INVALID', () => {
    assert.throws(
      () => assertRepositoryName('Bad'),
      (error: RegistryError) => error.code === 'NAME_INVALID',
    );
  });

  it('does not backtrack catastrophically on long near-misses', () => {
    const started = process.hrtime.bigint();
    isRepositoryName(`${'a-'.repeat(120)}!`);
    assert.ok(process.hrtime.bigint() - started < 50_000_000n);
  });
});

describe('tags and references', () => {
  it('accepts tags of up to 128 characters', () => {
    assert.ok(isTag('latest'));
    assert.ok(isTag('_v1.2-rc.3'));
    assert.ok(isTag('A'.repeat(128)));
    assert.ok(!isTag('A'.repeat(129)));
    assert.ok(!isTag('.hidden'));
    assert.ok(!isTag('-dash'));
    assert.ok(!isTag('a/b'));
  });

  it('parses tags and digests, and rejects a colon that is not a digest', () => {
    assert.deepEqual(parseReference('v1'), { kind: 'tag', tag: 'v1' });
    assert.equal(parseReference(`sha256:${'b'.repeat(64)}`).kind, 'digest');
    assert.throws(
      () => parseReference('sha256:nope'),
      (error: RegistryError) => error.code === 'DIGEST_INVALID',
    );
    assert.throws(
      () => parseReference('.bad'),
      (error: RegistryError) => error.code === 'TAG_INVALID',
    );
  });
});
