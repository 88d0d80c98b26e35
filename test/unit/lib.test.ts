import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { KeyedMutex } from '../../src/lib/keyed-mutex.ts';
import { LruCache } from '../../src/lib/lru-cache.ts';
import { BodyTooLargeError, readAll } from '../../src/lib/streams.ts';

describe('LruCache', () => {
  it('evicts the least recently used entries past its weight', () => {
    const cache = new LruCache<string, string>(10, (value) => value.length);
    cache.set('a', 'aaaa');
    cache.set('b', 'bbbb');
    assert.equal(cache.get('a'), 'aaaa');
    cache.set('c', 'cccc');
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 'aaaa');
    assert.equal(cache.get('c'), 'cccc');
    cache.set('huge', 'x'.repeat(11));
    assert.equal(cache.get('huge'), undefined);
    cache.delete('a');
    assert.equal(cache.size, 1);
  });
});

describe('KeyedMutex', () => {
  it('runs work for one key one at a time, other keys freely', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const slow = (label: string, ms: number) => async () => {
      log.push(`start ${label}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push(`end ${label}`);
      return label;
    };
    const results = await Promise.all([
      mutex.run('k', slow('a', 20)),
      mutex.run('k', slow('b', 1)),
      mutex.run('other', slow('c', 1)),
    ]);
    assert.deepEqual(results, ['a', 'b', 'c']);
    assert.ok(log.indexOf('end a') < log.indexOf('start b'));
    assert.ok(log.indexOf('start c') < log.indexOf('end a'));
  });

  it('releases the key when work fails', async () => {
    const mutex = new KeyedMutex();
    await assert.rejects(mutex.run('k', async () => Promise.reject(new Error('boom'))));
    assert.equal(await mutex.run('k', async () => 'next'), 'next');
  });
});

describe('readAll', () => {
  it('concatenates and enforces its limit', async () => {
    assert.equal(
      (await readAll(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 4)).toString(),
      'abcd',
    );
    await assert.rejects(
      readAll(Readable.from([Buffer.from('abc'), Buffer.from('de')]), 4),
      BodyTooLargeError,
    );
  });
});
