import type { Readable } from 'node:stream';
import { AUDITABLE_SECTION, type Crate, MAX_SECTION_BYTES, readAuditData } from './cargo-auditable.ts';
import {
  ELF_HEADER_BYTES,
  ELF_MAGIC,
  type ElfHeader,
  endOfLoadedSegments,
  parseElfHeader,
  parseSectionHeaders,
  sectionName,
} from './elf-layout.ts';
import { type GoBuildInfo, GoBuildInfoScanner } from './go-buildinfo.ts';
import { RangeCapture } from './range-capture.ts';
import { SpillStore } from './spill-store.ts';

export interface ElfFindings {
  go?: GoBuildInfo;
  crates?: Crate[];
}

const MAX_PROGRAM_HEADER_BYTES = 64 * 1024;
const MAX_SECTION_HEADER_BYTES = 4 * 1024 * 1024;
const MAX_STRING_TABLE_BYTES = 1024 * 1024;
/** The unmapped tail is small in stripped binaries; debug info can make it large: then it goes to disk. */
const TAIL_MEMORY_BYTES = 1024 * 1024;
const MAX_TAIL_BYTES = 512 * 1024 * 1024;

/**
 * Reads one pass over an ELF file, keeping only what the detectors need:
 * - the ELF and program headers (the first bytes), which tell where the loaded segments end;
 * - Go's build information, found by its magic as the data segment streams past;
 * - the unmapped tail after the loaded segments, where linkers put non-allocated sections such
 *   as cargo-auditable's `.dep-v0` (it is written without SHF_ALLOC), the section name table
 *   and usually the section header table; once the header table has been seen, `.dep-v0` is
 *   looked up there. The tail is small unless the binary keeps debug info; past 1 MiB it is
 *   spooled to `tempDir` and the file is deleted before returning.
 * Stops reading as soon as Go build information is complete (a Go binary has no `.dep-v0`).
 * Resolves undefined for a file that is not ELF; rejects only when the stream fails.
 */
export async function scanElf(content: Readable, tempDir: string): Promise<ElfFindings | undefined> {
  const headerCapture = new RangeCapture(0, ELF_HEADER_BYTES);
  let header: ElfHeader | undefined;
  let programHeaders: RangeCapture | undefined;
  let sectionHeaders: RangeCapture | undefined;
  let tailStart: number | undefined;
  let tailUsable = false;
  const tail = new SpillStore(tempDir, TAIL_MEMORY_BYTES, MAX_TAIL_BYTES);
  const go = new GoBuildInfoScanner();
  let offset = 0;
  try {
    for await (const chunk of content as AsyncIterable<Buffer>) {
      if (!header) {
        headerCapture.take(chunk, offset);
        const seen = headerCapture.bytes.subarray(0, Math.min(4, offset + chunk.length));
        if (!seen.equals(ELF_MAGIC.subarray(0, seen.length))) return undefined;
        if (headerCapture.complete) {
          header = parseElfHeader(headerCapture.bytes);
          if (!header) return undefined;
          ({ programHeaders, sectionHeaders } = headerRanges(header));
        }
      }
      programHeaders?.take(chunk, offset);
      sectionHeaders?.take(chunk, offset);
      if (header && programHeaders?.complete && tailStart === undefined) {
        tailStart = endOfLoadedSegments(header, programHeaders.bytes);
        // The tail must begin at or after this chunk for all of it to be kept.
        tailUsable = tailStart > 0 && tailStart >= offset;
      }
      if (tailUsable && tailStart !== undefined && offset + chunk.length > tailStart) {
        await tail.append(chunk.subarray(Math.max(0, tailStart - offset)));
      }
      go.feed(chunk, offset);
      offset += chunk.length;
      if (go.finished && go.result) return { go: go.result };
    }
    if (!header) return undefined;
    if (go.result) return { go: go.result };
    if (!tailUsable || tailStart === undefined || tail.overflowed || !sectionHeaders?.complete)
      return undefined;
    const crates = await auditData(header, sectionHeaders.bytes, tail, tailStart);
    return crates ? { crates } : undefined;
  } finally {
    await tail.dispose();
  }
}

function headerRanges(header: ElfHeader): { programHeaders?: RangeCapture; sectionHeaders?: RangeCapture } {
  const ranges: { programHeaders?: RangeCapture; sectionHeaders?: RangeCapture } = {};
  if (!header.isLinked) return ranges;
  const phBytes = header.phnum * header.phentsize;
  if (header.phnum > 0 && phBytes <= MAX_PROGRAM_HEADER_BYTES && Number.isFinite(header.phoff)) {
    ranges.programHeaders = new RangeCapture(header.phoff, header.phoff + phBytes);
  }
  const shBytes = header.shnum * header.shentsize;
  if (
    header.shnum > 0 &&
    header.shoff > 0 &&
    shBytes <= MAX_SECTION_HEADER_BYTES &&
    Number.isFinite(header.shoff)
  ) {
    ranges.sectionHeaders = new RangeCapture(header.shoff, header.shoff + shBytes);
  }
  return ranges;
}

async function auditData(
  header: ElfHeader,
  table: Buffer,
  tail: SpillStore,
  tailStart: number,
): Promise<Crate[] | undefined> {
  const sections = parseSectionHeaders(header, table);
  const readSection = (index: number, maxBytes: number): Promise<Buffer | undefined> => {
    const section = sections[index];
    if (!section || section.noBits || section.size > maxBytes || section.offset < tailStart) {
      return Promise.resolve(undefined);
    }
    return tail.read(section.offset - tailStart, section.size);
  };
  const names = await readSection(header.shstrndx, MAX_STRING_TABLE_BYTES);
  if (!names) return undefined;
  const index = sections.findIndex((section) => sectionName(names, section.nameOffset) === AUDITABLE_SECTION);
  if (index < 0) return undefined;
  const data = await readSection(index, MAX_SECTION_BYTES);
  return data ? readAuditData(data) : undefined;
}
