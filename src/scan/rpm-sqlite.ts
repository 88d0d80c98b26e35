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
    const rows = db.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum').raw().all() as unknown[][];
    return rows.map(([hnum, blob]) => {
      if (typeof hnum !== 'number' || !Buffer.isBuffer(blob))
        throw new Error(`Packages row ${String(hnum)} is not an integer and a blob`);
      return { hnum, blob };
    });
  } finally {
    db.close();
  }
}
