import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf, parseDigest, tryParseDigest } from '../../src/oci/digest.ts';
import type { RegistryError } from '../../src/oci/errors.ts';

const sha256Hex = 'a'.repeat(64);

describe('digest parsing', () => {
  it('accepts sha256 and sha512 with lowercase hex of the right length', () => {
    assert.deepEqual(tryParseDigest(`sha256:${sha256Hex}`), {
      digest: `sha256:${sha256Hex}`,
      algorithm: 'sha256',
      hex: sha256Hex,
    });
    assert.equal(tryParseDigest(`sha512:${'0'.repeat(128)}`)?.algorithm, 'sha512');
  });

  it('rejects wrong lengths, uppercase, unknown algorithms and path tricks', () => {
    for (const bad of [
      'sha256:abc',
      `sha256:${'A'.repeat(64)}`,
      `sha256:${sha256Hex}0`,
      `sha384:${'0'.repeat(96)}`,
      `md5:${'0'.repeat(32)}`,
      `sha256:../../${'a'.repeat(58)}`,
      `sha256/${sha256Hex}`,
      '',
      ':',
      `:${sha256Hex}`,
    ]) {
      assert.equal(tryParseDigest(bad), undefined, bad);
    }
  });

  it('throws DIGEST_INVALID naming the problem', () => {
    assert.throws(
      () => parseDigest('sha256:xyz'),
      (error: RegistryError) => error.code === 'DIGEST_INVALID' && error.status === 400,
    );
    assert.throws(() => parseDigest('sha384:abc'), /unsupported digest algorithm/);
    assert.throws(() => parseDigest('not a digest'), /malformed digest/);
  });

  it('computes digests of bytes', () => {
    assert.equal(
      digestOf(Buffer.from('')),
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    assert.equal(
      digestOf(Buffer.from('{}')),
      'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    );
    assert.match(digestOf(Buffer.from('x'), 'sha512'), /^sha512:[a-f0-9]{128}$/);
  });
});
