/** An image the scanner cannot analyse (corrupt, hostile or unsupported); the message says why. */
export class ScanError extends Error {
  override readonly name = 'ScanError';
}
