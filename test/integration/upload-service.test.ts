import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { Clock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { digestOf, parseDigest } from '../../src/oci/digest.ts';
import type { RegistryError } from '../../src/oci/errors.ts';
import { UploadRangeError, UploadService } from '../../src/registry/upload-service.ts';
import { FilesystemBlobStore } from '../../src/storage/filesystem/filesystem-blob-store.ts';
import { makeTempDir } from '../helpers/berth.ts';
import { openTestDatabase } from '../helpers/test-database.ts';

const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers) await close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function setup(maxOpenUploads?: number) {
  const dir = await makeTempDir('berth-uploads-');
  dirs.push(dir);
  const { db, close } = await openTestDatabase(dir);
  closers.push(close);
  const store = new FilesystemBlobStore(join(dir, 'storage'));
  await store.init();
  const clock = {
    time: 1_000_000,
    now() {
      return this.time;
    },
  } satisfies Clock & { time: number };
  const uploads = new UploadService({ db, store, clock, log: createLogger('silent'), maxOpenUploads });
  return { dir, db, store, clock, uploads, uploadPath: (id: string) => join(dir, 'storage', 'uploads', id) };
}

const body = (...parts: Buffer[]) => Readable.from(parts);

describe('upload service', () => {
  it('purges idle uploads but never one being written', async () => {
    const { uploads, clock, store } = await setup();
    const idle = await uploads.start('r');
    await uploads.append('r', idle.id, body(Buffer.from('abandoned')));
    const busy = await uploads.start('r');
    clock.time += 10_000;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* slow() {
      yield Buffer.from('still ');
      await gate;
      yield Buffer.from('coming');
    }
    const writing = uploads.append('r', busy.id, slow());
    assert.equal(await uploads.purgeIdle(clock.time), 1);
    release();
    assert.equal((await writing).size, 12);
    await assert.rejects(
      uploads.status('r', idle.id),
      (error: RegistryError) => error.code === 'BLOB_UPLOAD_UNKNOWN',
    );
    assert.equal(await store.uploadSize(idle.id), undefined);
    const digest = parseDigest(digestOf(Buffer.from('still coming')));
    assert.equal(await uploads.complete('r', busy.id, digest), digest.digest);
  });

  it('finishes a commit that renamed the bytes but was interrupted before the database', async () => {
    const { uploads, store, db } = await setup();
    const bytes = randomBytes(1000);
    const digest = parseDigest(digestOf(bytes));
    const session = await uploads.start('r');
    await uploads.append('r', session.id, body(bytes));
    await store.commit(session.id, digest.digest, bytes.length);
    assert.equal(await uploads.complete('r', session.id, digest), digest.digest);
    assert.equal(Number((await db.blobs.findInRepository('r', digest.digest))?.size), 1000);
    await assert.rejects(
      uploads.status('r', session.id),
      (error: RegistryError) => error.code === 'BLOB_UPLOAD_UNKNOWN',
    );
  });

  it('reports an upload whose data vanished as unknown, not as a server error', async () => {
    const { uploads, uploadPath } = await setup();
    const session = await uploads.start('r');
    await uploads.append('r', session.id, body(Buffer.from('data')));
    await rm(uploadPath(session.id));
    await assert.rejects(
      uploads.complete('r', session.id, parseDigest(digestOf(Buffer.from('data')))),
      (error: RegistryError) => error.code === 'BLOB_UPLOAD_UNKNOWN',
    );
  });

  it('falls back to the data really stored when it is shorter than acknowledged', async () => {
    const { uploads, uploadPath } = await setup();
    const session = await uploads.start('r');
    await uploads.append('r', session.id, body(Buffer.from('0123456789')));
    await truncate(uploadPath(session.id), 4);
    await assert.rejects(
      uploads.append('r', session.id, body(Buffer.from('abc')), { start: 10, end: 12 }),
      (error: UploadRangeError) => error instanceof UploadRangeError && error.state.size === 4,
    );
    assert.equal((await uploads.status('r', session.id)).size, 4);
    await uploads.append('r', session.id, body(Buffer.from('456789')), { start: 4, end: 9 });
    const digest = parseDigest(digestOf(Buffer.from('0123456789')));
    assert.equal(await uploads.complete('r', session.id, digest), digest.digest);
  });

  it('bounds the uploads a repository may have open', async () => {
    const { uploads } = await setup(2);
    await uploads.start('r');
    await uploads.start('r');
    await assert.rejects(
      uploads.start('r'),
      (error: RegistryError) => error.code === 'TOOMANYREQUESTS' && error.status === 429,
    );
    await uploads.start('other');
  });
});
