import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type Digest, digestOf } from '../../src/oci/digest.ts';
import { blobStoreConformance } from '../../src/storage/conformance.ts';
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/storage/s3/s3-blob-store.ts';
import { createS3Client } from '../../src/storage/s3/s3-client.ts';
import { S3Layout } from '../../src/storage/s3/s3-layout.ts';
import { createTestBucket, type S3Endpoint, testS3 } from '../helpers/s3.ts';

const s3 = await testS3();
const skip = typeof s3 === 'string' ? s3 : false;
const endpoint = s3 as S3Endpoint;
const mib = 1024 * 1024;

const clients: S3Client[] = [];
after(() => {
  for (const client of clients) client.destroy();
});

function client(secretAccessKey = endpoint.secretAccessKey): S3Client {
  const created = createS3Client({ ...endpoint, secretAccessKey, forcePathStyle: true });
  clients.push(created);
  return created;
}

let bucket: Promise<string> | undefined;
/** Where each store made here keeps its objects, to look at them with a client of the test's own. */
const placement = new WeakMap<S3BlobStore, { bucket: string; prefix: string }>();

async function storeWith(options: Partial<S3BlobStoreOptions> = {}): Promise<S3BlobStore> {
  bucket ??= createTestBucket(endpoint, 'store');
  const where = { bucket: await bucket, prefix: `t-${randomUUID()}` };
  const store = new S3BlobStore({ client: client(), ...where, ...options });
  placement.set(store, where);
  return store;
}

function placed(store: S3BlobStore): { bucket: string; prefix: string } {
  return placement.get(store)!;
}

async function headBlob(store: S3BlobStore, digest: Digest) {
  const { bucket, prefix } = placed(store);
  return client().send(new HeadObjectCommand({ Bucket: bucket, Key: new S3Layout(prefix).blobKey(digest) }));
}

async function* pieces(bytes: Buffer, size: number): AsyncIterable<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function sha256Of(stream: AsyncIterable<unknown>): Promise<{ hex: string; length: number }> {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    length += (chunk as Buffer).length;
  }
  return { hex: hash.digest('hex'), length };
}

if (!skip) blobStoreConformance('s3 (Ceph RGW)', () => storeWith());

describe('S3 blob store on Ceph RGW', { skip }, () => {
  it('assembles a 100 MiB chunked upload as a multipart object, readable whole and by range', async () => {
    const store = await storeWith();
    const bytes = randomBytes(100 * mib);
    const digest = digestOf(bytes);
    const id = randomUUID();
    const hash = createHash('sha256');
    // Registry chunks of 7 MiB arrive as network-sized pieces; parts are 8 MiB: nothing aligns.
    const chunk = 7 * mib;
    let size = 0;
    const pushStarted = performance.now();
    for (let at = 0; at < bytes.length; at += chunk) {
      size = await store.append(id, at, pieces(bytes.subarray(at, at + chunk), 64 * 1024), (piece) =>
        hash.update(piece),
      );
    }
    assert.equal(size, bytes.length);
    assert.equal(`sha256:${hash.digest('hex')}`, digest);
    assert.equal(await store.stat(digest), undefined, 'nothing at the final key before commit');
    const appendSeconds = (performance.now() - pushStarted) / 1000;
    // What a node that did not receive the chunks does before the last one: hash the stored bytes.
    const rehashStarted = performance.now();
    const rehashed = await sha256Of(
      new S3BlobStore({ client: client(), ...placed(store) }).readUpload(id, size),
    );
    const rehashSeconds = (performance.now() - rehashStarted) / 1000;
    assert.equal(`sha256:${rehashed.hex}`, digest);
    const commitStarted = performance.now();
    await store.commit(id, digest, size);
    const commitSeconds = (performance.now() - commitStarted) / 1000;
    const pushSeconds = appendSeconds + commitSeconds;

    const head = await headBlob(store, digest);
    assert.equal(head.ContentLength, bytes.length);
    assert.match(head.ETag ?? '', /-13"$/, 'assembled from 13 parts of 8 MiB');
    assert.equal(await store.uploadSize(id), undefined);

    const pullStarted = performance.now();
    const whole = await sha256Of(await store.read(digest));
    const pullSeconds = (performance.now() - pullStarted) / 1000;
    assert.deepEqual(whole, { hex: digest.slice(7), length: bytes.length });
    // A range across the boundary of parts 2 and 3.
    const range = { start: 16 * mib - 1000, end: 16 * mib + 999 };
    const chunks: Buffer[] = [];
    for await (const piece of await store.read(digest, range)) chunks.push(piece as Buffer);
    assert.deepEqual(Buffer.concat(chunks), bytes.subarray(range.start, range.end + 1));
    const rate = (seconds: number) => `${(100 / seconds).toFixed(0)} MiB/s`;
    process.stderr.write(
      `S3 store, 100 MiB in 7 MiB chunks: appends ${rate(appendSeconds)}, commit (server-side copy) ` +
        `${commitSeconds.toFixed(2)} s, push overall ${rate(pushSeconds)}; rehash from the store ` +
        `${rate(rehashSeconds)}; read ${rate(pullSeconds)}\n`,
    );
  });

  it('lets another instance continue, read back and cut an upload, across part boundaries', async () => {
    const first = await storeWith();
    const bytes = randomBytes(20 * mib);
    const id = randomUUID();
    assert.equal(await first.append(id, 0, pieces(bytes.subarray(0, 12 * mib), mib)), 12 * mib);
    // Another node: same bucket and prefix, nothing in memory.
    const second = new S3BlobStore({ client: client(), ...placed(first) });
    assert.equal(await second.uploadSize(id), 12 * mib);
    const readBack = await sha256Of(second.readUpload(id, 12 * mib));
    assert.equal(
      readBack.hex,
      createHash('sha256')
        .update(bytes.subarray(0, 12 * mib))
        .digest('hex'),
    );
    // An append that was stored but never acknowledged (offset 12 MiB) is cut back to 6 MiB,
    // inside the first part, and the upload goes on from there.
    assert.equal(await second.append(id, 6 * mib, pieces(bytes.subarray(6 * mib), mib)), 20 * mib);
    const digest = digestOf(bytes);
    await second.commit(id, digest, 20 * mib);
    assert.equal((await sha256Of(await first.read(digest))).hex, digest.slice(7));
  });

  it('hands out presigned GET URLs that plain fetch can read, whole and by range', async () => {
    const store = await storeWith({ presignedExpirySeconds: 60 });
    const bytes = randomBytes(3 * mib);
    const digest = digestOf(bytes);
    await store.put(digest, bytes);
    const url = await store.presignedUrl(digest);
    assert.ok(url?.includes('X-Amz-Signature='));
    const whole = await fetch(url!);
    assert.equal(whole.status, 200);
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), bytes);
    const ranged = await fetch(url!, { headers: { range: 'bytes=10-19' } });
    assert.equal(ranged.status, 206);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), bytes.subarray(10, 20));
    const tampered = await fetch(url!.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000'));
    assert.equal(tampered.status, 403);
    assert.equal(await (await storeWith()).presignedUrl(digest), undefined, 'off unless configured');
  });

  it('lists blobs and uploads across pages', async () => {
    const store = await storeWith({ listPageSize: 2 });
    const contents = Array.from({ length: 5 }, (_, index) => Buffer.from(`blob ${index}`));
    for (const bytes of contents) await store.put(digestOf(bytes), bytes);
    const listed = [];
    for await (const blob of store.list()) listed.push(blob.digest);
    assert.deepEqual(listed.sort(), contents.map((bytes) => digestOf(bytes)).sort());
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) await store.append(id, 0, pieces(randomBytes(6 * mib), mib));
    const uploads = [];
    for await (const upload of store.listUploads()) uploads.push(upload);
    assert.deepEqual(uploads.map((upload) => upload.id).sort(), ids.sort());
    for (const upload of uploads) assert.equal(upload.size, 6 * mib);
  });

  it('encrypts server-side with aws:kms when configured', async () => {
    const store = await storeWith({ encryption: { type: 'aws:kms', keyId: 'berth-test-key' } });
    const bytes = randomBytes(12 * mib);
    const id = randomUUID();
    await store.append(id, 0, pieces(bytes, mib));
    const digest = digestOf(bytes);
    await store.commit(id, digest, bytes.length);
    const head = await headBlob(store, digest);
    assert.equal(head.ServerSideEncryption, 'aws:kms');
    assert.equal((await sha256Of(await store.read(digest))).hex, digest.slice(7));
  });

  it('refuses objects the server did not encrypt as configured (Ceph Pacific ignores AES256)', async () => {
    const store = await storeWith({ encryption: { type: 'AES256' } });
    const bytes = randomBytes(1024);
    const digest = digestOf(bytes);
    try {
      await store.put(digest, bytes);
    } catch (error) {
      assert.match((error as Error).message, /without AES256 encryption/);
      assert.equal(await store.stat(digest), undefined, 'the unencrypted object is gone');
      return;
    }
    assert.equal((await headBlob(store, digest)).ServerSideEncryption, 'AES256');
  });

  it('rejects a wrong secret with SignatureDoesNotMatch', async () => {
    const good = await storeWith();
    const wrong = new S3BlobStore({
      client: client(`${endpoint.secretAccessKey.slice(0, -4)}0000`),
      bucket: placed(good).bucket,
    });
    const bytes = Buffer.from('refused');
    await good.put(digestOf(bytes), bytes);
    await assert.rejects(wrong.read(digestOf(bytes)), { name: 'SignatureDoesNotMatch' });
    await assert.rejects(
      async () => {
        for await (const _ of wrong.list()) assert.fail('listed with a wrong secret');
      },
      { name: 'SignatureDoesNotMatch' },
    );
    // HEAD answers carry no error body: only the status tells.
    await assert.rejects(
      wrong.append(randomUUID(), 0, Readable.from([bytes])),
      (error: Error & { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode === 403,
    );
  });
});
