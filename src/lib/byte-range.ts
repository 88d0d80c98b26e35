/** An inclusive byte range, as HTTP writes them. */
export interface ByteRange {
  start: number;
  end: number;
}
