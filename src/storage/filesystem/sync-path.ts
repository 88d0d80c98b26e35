import { open } from 'node:fs/promises';

/**
 * Flushes a file or directory to disk through a descriptor of its own: a directory's entries
 * (after a rename or mkdir), or a file's data (`dataOnly`, fdatasync).
 */
export async function syncPath(path: string, dataOnly = false): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await (dataOnly ? handle.datasync() : handle.sync());
  } finally {
    await handle.close();
  }
}
