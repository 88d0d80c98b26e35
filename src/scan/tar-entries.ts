import type { Readable } from 'node:stream';
import tarStream, { type Header } from 'tar-stream';
import { ScanError } from './scan-error.ts';

export interface TarEntry {
  header: Header;
  /** Collects the entry's bytes, failing past `maxBytes` (the header's size can lie). */
  readAll(maxBytes: number): Promise<Buffer>;
}

/**
 * Feeds each entry of a tar stream to `onEntry`, one at a time; entries it does not read are
 * skipped without buffering. Rejects on the first error of the stream, the parser or `onEntry`.
 */
export function readTarEntries(tar: Readable, onEntry: (entry: TarEntry) => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const extract = tarStream.extract();
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      tar.destroy();
      extract.destroy();
      reject(error);
    };
    tar.on('error', fail);
    extract.on('error', fail);
    extract.on('entry', (header, body, next) => {
      let consumed = false;
      const entry: TarEntry = {
        header,
        async readAll(maxBytes) {
          consumed = true;
          const chunks: Buffer[] = [];
          let length = 0;
          for await (const chunk of body) {
            length += (chunk as Buffer).length;
            if (length > maxBytes) throw new ScanError(`/${header.name} is larger than ${maxBytes} bytes`);
            chunks.push(chunk as Buffer);
          }
          return Buffer.concat(chunks);
        },
      };
      onEntry(entry).then(() => {
        if (settled) return;
        if (consumed) next();
        else {
          body.on('end', () => next());
          body.resume();
        }
      }, fail);
    });
    extract.on('finish', () => {
      if (settled) return;
      settled = true;
      resolve();
    });
    tar.pipe(extract as unknown as NodeJS.WritableStream);
  });
}
