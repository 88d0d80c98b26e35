import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A directory private to one scan, made on first use under the system temp directory and
 * removed with everything in it when the scan ends; detectors write nowhere else.
 */
export class TempArea {
  #dir: Promise<string> | undefined;

  dir(): Promise<string> {
    this.#dir ??= mkdtemp(join(tmpdir(), 'berth-scan-'));
    return this.#dir;
  }

  async remove(): Promise<void> {
    if (!this.#dir) return;
    const dir = await this.#dir.catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
