import { parentOf } from './image-paths.ts';

/** Image paths (no leading `/`) of the files the detectors read. */
export const packageDatabasePaths = {
  apk: 'lib/apk/db/installed',
  dpkg: 'var/lib/dpkg/status',
  dpkgStatusDir: 'var/lib/dpkg/status.d',
} as const;

const osReleasePaths = new Set(['etc/os-release', 'usr/lib/os-release']);

/** The walker keeps only these; everything else in a layer is streamed past. */
export function isWantedFile(path: string): boolean {
  if (osReleasePaths.has(path) || path === packageDatabasePaths.apk || path === packageDatabasePaths.dpkg) {
    return true;
  }
  // status.d also holds `<pkg>.md5sums` next to each record in distroless images.
  return parentOf(path) === packageDatabasePaths.dpkgStatusDir && !path.endsWith('.md5sums');
}
