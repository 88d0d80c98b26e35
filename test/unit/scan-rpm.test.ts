import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { osFamily, parseOsRelease } from '../../src/scan/os-release.ts';
import {
  parseRpmDatabase,
  type RpmPackage,
  rpmDatabaseFormat,
  rpmDatabasePaths,
} from '../../src/scan/rpm.ts';
import { rpmOsvEcosystem, rpmOsvEcosystems } from '../../src/scan/rpm-ecosystem.ts';
import { RpmHeader, RpmHeaderError, rpmTag } from '../../src/scan/rpm-header.ts';
import { missingTools, run } from '../helpers/tools.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'rpm');
const dbPath = '/var/lib/rpm';

function detectedOs(file: string) {
  const release = parseOsRelease(readFileSync(join(fixtures, 'os-release', file), 'utf8'));
  return { ...release, family: osFamily(release) };
}
const rocky = detectedOs('rocky-9.3');

/** What rpm itself says a database holds, one line per package. */
const queryFormat =
  '%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH} %{SOURCERPM} %{VENDOR} %{MODULARITYLABEL}\\n';

async function rpmQuery(root: string, extra: string[] = []): Promise<string[]> {
  const { stdout } = await run('rpm', [
    ...extra,
    '--root',
    root,
    '--dbpath',
    dbPath,
    '-qa',
    '--qf',
    queryFormat,
  ]);
  return stdout.split('\n').filter(Boolean).sort();
}

/** The files rpm lists for each named package, as `name path` lines. */
async function rpmFiles(root: string, names: string[]): Promise<string[]> {
  const lines: string[] = [];
  for (const name of names) {
    const { stdout } = await run('rpm', [
      '--root',
      root,
      '--dbpath',
      dbPath,
      '-q',
      '--qf',
      '[%{FILENAMES}\\n]',
      name,
    ]);
    lines.push(
      ...stdout
        .split('\n')
        .filter(Boolean)
        .map((file) => `${name} ${file}`),
    );
  }
  return lines.sort();
}

/** The same line rebuilt from our parse: version and release split back out of `[e:]v-r`. */
function asQueryLine(pkg: RpmPackage): string {
  const split = (evr: string) => {
    const plain = evr.replace(/^\d+:/, '');
    const dash = plain.lastIndexOf('-');
    return [plain.slice(0, dash), plain.slice(dash + 1)];
  };
  const [version, release] = split(pkg.version);
  const [sourceVersion, sourceRelease] = split(pkg.sourceVersion);
  return [
    pkg.name,
    pkg.epoch ?? '(none)',
    version,
    release,
    pkg.arch ?? '(none)',
    `${pkg.sourceName}-${sourceVersion}-${sourceRelease}.src.rpm`,
    pkg.vendor ?? '(none)',
    pkg.modularityLabel ?? '(none)',
  ].join(' ');
}

const fileLines = (packages: RpmPackage[]) =>
  packages.flatMap((pkg) => (pkg.files ?? []).map((file) => `${pkg.name} ${file}`)).sort();

/** A Berkeley DB hash file made by Berkeley DB itself (db_load), keyed as rpm keys Packages. */
async function writeBdb(target: string, blobs: Buffer[], pageSize: number, copies: number): Promise<void> {
  const hex = (bytes: Buffer) => ` ${bytes.toString('hex')}\n`;
  let text = `VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=${pageSize}\nHEADER=END\n`;
  let hnum = 0;
  for (let copy = 0; copy < copies; copy++) {
    for (const blob of blobs) {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(++hnum);
      text += hex(key) + hex(blob);
    }
  }
  text += 'DATA=END\n';
  const dump = `${target}.txt`;
  writeFileSync(dump, text);
  await run('db5.3_load', ['-f', dump, target]);
}

describe('rpm databases', { skip: missingTools('rpm', 'rpmbuild', 'db5.3_load', 'gpg') }, () => {
  let work: string;
  let root: string;
  let sqliteFile: string;
  let blobs: Buffer[];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-rpm-'));
    const top = join(work, 'rpmbuild');
    for (const spec of ['widget.spec', 'gadget.spec'])
      await run('rpmbuild', ['--quiet', '--define', `_topdir ${top}`, '-bb', join(fixtures, 'specs', spec)]);
    const rpms = (readdirSync(join(top, 'RPMS'), { recursive: true }) as string[])
      .filter((name) => name.endsWith('.rpm'))
      .map((name) => join(top, 'RPMS', name));
    assert.equal(rpms.length, 3);
    root = join(work, 'root');
    mkdirSync(root);
    await run('rpm', ['--root', root, '--dbpath', dbPath, '--initdb']);
    await run('rpm', [
      '--root',
      root,
      '--dbpath',
      dbPath,
      '-i',
      '--nodeps',
      '--justdb',
      '--noscripts',
      ...rpms,
    ]);
    // A trusted signing key, which rpm stores as a `gpg-pubkey` pseudo-package.
    const gnupg = join(work, 'gnupg');
    mkdirSync(gnupg, { mode: 0o700 });
    const env = { ...process.env, GNUPGHOME: gnupg };
    await run(
      'gpg',
      [
        '--batch',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        '',
        '--quick-gen-key',
        'Berth Test <test@example.invalid>',
        'ed25519',
        'sign',
        'never',
      ],
      { env },
    );
    const { stdout: key } = await run('gpg', ['--armor', '--export'], { env });
    writeFileSync(join(work, 'key.asc'), key);
    await run('rpm', ['--root', root, '--dbpath', dbPath, '--import', join(work, 'key.asc')]);
    sqliteFile = join(root, dbPath, 'rpmdb.sqlite');
    const db = new Database(sqliteFile, { readonly: true });
    blobs = db.prepare('SELECT blob FROM Packages ORDER BY hnum').pluck().all() as Buffer[];
    db.close();
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  it('reads rpmdb.sqlite (rpm 4.18, WAL mode) exactly as rpm -qa does', async () => {
    const content = readFileSync(sqliteFile);
    assert.equal(content[18], 2, 'rpm left the database in WAL mode');
    assert.equal(rpmDatabaseFormat(content), 'sqlite');
    const { packages, notes } = parseRpmDatabase(content, rocky, '/var/lib/rpm/rpmdb.sqlite');
    assert.deepEqual(notes, []);
    const expected = (await rpmQuery(root)).filter((line) => !line.startsWith('gpg-pubkey '));
    assert.equal(expected.length, 3);
    assert.deepEqual(packages.map(asQueryLine).sort(), expected);
    const files = fileLines(packages);
    assert.equal(files.length, 2);
    assert.deepEqual(
      files,
      await rpmFiles(
        root,
        packages.map((pkg) => pkg.name),
      ),
    );
  });

  it('describes packages as OSV and purl expect them', () => {
    const { packages } = parseRpmDatabase(readFileSync(sqliteFile), rocky);
    const tools = packages.find((pkg) => pkg.name === 'widget-tools');
    assert.deepEqual(tools, {
      name: 'widget-tools',
      version: '2:1.4.2-3.el9',
      sourceName: 'widget-src',
      sourceVersion: '2:1.4.2-3.el9',
      arch: 'noarch',
      purl: 'pkg:rpm/rocky/widget-tools@1.4.2-3.el9?arch=noarch&distro=rocky-9.3&epoch=2',
      epoch: 2,
      vendor: 'Berth Tests',
      modularityLabel: 'widget:1.4:9020020230101:abcdef12',
    });
    const gadget = packages.find((pkg) => pkg.name === 'gadget');
    assert.equal(gadget?.version, '0.9~rc1-1');
    assert.match(
      gadget?.purl ?? '',
      /^pkg:rpm\/rocky\/gadget@0\.9~rc1-1\?arch=[a-z0-9_]+&distro=rocky-9\.3$/,
    );
    const suse = parseRpmDatabase(readFileSync(sqliteFile), detectedOs('opensuse-leap-15.5')).packages;
    assert.match(suse[0]!.purl, /^pkg:rpm\/opensuse\/.*distro=opensuse-15\.5/);
  });

  for (const pageSize of [512, 4096, 65536]) {
    it(`reads a Berkeley DB Packages file (${pageSize}-byte pages) as rpm's bdb_ro backend does`, async () => {
      const bdbRoot = join(work, `bdb-${pageSize}`);
      mkdirSync(join(bdbRoot, dbPath), { recursive: true });
      const file = join(bdbRoot, dbPath, 'Packages');
      // Many copies spread the values over many hash pages; small pages push them to overflow chains.
      await writeBdb(file, blobs, pageSize, 60);
      const content = readFileSync(file);
      assert.equal(rpmDatabaseFormat(content), 'bdb');
      const { packages, notes } = parseRpmDatabase(content, rocky);
      assert.deepEqual(notes, []);
      const expected = (await rpmQuery(bdbRoot, ['--define', '_db_backend bdb_ro'])).filter(
        (line) => !line.startsWith('gpg-pubkey '),
      );
      assert.equal(expected.length, 3 * 60);
      assert.deepEqual(packages.map(asQueryLine).sort(), expected);
    });
  }

  it('skips a corrupt header with a note and keeps the other packages', () => {
    const copy = join(work, 'corrupt.sqlite');
    copyFileSync(sqliteFile, copy);
    const db = new Database(copy);
    const hnum = db.prepare("SELECT hnum FROM Name WHERE key = 'gadget'").pluck().get() as number;
    const blob = db.prepare('SELECT blob FROM Packages WHERE hnum = ?').pluck().get(hnum) as Buffer;
    db.prepare('UPDATE Packages SET blob = ? WHERE hnum = ?').run(blob.subarray(0, blob.length - 40), hnum);
    db.close();
    const { packages, notes } = parseRpmDatabase(readFileSync(copy), rocky, '/var/lib/rpm/rpmdb.sqlite');
    assert.deepEqual(packages.map((pkg) => pkg.name).sort(), ['widget-src', 'widget-tools']);
    assert.equal(notes.length, 1);
    assert.match(
      notes[0]!,
      new RegExp(`^rpm package ${hnum} in /var/lib/rpm/rpmdb.sqlite was skipped: rpm header: .*bytes`),
    );
  });

  it('names a few corrupt headers and counts the rest', async () => {
    const file = join(work, 'corrupt-bdb');
    await writeBdb(
      file,
      blobs.map((blob) => blob.subarray(0, 100)),
      4096,
      10,
    );
    const { packages, notes } = parseRpmDatabase(readFileSync(file), rocky);
    assert.deepEqual(packages, []);
    assert.equal(notes.length, 6);
    assert.match(notes[0]!, /^rpm package 1 in \/var\/lib\/rpm\/Packages was skipped: rpm header: /);
    assert.equal(
      notes[5],
      `${blobs.length * 10 - 5} more corrupt rpm packages in /var/lib/rpm/Packages were skipped`,
    );
  });

  it('rejects damaged header blobs with RpmHeaderError only', () => {
    const blob = blobs[0]!;
    const readAll = (bytes: Buffer) => {
      const header = RpmHeader.parse(bytes);
      const { epoch, dirIndexes, baseNames, dirNames, oldFileNames, ...strings } = rpmTag;
      for (const tag of Object.values(strings)) header.string(tag);
      for (const tag of [epoch, dirIndexes]) header.int32Array(tag);
      for (const tag of [baseNames, dirNames, oldFileNames]) header.stringArray(tag);
    };
    // Must be refused: truncations, an absurd entry count, offsets past the data store.
    const broken: Buffer[] = [Buffer.alloc(0), Buffer.alloc(7)];
    for (let length = 0; length < blob.length; length += 13) broken.push(blob.subarray(0, length));
    const huge = Buffer.from(blob);
    huge.writeUInt32BE(0x7fffffff, 0);
    broken.push(huge);
    const entries = blob.readUInt32BE(0);
    const withField = (entry: number, field: number) => {
      const bad = Buffer.from(blob);
      bad.writeUInt32BE(0xfffffff0, 8 + entry * 16 + field);
      return bad;
    };
    for (let i = 0; i < entries; i++) broken.push(withField(i, 8));
    // Absurd counts must be refused in the tags we read; in others they may pass unnoticed.
    const readTags = new Set<number>(Object.values(rpmTag));
    const tagAt = (entry: number) => blob.readUInt32BE(8 + entry * 16);
    for (let i = 0; i < entries; i++) if (readTags.has(tagAt(i))) broken.push(withField(i, 12));
    const others: Buffer[] = [];
    for (let i = 0; i < entries; i++) if (!readTags.has(tagAt(i))) others.push(withField(i, 12));
    const rejects = (bytes: Buffer): boolean => {
      try {
        readAll(bytes);
        return false;
      } catch (error) {
        assert.ok(error instanceof RpmHeaderError, `${(error as Error).name}: ${(error as Error).message}`);
        return true;
      }
    };
    for (const bytes of broken) assert.ok(rejects(bytes), `${bytes.length} damaged bytes were accepted`);
    for (const bytes of others) rejects(bytes);
    assert.ok(broken.length > 100);
    assert.throws(() => RpmHeader.parse(huge), /entries is out of range/);
    // A one-entry header whose NAME string runs off the end of the store without its NUL.
    const unterminated = Buffer.alloc(8 + 16 + 3);
    unterminated.writeUInt32BE(1, 0);
    unterminated.writeUInt32BE(3, 4);
    unterminated.writeUInt32BE(rpmTag.name, 8);
    unterminated.writeUInt32BE(6, 12);
    unterminated.writeUInt32BE(1, 20);
    unterminated.write('abc', 24, 'latin1');
    assert.throws(() => RpmHeader.parse(unterminated).string(rpmTag.name), /no terminating NUL/);
  });

  it('notes a database it cannot read instead of failing', () => {
    // rpm's ndb backend (SUSE) starts Packages.db with the 'RpmP' magic of lib/backend/ndb/rpmpkg.c.
    const ndb = Buffer.concat([Buffer.from('RpmP', 'latin1'), Buffer.alloc(60)]);
    assert.deepEqual(parseRpmDatabase(ndb, detectedOs('sles-15-sp5'), '/var/lib/rpm/Packages.db'), {
      packages: [],
      notes: ['rpm database format ndb at /var/lib/rpm/Packages.db is not read'],
    });
    // A Berkeley DB btree metadata page (magic 0x053162 at offset 12): rpm's Packages is a hash.
    const btree = Buffer.alloc(4096);
    btree.writeUInt32LE(0x00053162, 12);
    const bdb = parseRpmDatabase(btree, rocky);
    assert.deepEqual(bdb.notes, [
      'rpm database (Berkeley DB) at /var/lib/rpm/Packages could not be read: not a Berkeley DB hash database',
    ]);
    const noTable = join(work, 'empty.sqlite');
    new Database(noTable).exec('CREATE TABLE Other (x)').close();
    const sqlite = parseRpmDatabase(readFileSync(noTable), rocky, '/var/lib/rpm/rpmdb.sqlite');
    assert.match(
      sqlite.notes[0]!,
      /^rpm database \(SQLite \(rpmdb\.sqlite\)\) at .* could not be read: no such table: Packages/,
    );
    // A view named Packages that never ends (a recursive query) must not be run: it would block
    // the process that scans. It is refused by its kind before any row is read.
    const endless = join(work, 'endless.sqlite');
    new Database(endless)
      .exec(
        'CREATE VIEW Packages AS WITH RECURSIVE n(hnum) AS (SELECT 1 UNION ALL SELECT hnum + 1 FROM n) SELECT hnum, zeroblob(16) AS blob FROM n',
      )
      .close();
    const started = Date.now();
    const view = parseRpmDatabase(readFileSync(endless), rocky, '/var/lib/rpm/rpmdb.sqlite');
    assert.ok(Date.now() - started < 1000, 'refused at once');
    assert.match(view.notes[0]!, /could not be read: Packages is a view, not a table$/);
    assert.deepEqual(parseRpmDatabase(Buffer.from('not a database'), rocky).notes, [
      'rpm database format unknown at /var/lib/rpm/Packages is not read',
    ]);
  });

  it('lists the database paths, sqlite first', () => {
    assert.equal(rpmDatabasePaths[0], 'var/lib/rpm/rpmdb.sqlite');
    assert.ok(rpmDatabasePaths.includes('var/lib/rpm/Packages'));
  });
});

describe('OSV ecosystems of rpm distributions (real os-release files)', () => {
  it('names each distribution as OSV does', () => {
    assert.equal(rpmOsvEcosystem(rocky), 'Rocky Linux:9');
    assert.equal(rpmOsvEcosystem(detectedOs('almalinux-9.2')), 'AlmaLinux:9');
    assert.deepEqual(rpmOsvEcosystems(detectedOs('rhel-9.2')), [
      'Red Hat:enterprise_linux:9::baseos',
      'Red Hat:enterprise_linux:9::appstream',
    ]);
    assert.equal(rpmOsvEcosystem(detectedOs('sles-15-sp5')), 'SUSE:Linux Enterprise Server 15 SP5');
    assert.equal(rpmOsvEcosystem(detectedOs('opensuse-leap-15.5')), 'openSUSE:Leap 15.5');
    assert.equal(rpmOsvEcosystem(detectedOs('opensuse-tumbleweed')), 'openSUSE:Tumbleweed');
  });

  it('has none for distributions OSV does not cover', () => {
    assert.equal(
      rpmOsvEcosystem({ id: 'amzn', versionId: '2023', idLike: ['fedora'], family: 'amzn' }),
      undefined,
    );
    assert.equal(
      rpmOsvEcosystem({ id: 'centos', versionId: '7', idLike: ['rhel'], family: 'rhel-like' }),
      undefined,
    );
    assert.equal(rpmOsvEcosystem(undefined), undefined);
  });
});
