import { Readable } from 'node:stream';
import tarStream, { type Header } from 'tar-stream';
import { ScanError } from './scan-error.ts';

export interface TarEntry {
  header: Header;
  /** Collects the entry's bytes, failing past `maxBytes` (the header's size can lie). */
  readAll(maxBytes: number): Promise<Buffer>;
  /**
   * The entry's bytes as a stream, for a reader that needs only part of them or handles them
   * chunk by chunk; whatever it leaves unread is drained before the next entry.
   */
  stream(): Readable;
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
      // A truncated archive errors the open entry as well as the parser; the parser's error is
      // the one reported, and the entry's must not go unhandled (that would end the process).
      body.on('error', () => {});
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
        stream() {
          // A Node stream over the entry's streamx body, with backpressure. A reader that stops
          // early may destroy it; the body then runs on to its end and the next entry follows.
          const view = new Readable({ read: () => void body.resume() });
          body.on('data', (chunk) => {
            if (!view.destroyed && !view.push(chunk as Buffer)) body.pause();
          });
          body.on('end', () => {
            ended = true;
            if (!view.destroyed) view.push(null);
          });
          view.on('close', () => body.resume());
          viewed = view;
          return view;
        },
      };
      let viewed: Readable | undefined;
      let ended = false;
      onEntry(entry).then(() => {
        if (settled) return;
        if (consumed || ended) next();
        else if (viewed) {
          viewed.destroy();
          body.on('end', () => next());
        } else {
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
