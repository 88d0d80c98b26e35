import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseContentRange, parseRangeHeader } from '../../src/lib/http-range.ts';
import { AcceptList } from '../../src/oci/content-negotiation.ts';

describe('Range header', () => {
  const size = 2048;
  it('reads explicit, open-ended and suffix ranges and clamps the end', () => {
    assert.deepEqual(parseRangeHeader('bytes=500-1499', size), {
      kind: 'satisfiable',
      range: { start: 500, end: 1499 },
    });
    assert.deepEqual(parseRangeHeader('bytes=500-', size), {
      kind: 'satisfiable',
      range: { start: 500, end: 2047 },
    });
    assert.deepEqual(parseRangeHeader('bytes=-500', size), {
      kind: 'satisfiable',
      range: { start: 1548, end: 2047 },
    });
    assert.deepEqual(parseRangeHeader('bytes=2000-5000', size), {
      kind: 'satisfiable',
      range: { start: 2000, end: 2047 },
    });
    assert.deepEqual(parseRangeHeader('bytes=-5000', size), {
      kind: 'satisfiable',
      range: { start: 0, end: 2047 },
    });
  });

  it('refuses ranges past the end or backwards', () => {
    assert.equal(parseRangeHeader('bytes=5000-10000', size).kind, 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=500-0', size).kind, 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=-0', size).kind, 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=0-', 0).kind, 'unsatisfiable');
  });

  it('ignores what it does not implement', () => {
    assert.equal(parseRangeHeader(undefined, size).kind, 'none');
    assert.equal(parseRangeHeader('bytes=0-1,5-6', size).kind, 'none');
    assert.equal(parseRangeHeader('items=0-1', size).kind, 'none');
    assert.equal(parseRangeHeader('bytes=-', size).kind, 'none');
  });
});

describe('Content-Range of upload chunks', () => {
  it('reads the spec form and the RFC form', () => {
    assert.deepEqual(parseContentRange('0-99'), { start: 0, end: 99 });
    assert.deepEqual(parseContentRange('bytes 100-199/*'), { start: 100, end: 199 });
    assert.deepEqual(parseContentRange('bytes=5-5/1000'), { start: 5, end: 5 });
    assert.equal(parseContentRange(undefined), undefined);
  });

  it('marks malformed values', () => {
    for (const bad of ['', 'abc', '10-5', '-5', '5-', '1-2-3', '99999999999999999999-99999999999999999999']) {
      assert.equal(parseContentRange(bad), null, bad);
    }
  });
});

describe('Accept negotiation', () => {
  it('accepts everything without a header or with wildcards', () => {
    assert.ok(new AcceptList(undefined).accepts('application/vnd.oci.image.index.v1+json'));
    assert.ok(new AcceptList('*/*').accepts('x/y'));
    assert.ok(new AcceptList('application/*').accepts('application/vnd.oci.image.index.v1+json'));
    assert.ok(!new AcceptList('text/*').accepts('application/json'));
  });

  it('matches listed types across several headers, ignoring parameters but honouring q=0', () => {
    const accept = new AcceptList([
      'application/vnd.oci.image.manifest.v1+json; q=0.9, application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.oci.image.index.v1+json;q=0',
    ]);
    assert.ok(accept.accepts('application/vnd.oci.image.manifest.v1+json'));
    assert.ok(accept.accepts('application/vnd.docker.distribution.manifest.v2+json'));
    assert.ok(!accept.accepts('application/vnd.oci.image.index.v1+json'));
  });
});
