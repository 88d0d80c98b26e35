import type yauzl from 'yauzl';

/**
 * Every entry of a zip's central directory, one at a time, for a zip opened with
 * `lazyEntries: true`: the next entry is read only when the consumer asks for it. Rejects with
 * the archive's error once the entries before it were consumed.
 */
export async function* zipEntries(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  let failure: Error | undefined;
  let done = false;
  let waiting: ((entry: yauzl.Entry | undefined) => void) | undefined;
  zip.on('entry', (entry: yauzl.Entry) => waiting?.(entry));
  zip.on('end', () => {
    done = true;
    waiting?.(undefined);
  });
  zip.on('error', (error: Error) => {
    failure = error;
    waiting?.(undefined);
  });
  for (;;) {
    const entry = await new Promise<yauzl.Entry | undefined>((resolve) => {
      if (done || failure) return resolve(undefined);
      waiting = resolve;
      zip.readEntry();
    });
    if (!entry) break;
    yield entry;
  }
  if (failure) throw failure;
}
