import { syncPath } from './sync-path.ts';

/**
 * Background write-back of files being written: at most one flush per file runs at a time, so
 * the final fsync before a commit only has the last few megabytes left to write.
 */
export class WriteBack {
  private readonly running = new Map<string, Promise<void>>();

  start(path: string): void {
    if (this.running.has(path)) return;
    const flush = syncPath(path, true)
      .catch(() => {
        // The file may have been committed or removed meanwhile; the commit's own fsync decides.
      })
      .finally(() => this.running.delete(path));
    this.running.set(path, flush);
  }

  /** Waits for a running flush of `path`, if any. */
  async settle(path: string): Promise<void> {
    await this.running.get(path);
  }
}
