/**
 * The part of CBOR (RFC 8949) that COSE_Sign1 envelopes use: integers, byte and text strings,
 * arrays, maps, tags, simple values and floats, all with definite lengths. Decoding is bounded
 * (nesting depth, lengths checked against the bytes left) because envelopes come from pushers.
 */

export type CborValue =
  | number
  | bigint
  | string
  | Buffer
  | boolean
  | null
  | undefined
  | CborValue[]
  | CborMap
  | CborTagged;

export type CborMap = Map<number | string, CborValue>;

export class CborTagged {
  constructor(
    readonly tag: number,
    readonly value: CborValue,
  ) {}
}

export class CborError extends Error {}

const maxDepth = 16;

/** Decodes exactly one CBOR item that fills `bytes`; throws CborError on anything else. */
export function decodeCbor(bytes: Buffer): CborValue {
  const reader = new Reader(bytes);
  const value = reader.item(0);
  if (reader.offset !== bytes.length) throw new CborError('trailing bytes after the CBOR item');
  return value;
}

class Reader {
  offset = 0;
  constructor(private readonly bytes: Buffer) {}

  private take(length: number): Buffer {
    if (length > this.bytes.length - this.offset) throw new CborError('CBOR item runs past the end');
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  /** The argument of a head: the small value itself or the 1/2/4/8 bytes that follow. */
  private argument(info: number): number | bigint {
    if (info < 24) return info;
    if (info === 24) return this.take(1).readUInt8(0);
    if (info === 25) return this.take(2).readUInt16BE(0);
    if (info === 26) return this.take(4).readUInt32BE(0);
    if (info === 27) {
      const value = this.take(8).readBigUInt64BE(0);
      return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
    }
    throw new CborError(
      info === 31 ? 'indefinite-length CBOR items are not supported' : 'malformed CBOR head',
    );
  }

  private length(info: number): number {
    const value = this.argument(info);
    if (typeof value === 'bigint' || value > this.bytes.length - this.offset) {
      throw new CborError('CBOR length runs past the end');
    }
    return value;
  }

  item(depth: number): CborValue {
    if (depth > maxDepth) throw new CborError('CBOR nested too deeply');
    const head = this.take(1).readUInt8(0);
    const major = head >> 5;
    const info = head & 0x1f;
    switch (major) {
      case 0:
        return this.argument(info);
      case 1: {
        const value = this.argument(info);
        return typeof value === 'bigint' ? -1n - value : -1 - value;
      }
      case 2:
        return Buffer.from(this.take(this.length(info)));
      case 3:
        return new TextDecoder('utf-8', { fatal: true }).decode(this.take(this.length(info)));
      case 4: {
        const count = this.length(info);
        const items: CborValue[] = [];
        for (let index = 0; index < count; index++) items.push(this.item(depth + 1));
        return items;
      }
      case 5: {
        const count = this.length(info);
        const map: CborMap = new Map();
        for (let index = 0; index < count; index++) {
          const key = this.item(depth + 1);
          if (typeof key !== 'number' && typeof key !== 'string') {
            throw new CborError('CBOR map keys must be integers or text');
          }
          if (map.has(key)) throw new CborError(`duplicate CBOR map key ${JSON.stringify(key)}`);
          map.set(key, this.item(depth + 1));
        }
        return map;
      }
      case 6: {
        const tag = this.argument(info);
        if (typeof tag === 'bigint') throw new CborError('CBOR tag out of range');
        return new CborTagged(tag, this.item(depth + 1));
      }
      default:
        return this.simple(info);
    }
  }

  private simple(info: number): CborValue {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    if (info === 23) return undefined;
    if (info === 25) return halfToNumber(this.take(2).readUInt16BE(0));
    if (info === 26) return this.take(4).readFloatBE(0);
    if (info === 27) return this.take(8).readDoubleBE(0);
    throw new CborError('unsupported CBOR simple value');
  }
}

function halfToNumber(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * 2 ** -14 * (mantissa / 1024);
  if (exponent === 31) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

/** What the encoder writes: enough for Sig_structure and for tests that build envelopes. */
export type CborEncodable = number | string | Buffer | CborEncodable[] | CborEncodableMap | CborTagged;
export type CborEncodableMap = Map<number | string, CborEncodable>;

function head(major: number, value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new CborError(`cannot encode ${value}`);
  if (value < 24) return Buffer.from([(major << 5) | value]);
  if (value < 0x100) return Buffer.from([(major << 5) | 24, value]);
  if (value < 0x10000) {
    const bytes = Buffer.alloc(3);
    bytes[0] = (major << 5) | 25;
    bytes.writeUInt16BE(value, 1);
    return bytes;
  }
  if (value < 0x100000000) {
    const bytes = Buffer.alloc(5);
    bytes[0] = (major << 5) | 26;
    bytes.writeUInt32BE(value, 1);
    return bytes;
  }
  const bytes = Buffer.alloc(9);
  bytes[0] = (major << 5) | 27;
  bytes.writeBigUInt64BE(BigInt(value), 1);
  return bytes;
}

/** Encodes integers, strings, arrays, maps and tags with the shortest (deterministic) heads. */
export function encodeCbor(value: CborEncodable): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const text = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, text.length), text]);
  }
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(encodeCbor)]);
  if (value instanceof CborTagged) {
    return Buffer.concat([head(6, value.tag), encodeCbor(value.value as CborEncodable)]);
  }
  const parts = [head(5, value.size)];
  for (const [key, entry] of value) parts.push(encodeCbor(key), encodeCbor(entry));
  return Buffer.concat(parts);
}
