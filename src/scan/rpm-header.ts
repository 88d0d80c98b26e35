/**
 * rpm's header blob, as the package database stores one per installed package: a count of index
 * entries and the length of the data store (both big-endian uint32), the entries (tag, type,
 * offset into the store, count; 16 bytes each), then the store. Package files prefix it with an
 * 8-byte magic, which is accepted too.
 */

/** Tags the scanner reads (rpmtag.h). */
export const rpmTag = {
  name: 1000,
  version: 1001,
  release: 1002,
  epoch: 1003,
  vendor: 1011,
  arch: 1022,
  oldFileNames: 1027,
  sourceRpm: 1044,
  dirIndexes: 1116,
  baseNames: 1117,
  dirNames: 1118,
  modularityLabel: 5096,
} as const;

const tagType = {
  int32: 4,
  string: 6,
  stringArray: 8,
  i18nString: 9,
} as const;

/** rpm's own sanity limits (hdrchkTags, hdrchkData): more is a corrupt or hostile header. */
const maxEntries = 0xffff;
const maxDataBytes = 0x0fffffff;
const entryBytes = 16;
const headerMagic = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0]);

export class RpmHeaderError extends Error {
  constructor(message: string) {
    super(`rpm header: ${message}`);
    this.name = 'RpmHeaderError';
  }
}

interface IndexEntry {
  type: number;
  offset: number;
  count: number;
}

/** Typed, bounds-checked access to one header's tags; every read of a bad entry throws RpmHeaderError. */
export class RpmHeader {
  private constructor(
    private readonly entries: ReadonlyMap<number, IndexEntry>,
    private readonly data: Buffer,
  ) {}

  static parse(blob: Buffer): RpmHeader {
    const start = blob.subarray(0, headerMagic.length).equals(headerMagic) ? headerMagic.length : 0;
    if (blob.length < start + 8) throw new RpmHeaderError(`${blob.length} bytes is too short`);
    const entryCount = blob.readUInt32BE(start);
    const dataLength = blob.readUInt32BE(start + 4);
    if (entryCount === 0 || entryCount > maxEntries)
      throw new RpmHeaderError(`${entryCount} index entries is out of range`);
    if (dataLength > maxDataBytes) throw new RpmHeaderError(`data length ${dataLength} is out of range`);
    const dataStart = start + 8 + entryCount * entryBytes;
    if (dataStart + dataLength > blob.length) {
      throw new RpmHeaderError(
        `${entryCount} entries and ${dataLength} data bytes need ${dataStart + dataLength} bytes, the blob has ${blob.length}`,
      );
    }
    const entries = new Map<number, IndexEntry>();
    for (let i = 0; i < entryCount; i++) {
      const at = start + 8 + i * entryBytes;
      const tag = blob.readUInt32BE(at);
      const entry = {
        type: blob.readUInt32BE(at + 4),
        offset: blob.readUInt32BE(at + 8),
        count: blob.readUInt32BE(at + 12),
      };
      if (entry.offset > dataLength)
        throw new RpmHeaderError(`tag ${tag} points at ${entry.offset}, past the ${dataLength}-byte store`);
      // Entries appended after the immutable region (rpm's "dribble") replace the region's copy.
      entries.set(tag, entry);
    }
    return new RpmHeader(entries, blob.subarray(dataStart, dataStart + dataLength));
  }

  has(tag: number): boolean {
    return this.entries.has(tag);
  }

  /** A STRING tag (or the first of an I18NSTRING one). */
  string(tag: number): string | undefined {
    const entry = this.entries.get(tag);
    if (!entry) return undefined;
    if (entry.type === tagType.string) {
      if (entry.count !== 1) throw new RpmHeaderError(`string tag ${tag} has count ${entry.count}`);
      return this.strings(tag, entry, 1)[0];
    }
    if (entry.type === tagType.i18nString || entry.type === tagType.stringArray)
      return this.strings(tag, entry, entry.count)[0];
    throw new RpmHeaderError(`tag ${tag} has type ${entry.type}, not a string`);
  }

  stringArray(tag: number): string[] | undefined {
    const entry = this.entries.get(tag);
    if (!entry) return undefined;
    if (entry.type !== tagType.stringArray && entry.type !== tagType.i18nString)
      throw new RpmHeaderError(`tag ${tag} has type ${entry.type}, not a string array`);
    return this.strings(tag, entry, entry.count);
  }

  int32Array(tag: number): number[] | undefined {
    const entry = this.entries.get(tag);
    if (!entry) return undefined;
    if (entry.type !== tagType.int32)
      throw new RpmHeaderError(`tag ${tag} has type ${entry.type}, not int32`);
    if (entry.offset + entry.count * 4 > this.data.length)
      throw new RpmHeaderError(`tag ${tag}: ${entry.count} int32 values run past the store`);
    const values: number[] = [];
    for (let i = 0; i < entry.count; i++) values.push(this.data.readUInt32BE(entry.offset + i * 4));
    return values;
  }

  int32(tag: number): number | undefined {
    return this.int32Array(tag)?.[0];
  }

  private strings(tag: number, entry: IndexEntry, count: number): string[] {
    // Each string takes at least its NUL, so a count beyond the store's size is corrupt.
    if (count > this.data.length - entry.offset)
      throw new RpmHeaderError(`tag ${tag}: ${count} strings cannot fit in the store`);
    const values: string[] = [];
    let at = entry.offset;
    for (let i = 0; i < count; i++) {
      const end = this.data.indexOf(0, at);
      if (end < 0) throw new RpmHeaderError(`tag ${tag}: string at ${at} has no terminating NUL`);
      values.push(this.data.toString('utf8', at, end));
      at = end + 1;
    }
    return values;
  }
}
