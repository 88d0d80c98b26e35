import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf } from '../../src/oci/digest.ts';
import { S3Layout } from '../../src/storage/s3/s3-layout.ts';

describe('S3 object keys', () => {
  const digest = digestOf(Buffer.from('layout'));
  const hex = digest.slice('sha256:'.length);

  it('puts content at blobs/<algorithm>/<two hex>/<hex> under the prefix, and reads digests back', () => {
    for (const prefix of ['team/berth', 'team/berth/']) {
      const layout = new S3Layout(prefix);
      const key = layout.blobKey(digest);
      assert.equal(key, `team/berth/blobs/sha256/${hex.slice(0, 2)}/${hex}`);
      assert.equal(layout.digestOfKey(key), digest);
    }
    assert.equal(new S3Layout('').blobKey(digest), `blobs/sha256/${hex.slice(0, 2)}/${hex}`);
  });

  it('ignores keys that are not well-formed blobs', () => {
    const layout = new S3Layout('p');
    assert.equal(layout.digestOfKey(`p/blobs/sha256/zz/${hex}`), undefined);
    assert.equal(layout.digestOfKey(`p/blobs/sha256/${hex.slice(0, 2)}/${hex}.tmp`), undefined);
    assert.equal(layout.digestOfKey(`p/blobs/md5/${hex.slice(0, 2)}/${hex}`), undefined);
    assert.equal(layout.digestOfKey(`q/blobs/sha256/${hex.slice(0, 2)}/${hex}`), undefined);
  });

  it('keeps each upload under its own prefix and refuses ids that could name other keys', () => {
    const layout = new S3Layout('p');
    assert.equal(layout.partKey('abc-1', 3), 'p/uploads/abc-1/part-000003');
    assert.equal(layout.tailKey('abc-1'), 'p/uploads/abc-1/tail');
    assert.equal(layout.uploadIdOfKey('p/uploads/abc-1/tail'), 'abc-1');
    for (const id of ['../x', 'a/b', '', 'a'.repeat(65)])
      assert.throws(() => layout.tailKey(id), /not an upload id/);
    assert.throws(() => layout.blobKey('sha256:../../x' as never), /not a digest/);
  });
});
