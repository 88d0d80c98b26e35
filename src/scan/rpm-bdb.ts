import type { StoredHeader } from './rpm-sqlite.ts';

/**
 * The values of a Berkeley DB hash database, as rpm ≤ 4.15 keeps `/var/lib/rpm/Packages` (RHEL 8
 * and older, Amazon Linux 2): keys are header numbers, values header blobs. Read page by page
 * rather than bucket by bucket: every hash page holds key/value pairs, and a value too large for
 * its page lives on a chain of overflow pages. Layout from Berkeley DB's db_page.h and hash.h.
 */

const hashMagic = 0x00061561;
const metaHeaderBytes = 26;
const pageHeaderBytes = 26;
/** Page types (db_page.h). */
const pageType = { hashUnsorted: 2, overflow: 7, hashMeta: 8, hash: 13 } as const;
/** Hash item types (db_page.h). */
const itemType = { keyData: 1, duplicate: 2, offPage: 3, offDuplicate: 4 } as const;
const minPageSize = 512;
const maxPageSize = 64 * 1024;

class Reader {
  constructor(
    readonly bytes: Buffer,
    readonly little: boolean,
  ) {}

  u8(at: number): number {
    return this.bytes.readUInt8(at);
  }

  u16(at: number): number {
    return this.little ? this.bytes.readUInt16LE(at) : this.bytes.readUInt16BE(at);
  }

  u32(at: number): number {
    return this.little ? this.bytes.readUInt32LE(at) : this.bytes.readUInt32BE(at);
  }
}

export function readBdbHashValues(content: Buffer): StoredHeader[] {
  if (content.length < metaHeaderBytes) throw new Error('too short for a Berkeley DB file');
  const little = content.readUInt32LE(12) === hashMagic;
  if (!little && content.readUInt32BE(12) !== hashMagic) throw new Error('not a Berkeley DB hash database');
  const file = new Reader(content, little);
  const pageSize = file.u32(20);
  if (pageSize < minPageSize || pageSize > maxPageSize || (pageSize & (pageSize - 1)) !== 0)
    throw new Error(`page size ${pageSize} is not a Berkeley DB page size`);
  if (file.u8(24) !== 0) throw new Error('the database is encrypted');
  if (file.u8(25) !== pageType.hashMeta) throw new Error('the first page is not hash metadata');
  if ((file.u8(26) & 0x01) !== 0) throw new Error('checksummed pages are not supported');
  const pageCount = Math.floor(content.length / pageSize);

  const headers: StoredHeader[] = [];
  // Many items may name one overflow chain; what they add up to is capped at the file's size, so
  // a crafted file cannot make the reader allocate more than it is.
  let bytesRead = 0;
  for (let pgno = 1; pgno < pageCount; pgno++) {
    const page = pgno * pageSize;
    const type = file.u8(page + 25);
    if (type !== pageType.hash && type !== pageType.hashUnsorted) continue;
    const entries = file.u16(page + 20);
    if (pageHeaderBytes + entries * 2 > pageSize) throw new Error(`page ${pgno} claims ${entries} entries`);
    const offsets: number[] = [];
    for (let i = 0; i < entries; i++) {
      const offset = file.u16(page + pageHeaderBytes + i * 2);
      if (offset < pageHeaderBytes + entries * 2 || offset >= pageSize)
        throw new Error(`page ${pgno} item ${i} is outside the page`);
      offsets.push(offset);
    }
    // Items alternate key, value; each ends where the previous one (stored above it) begins.
    for (let i = 0; i + 1 < entries; i += 2) {
      const key = item(file, page, pageSize, offsets, i);
      const hnum = key.length === 4 ? (little ? key.readUInt32LE(0) : key.readUInt32BE(0)) : -1;
      const value = storedValue(file, page, pageSize, pageCount, offsets, i + 1, pgno);
      bytesRead += value?.length ?? 0;
      if (bytesRead > content.length) throw new Error('the values add up to more than the file holds');
      // Header number 0 is rpm's counter of the next number to hand out, not a package.
      if (hnum > 0 && value) headers.push({ hnum, blob: value });
    }
  }
  return headers.sort((a, b) => a.hnum - b.hnum);
}

/** An on-page key or value (H_KEYDATA), without its type byte. */
function item(file: Reader, page: number, pageSize: number, offsets: number[], index: number): Buffer {
  const start = offsets[index]!;
  const end = index === 0 ? pageSize : offsets[index - 1]!;
  if (end <= start) throw new Error('overlapping items on a hash page');
  if (file.u8(page + start) !== itemType.keyData) return Buffer.alloc(0);
  return file.bytes.subarray(page + start + 1, page + end);
}

function storedValue(
  file: Reader,
  page: number,
  pageSize: number,
  pageCount: number,
  offsets: number[],
  index: number,
  pgno: number,
): Buffer | undefined {
  const at = page + offsets[index]!;
  const type = file.u8(at);
  if (type === itemType.keyData) return Buffer.from(item(file, page, pageSize, offsets, index));
  if (type === itemType.offPage)
    return overflowChain(file, pageSize, pageCount, file.u32(at + 4), file.u32(at + 8));
  if (type === itemType.duplicate || type === itemType.offDuplicate)
    throw new Error(`page ${pgno} holds duplicate values, which rpm never writes`);
  throw new Error(`page ${pgno} item ${index} has unknown type ${type}`);
}

/** Concatenates a value's overflow pages: each holds its share after the page header. */
function overflowChain(
  file: Reader,
  pageSize: number,
  pageCount: number,
  first: number,
  totalLength: number,
): Buffer {
  if (totalLength > pageCount * pageSize) throw new Error(`an overflow value of ${totalLength} bytes`);
  const value = Buffer.alloc(totalLength);
  let filled = 0;
  let pgno = first;
  const visited = new Set<number>();
  while (filled < totalLength) {
    if (pgno === 0 || pgno >= pageCount || visited.has(pgno))
      throw new Error(`overflow chain breaks at page ${pgno}`);
    visited.add(pgno);
    const page = pgno * pageSize;
    if (file.u8(page + 25) !== pageType.overflow) throw new Error(`page ${pgno} is not an overflow page`);
    const length = file.u16(page + 22);
    if (length > pageSize - pageHeaderBytes || filled + length > totalLength)
      throw new Error(`overflow page ${pgno} holds ${length} bytes, more than it or the value can`);
    file.bytes.copy(value, filled, page + pageHeaderBytes, page + pageHeaderBytes + length);
    filled += length;
    pgno = file.u32(page + 16);
    if (length === 0 && filled < totalLength) throw new Error(`overflow page ${pgno} is empty`);
  }
  return value;
}
