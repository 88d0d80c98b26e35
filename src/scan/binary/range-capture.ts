/**
 * Keeps the bytes of one file range, [start, end), as chunks of the file stream past; only ranges
 * known to be small are captured this way.
 */
export class RangeCapture {
  readonly #buffer: Buffer;
  #filled = 0;

  constructor(
    readonly start: number,
    readonly end: number,
  ) {
    this.#buffer = Buffer.alloc(Math.max(0, end - start));
  }

  get complete(): boolean {
    return this.#filled === this.#buffer.length;
  }

  get bytes(): Buffer {
    return this.#buffer;
  }

  /** Takes what `chunk`, which starts at file offset `chunkStart`, holds of the range. */
  take(chunk: Buffer, chunkStart: number): void {
    const from = Math.max(this.start + this.#filled, chunkStart);
    const to = Math.min(this.end, chunkStart + chunk.length);
    // Bytes before `from` already went by; a range that started earlier stays incomplete.
    if (to <= from || from !== this.start + this.#filled) return;
    chunk.copy(this.#buffer, from - this.start, from - chunkStart, to - chunkStart);
    this.#filled += to - from;
  }
}
