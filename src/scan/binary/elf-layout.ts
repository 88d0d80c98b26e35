/** The parts of an ELF file's layout that locate its sections, read from the raw headers. */

export const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
/** Enough bytes for the header of either class (ELF32: 52, ELF64: 64). */
export const ELF_HEADER_BYTES = 64;

const ET_EXEC = 2;
const ET_DYN = 3;
const PT_LOAD = 1;

export interface ElfHeader {
  is64: boolean;
  littleEndian: boolean;
  /** An executable or a shared object: a file with loaded segments and linked sections. */
  isLinked: boolean;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

export interface ElfSection {
  nameOffset: number;
  offset: number;
  size: number;
  /** SHT_NOBITS (`.bss`): no bytes in the file. */
  noBits: boolean;
}

class Fields {
  constructor(
    readonly bytes: Buffer,
    readonly header: Pick<ElfHeader, 'is64' | 'littleEndian'>,
  ) {}
  u16(at: number): number {
    return this.header.littleEndian ? this.bytes.readUInt16LE(at) : this.bytes.readUInt16BE(at);
  }
  u32(at: number): number {
    return this.header.littleEndian ? this.bytes.readUInt32LE(at) : this.bytes.readUInt32BE(at);
  }
  /** A file offset or size: 64-bit values past 2^53 make no sense for a file and read as Infinity. */
  address(at32: number, at64: number): number {
    if (!this.header.is64) return this.u32(at32);
    const value = this.header.littleEndian
      ? this.bytes.readBigUInt64LE(at64)
      : this.bytes.readBigUInt64BE(at64);
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(value);
  }
}

/** The ELF header of `bytes` (its first 64 bytes), or undefined when it is not a valid one. */
export function parseElfHeader(bytes: Buffer): ElfHeader | undefined {
  if (bytes.length < ELF_HEADER_BYTES || !bytes.subarray(0, 4).equals(ELF_MAGIC)) return undefined;
  const elfClass = bytes[4];
  const data = bytes[5];
  if ((elfClass !== 1 && elfClass !== 2) || (data !== 1 && data !== 2)) return undefined;
  const f = new Fields(bytes, { is64: elfClass === 2, littleEndian: data === 1 });
  const type = f.u16(16);
  const header: ElfHeader = f.header.is64
    ? {
        ...f.header,
        isLinked: type === ET_EXEC || type === ET_DYN,
        phoff: f.address(0, 32),
        shoff: f.address(0, 40),
        phentsize: f.u16(54),
        phnum: f.u16(56),
        shentsize: f.u16(58),
        shnum: f.u16(60),
        shstrndx: f.u16(62),
      }
    : {
        ...f.header,
        isLinked: type === ET_EXEC || type === ET_DYN,
        phoff: f.address(28, 0),
        shoff: f.address(32, 0),
        phentsize: f.u16(42),
        phnum: f.u16(44),
        shentsize: f.u16(46),
        shnum: f.u16(48),
        shstrndx: f.u16(50),
      };
  const minPh = header.is64 ? 56 : 32;
  const minSh = header.is64 ? 64 : 40;
  if (header.phnum > 0 && header.phentsize < minPh) return undefined;
  if (header.shnum > 0 && header.shentsize < minSh) return undefined;
  return header;
}

/** Where the loaded segments' bytes end in the file: sections past it are never mapped (debug, symbols, notes). */
export function endOfLoadedSegments(header: ElfHeader, table: Buffer): number {
  const f = new Fields(table, header);
  let end = 0;
  for (let index = 0; index < header.phnum; index += 1) {
    const at = index * header.phentsize;
    if (at + header.phentsize > table.length) break;
    if (f.u32(at) !== PT_LOAD) continue;
    const offset = f.address(at + 4, at + 8);
    const fileSize = f.address(at + 16, at + 32);
    end = Math.max(end, offset + fileSize);
  }
  return end;
}

export function parseSectionHeaders(header: ElfHeader, table: Buffer): ElfSection[] {
  const f = new Fields(table, header);
  const sections: ElfSection[] = [];
  for (let index = 0; index < header.shnum; index += 1) {
    const at = index * header.shentsize;
    if (at + header.shentsize > table.length) break;
    sections.push({
      nameOffset: f.u32(at),
      noBits: f.u32(at + 4) === 8,
      offset: f.address(at + 16, at + 24),
      size: f.address(at + 20, at + 32),
    });
  }
  return sections;
}

/** A NUL-terminated name from a string table section. */
export function sectionName(strings: Buffer, offset: number): string {
  if (offset >= strings.length) return '';
  const end = strings.indexOf(0, offset);
  return strings.toString('latin1', offset, end < 0 ? strings.length : end);
}
