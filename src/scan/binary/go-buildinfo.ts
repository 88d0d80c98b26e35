/**
 * Go's build information (`.go.buildinfo`), found while the binary streams past: a 32-byte
 * header starting with `\xff Go buildinf:` at a 16-byte aligned offset, then, since Go 1.18,
 * the toolchain version and the module information as varint-prefixed strings. Older binaries
 * hold two pointers into the data segment instead; reading those would need the whole file, so
 * they are recognised and reported as not read.
 */

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER_BYTES = 32;
const ALIGN = 16;
const FLAG_BIG_ENDIAN = 1;
const FLAG_INLINE_STRINGS = 2;
const MAX_VERSION_BYTES = 1024;
/** The module list of large programs is tens of KiB; a bigger one is not believed. */
const MAX_MODINFO_BYTES = 4 * 1024 * 1024;
/** `runtime/debug` wraps the module text in two 16-byte sentinels. */
const SENTINEL_BYTES = 16;

export type GoBuildInfo =
  | { format: 'inline'; goVersion: string; modinfo: string }
  | { format: 'pointers'; ptrSize: number };

type Step = { status: 'more' } | { status: 'invalid' } | { status: 'done'; info: GoBuildInfo };

function readUvarint(bytes: Buffer, at: number): { value: number; next: number } | 'more' | 'invalid' {
  let value = 0;
  for (let index = 0; index < 5; index += 1) {
    if (at + index >= bytes.length) return 'more';
    const byte = bytes[at + index]!;
    value += (byte & 0x7f) * 2 ** (7 * index);
    if (byte < 0x80) return { value, next: at + index + 1 };
  }
  return 'invalid';
}

/** Parses the bytes from the magic on; asks for more until both strings are complete. */
function parseFromMagic(bytes: Buffer): Step {
  if (bytes.length < HEADER_BYTES) return { status: 'more' };
  const ptrSize = bytes[14]!;
  const flags = bytes[15]!;
  if ((ptrSize !== 4 && ptrSize !== 8) || flags > (FLAG_BIG_ENDIAN | FLAG_INLINE_STRINGS)) {
    return { status: 'invalid' };
  }
  if ((flags & FLAG_INLINE_STRINGS) === 0) return { status: 'done', info: { format: 'pointers', ptrSize } };
  // The linker zero-fills the rest of the header; this also rules out a copy of the magic in rodata.
  if (bytes.subarray(16, HEADER_BYTES).some((byte) => byte !== 0)) return { status: 'invalid' };
  const versionLength = readUvarint(bytes, HEADER_BYTES);
  if (typeof versionLength === 'string') return { status: versionLength };
  if (versionLength.value > MAX_VERSION_BYTES) return { status: 'invalid' };
  const versionEnd = versionLength.next + versionLength.value;
  const modinfoLength = readUvarint(bytes, versionEnd);
  if (typeof modinfoLength === 'string') return { status: modinfoLength };
  if (modinfoLength.value > MAX_MODINFO_BYTES) return { status: 'invalid' };
  const modinfoEnd = modinfoLength.next + modinfoLength.value;
  if (bytes.length < modinfoEnd) return { status: 'more' };
  const goVersion = bytes.toString('utf8', versionLength.next, versionEnd);
  let modinfo = bytes.toString('utf8', modinfoLength.next, modinfoEnd);
  if (modinfo.length >= 2 * SENTINEL_BYTES + 1 && modinfo[modinfo.length - SENTINEL_BYTES - 1] === '\n') {
    modinfo = bytes.toString('utf8', modinfoLength.next + SENTINEL_BYTES, modinfoEnd - SENTINEL_BYTES);
  }
  return { status: 'done', info: { format: 'inline', goVersion, modinfo } };
}

/**
 * Looks for the build information in a file fed chunk by chunk. Holds at most the 13 bytes
 * before the current chunk and, once the header is found, the build information itself.
 */
export class GoBuildInfoScanner {
  #carry = Buffer.alloc(0);
  #found: { start: number; parts: Buffer[]; length: number } | undefined;
  result: GoBuildInfo | undefined;
  /** Set once the result is known or the candidate turned out broken past recovery. */
  finished = false;

  feed(chunk: Buffer, chunkStart: number): void {
    let searchFrom = 0;
    while (!this.finished) {
      if (!this.#found) {
        const start = this.#search(chunk, chunkStart, searchFrom);
        if (start === undefined) break;
        const fromCarry =
          start < chunkStart ? this.#carry.subarray(start - (chunkStart - this.#carry.length)) : undefined;
        this.#found = {
          start,
          parts: fromCarry ? [Buffer.from(fromCarry)] : [],
          length: fromCarry?.length ?? 0,
        };
      }
      const found = this.#found;
      const skip = Math.max(0, found.start + found.length - chunkStart);
      if (skip < chunk.length) {
        const part = Buffer.from(chunk.subarray(skip));
        found.parts.push(part);
        found.length += part.length;
      }
      const bytes = Buffer.concat(found.parts);
      found.parts = [bytes];
      const step = parseFromMagic(
        bytes.subarray(0, HEADER_BYTES + 20 + MAX_VERSION_BYTES + MAX_MODINFO_BYTES),
      );
      if (step.status === 'done') {
        this.result = step.info;
        this.finished = true;
      } else if (step.status === 'invalid') {
        // A stray copy of the magic: search on after it.
        this.#found = undefined;
        searchFrom = Math.max(0, found.start + 1 - chunkStart);
        continue;
      } else if (found.length > HEADER_BYTES + 20 + MAX_VERSION_BYTES + MAX_MODINFO_BYTES) {
        this.finished = true;
      }
      break;
    }
    this.#carry = Buffer.from(chunk.subarray(Math.max(0, chunk.length - (MAGIC.length - 1))));
  }

  /** The file offset of the next aligned magic that starts in the carry or the chunk. */
  #search(chunk: Buffer, chunkStart: number, from: number): number | undefined {
    const carryStart = chunkStart - this.#carry.length;
    if (from === 0 && this.#carry.length > 0) {
      const seam = Buffer.concat([this.#carry, chunk.subarray(0, MAGIC.length - 1)]);
      for (
        let at = seam.indexOf(MAGIC);
        at >= 0 && at < this.#carry.length;
        at = seam.indexOf(MAGIC, at + 1)
      ) {
        if ((carryStart + at) % ALIGN === 0) return carryStart + at;
      }
    }
    for (let at = chunk.indexOf(MAGIC, from); at >= 0; at = chunk.indexOf(MAGIC, at + 1)) {
      if ((chunkStart + at) % ALIGN === 0) return chunkStart + at;
    }
    return undefined;
  }
}

export interface GoModule {
  path: string;
  version: string;
}

export interface GoModules {
  main?: GoModule;
  deps: GoModule[];
}

/**
 * The modules of `runtime/debug`'s text: `mod` (the main module), `dep` lines, and `=>` lines
 * that replace the module just above. A replacement by a local directory has no version and so
 * names no published module: it is left out, as is a main module built from a checkout
 * (`(devel)`).
 */
export function parseModinfo(modinfo: string): GoModules {
  const modules: GoModules = { deps: [] };
  let last: { kind: 'mod' | 'dep'; index: number } | undefined;
  for (const line of modinfo.split('\n')) {
    const [kind, path = '', version = ''] = line.split('\t');
    if (kind === 'mod') {
      modules.main = { path, version };
      last = { kind: 'mod', index: 0 };
    } else if (kind === 'dep') {
      modules.deps.push({ path, version });
      last = { kind: 'dep', index: modules.deps.length - 1 };
    } else if (kind === '=>' && last) {
      if (last.kind === 'mod') modules.main = { path, version };
      else modules.deps[last.index] = { path, version };
      last = undefined;
    }
  }
  const published = (module: GoModule): boolean => module.version !== '' && module.version !== '(devel)';
  return {
    ...(modules.main && published(modules.main) ? { main: modules.main } : {}),
    deps: modules.deps.filter(published),
  };
}

/**
 * The toolchain version as OSV's Go records write the standard library's (`go1.21rc2` →
 * `1.21.0-rc.2`); undefined for a development build. Text after a space (` X:boringcrypto`)
 * names experiments, not the version.
 */
export function goToolchainVersion(goVersion: string): string | undefined {
  const match = /^go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(beta|rc)(\d+))?(?:\s|$)/.exec(goVersion);
  if (!match) return undefined;
  const [, major, minor = '0', patch = '0', pre, preNumber] = match;
  return `${major}.${minor}.${patch}${pre ? `-${pre}.${preNumber}` : ''}`;
}
