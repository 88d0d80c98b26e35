import Database from 'better-sqlite3';

export interface StoredHeader {
  /** rpm's header number: the package's key in the database. */
  hnum: number;
  blob: Buffer;
}

/** Bytes 18 and 19 of a SQLite file: the write and read format versions, 2 meaning WAL. */
const formatVersionOffsets = [18, 19];

/**
 * The header blobs of an rpm ≥ 4.16 database (`rpmdb.sqlite`, table `Packages(hnum, blob)`),
 * read from the captured bytes in memory, read-only: nothing touches the disk.
 */
export function readSqliteHeaders(content: Buffer): StoredHeader[] {
  // rpm keeps the database in WAL mode, which SQLite cannot open from memory; an image carries
  // the checkpointed main file, so reading it as a rollback-journal database is equivalent.
  const bytes = Buffer.from(content);
  for (const offset of formatVersionOffsets) if (bytes[offset] === 2) bytes[offset] = 1;
  const db = new Database(bytes, { readonly: true });
  try {
    // The file comes from an image anyone may push: its schema must not run code of its own. A
    // view named Packages could be an endless recursive query that blocks the process.
    db.pragma('trusted_schema = OFF');
    const kind = db
      .prepare("SELECT type FROM sqlite_master WHERE name = 'Packages' COLLATE NOCASE")
      .pluck()
      .all() as string[];
    if (kind.length === 0) throw new Error('no such table: Packages');
    if (kind.length !== 1 || kind[0] !== 'table')
      throw new Error(`Packages is a ${kind.join(', ')}, not a table`);
    const headers: StoredHeader[] = [];
    let bytesRead = 0;
    for (const row of db.prepare('SELECT hnum, blob FROM Packages').raw().iterate() as Iterable<unknown[]>) {
      const [hnum, blob] = row;
      if (typeof hnum !== 'number' || !Buffer.isBuffer(blob))
        throw new Error(`Packages row ${String(hnum)} is not an integer and a blob`);
      bytesRead += blob.length;
      // A table's rows cannot hold more than the file; more means the file lies about itself.
      if (headers.length >= maxPackages || bytesRead > content.length)
        throw new Error(`Packages holds more than ${maxPackages} rows or more bytes than the file`);
      headers.push({ hnum, blob });
    }
    return headers.sort((a, b) => a.hnum - b.hnum);
  } finally {
    db.close();
  }
}

/** More installed packages than any real system has. */
const maxPackages = 100_000;
