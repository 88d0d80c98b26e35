import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { appendChunks } from '../../src/storage/filesystem/file-appender.ts';
import { FileRangeStream } from '../../src/storage/filesystem/file-range-stream.ts';
import { makeTempDir } from '../helpers/berth.ts';

let dir: string;
const content = randomBytes(5 * 1024 * 1024 + 12345);
before(async () => {
  dir = await makeTempDir('berth-streams-');
  await writeFile(join(dir, 'content'), content);
});
after(() => rm(dir, { recursive: true, force: true }));

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('FileRangeStream', () => {
  it('streams whole files and ranges in order, with reads ahead', async () => {
    for (const [start, end, chunkBytes] of [
      [0, content.length - 1, 1024 * 1024],
      [100, 2_000_000, 65_536],
      [content.length - 1, content.length - 1, 1024],
      [7, 7 + 3 * 4096 - 1, 4096],
    ] as const) {
      const stream = new FileRangeStream(await open(join(dir, 'content'), 'r'), {
        start,
        end,
        chunkBytes,
        readAhead: 4,
      });
      assert.deepEqual(await collect(stream), content.subarray(start, end + 1));
    }
  });

  it('ends at once for an empty range', async () => {
    const stream = new FileRangeStream(await open(join(dir, 'content'), 'r'), { start: 0, end: -1 });
    assert.equal((await collect(stream)).length, 0);
  });

  it('fails, rather than hangs, when the file is shorter than the range', async () => {
    const stream = new FileRangeStream(await open(join(dir, 'content'), 'r'), {
      start: 0,
      end: content.length + 10,
    });
    await assert.rejects(collect(stream), /file ended at/);
  });

  it('closes its file when the consumer stops early', async () => {
    const handle = await open(join(dir, 'content'), 'r');
    const stream = new FileRangeStream(handle, { start: 0, end: content.length - 1, chunkBytes: 65_536 });
    for await (const _ of stream) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await assert.rejects(handle.stat(), /EBADF|closed/);
  });
});

describe('appendChunks', () => {
  it('writes every chunk at its position in batches and reports the end', async () => {
    const path = join(dir, 'appended');
    const handle = await open(path, 'w');
    const seen: Buffer[] = [];
    const parts = Array.from({ length: 100 }, (_, i) => content.subarray(i * 40_000, (i + 1) * 40_000));
    const end = await appendChunks(handle, 0, Readable.from(parts), {
      observe: (c) => seen.push(c),
      batchBytes: 100_000,
      maxInFlight: 2,
    });
    await handle.close();
    assert.equal(end, 4_000_000);
    assert.deepEqual(await readFile(path), content.subarray(0, 4_000_000));
    assert.deepEqual(Buffer.concat(seen), content.subarray(0, 4_000_000));
  });

  it('lets every write land before reporting a failed source', async () => {
    const path = join(dir, 'interrupted');
    const handle = await open(path, 'w');
    async function* failing() {
      yield content.subarray(0, 3_000_000);
      throw new Error('client went away');
    }
    await assert.rejects(appendChunks(handle, 0, failing(), { batchBytes: 1_000_000 }), /client went away/);
    await handle.close();
    assert.deepEqual(await readFile(path), content.subarray(0, 3_000_000));
  });
});
