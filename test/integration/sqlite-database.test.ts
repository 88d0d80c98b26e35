import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after } from 'node:test';
import { databaseConformance } from '../../src/db/conformance.ts';
import { openSqliteDatabase } from '../../src/db/sqlite.ts';
import { makeTempDir } from '../helpers/berth.ts';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

databaseConformance('sqlite', async () => {
  const dir = await makeTempDir('berth-sqlite-');
  dirs.push(dir);
  const db = openSqliteDatabase({ path: join(dir, 'berth.db') });
  await db.migrate();
  return db;
});
