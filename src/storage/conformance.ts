import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { digestOf } from '../oci/digest.ts';
import {
  BlobNotFoundError,
  type BlobStore,
  UploadNotFoundError,
  type UploadOffsetError,
} from './blob-store.ts';

async function collect(stream: AsyncIterable<Buffer> | Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function chunks(...parts: Buffer[]): AsyncIterable<Buffer> {
  return Readable.from(parts);
}

async function* failingAfter(first: Buffer): AsyncIterable<Buffer> {
  yield first;
  throw new Error('connection reset');
}

/**
 * The behaviour every BlobStore driver must have. A driver's test file calls this with a
 * factory for a fresh, empty store.
 */
export function blobStoreConformance(driver: string, create: () => Promise<BlobStore>): void {
  describe(`${driver} blob store conformance`, () => {
    it('stores small content by digest and reads it back, whole and by range', async () => {
      const store = await create();
      const bytes = Buffer.from('hello, registry');
      const digest = digestOf(bytes);
      assert.equal(await store.stat(digest), undefined);
      await store.put(digest, bytes);
      await store.put(digest, bytes);
      assert.deepEqual(await store.stat(digest), { size: bytes.length });
      assert.deepEqual(await collect(await store.read(digest)), bytes);
      assert.equal((await collect(await store.read(digest, { start: 7, end: 14 }))).toString(), 'registry');
    });

    it('reports absent blobs as BlobNotFoundError and deletes idempotently', async () => {
      const store = await create();
      const digest = digestOf(Buffer.from('absent'));
      await assert.rejects(store.read(digest), BlobNotFoundError);
      await store.put(digest, Buffer.from('absent'));
      await store.delete(digest);
      await store.delete(digest);
      assert.equal(await store.stat(digest), undefined);
    });

    it('appends chunks, observes every byte in order, and commits atomically under the digest', async () => {
      const store = await create();
      const id = randomUUID();
      const first = randomBytes(100_000);
      const second = randomBytes(50_000);
      const seen: Buffer[] = [];
      assert.equal(await store.append(id, 0, chunks(first), (chunk) => seen.push(chunk)), first.length);
      assert.equal(
        await store.append(id, first.length, chunks(second), (chunk) => seen.push(chunk)),
        150_000,
      );
      assert.deepEqual(Buffer.concat(seen), Buffer.concat([first, second]));
      assert.equal(await store.uploadSize(id), 150_000);
      assert.deepEqual(await collect(store.readUpload(id, 150_000)), Buffer.concat([first, second]));

      const digest = digestOf(Buffer.concat([first, second]));
      assert.equal(await store.stat(digest), undefined, 'nothing is visible before commit');
      await store.commit(id, digest, 150_000);
      assert.deepEqual(await store.stat(digest), { size: 150_000 });
      assert.equal(await store.uploadSize(id), undefined, 'the upload is gone after commit');
      assert.deepEqual(await collect(await store.read(digest)), Buffer.concat([first, second]));
    });

    it('discards bytes past the acknowledged offset left by an interrupted write', async () => {
      const store = await create();
      const id = randomUUID();
      await store.append(id, 0, chunks(Buffer.from('good')));
      await assert.rejects(store.append(id, 4, failingAfter(Buffer.from('partial'))), /connection reset/);
      assert.equal(await store.append(id, 4, chunks(Buffer.from('-rest'))), 9);
      assert.equal((await collect(store.readUpload(id, 9))).toString(), 'good-rest');
      const digest = digestOf(Buffer.from('good-rest'));
      await store.commit(id, digest, 9);
      assert.equal((await collect(await store.read(digest))).toString(), 'good-rest');
    });

    it('refuses gaps and unknown uploads', async () => {
      const store = await create();
      const id = randomUUID();
      await assert.rejects(store.append(id, 10, chunks(Buffer.from('x'))), UploadNotFoundError);
      await store.append(id, 0, chunks(Buffer.from('abc')));
      await assert.rejects(
        store.append(id, 10, chunks(Buffer.from('x'))),
        (error: UploadOffsetError) => error.size === 3,
      );
      await assert.rejects(store.commit(randomUUID(), digestOf(Buffer.from('x')), 1), UploadNotFoundError);
    });

    it('commits empty uploads, written or never written, and removes abandoned ones', async () => {
      const store = await create();
      const empty = randomUUID();
      await store.append(empty, 0, chunks());
      const digest = digestOf(Buffer.alloc(0));
      await store.commit(empty, digest, 0);
      assert.deepEqual(await store.stat(digest), { size: 0 });
      await store.commit(randomUUID(), digest, 0);
      assert.deepEqual(await store.stat(digest), { size: 0 });

      const abandoned = randomUUID();
      await store.append(abandoned, 0, chunks(Buffer.from('data')));
      const listed = [];
      for await (const upload of store.listUploads()) listed.push(upload.id);
      assert.ok(listed.includes(abandoned));
      await store.removeUpload(abandoned);
      await store.removeUpload(abandoned);
      assert.equal(await store.uploadSize(abandoned), undefined);
    });

    it('lists committed blobs for garbage collection', async () => {
      const store = await create();
      const contents = ['one', 'two', 'three'].map((text) => Buffer.from(text));
      for (const bytes of contents) await store.put(digestOf(bytes), bytes);
      const sha512 = Buffer.from('four');
      await store.put(digestOf(sha512, 'sha512'), sha512);
      const listed = new Map<string, number>();
      for await (const blob of store.list()) listed.set(blob.digest, blob.size);
      for (const bytes of contents) assert.equal(listed.get(digestOf(bytes)), bytes.length);
      assert.equal(listed.get(digestOf(sha512, 'sha512')), 4);
    });

    it('keeps concurrent commits of the same content consistent', async () => {
      const store = await create();
      const bytes = randomBytes(64 * 1024);
      const digest = digestOf(bytes);
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          const id = randomUUID();
          await store.append(id, 0, chunks(bytes));
          await store.commit(id, digest, bytes.length);
        }),
      );
      assert.deepEqual(await collect(await store.read(digest)), bytes);
    });
  });
}
