import assert from 'node:assert/strict';
import {
  copyFileSync,
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { elfDetector, javaArchiveDetector, streamDetectors } from '../../src/scan/binary/index.ts';
import { javaArchiveLimits, readJavaArchive } from '../../src/scan/binary/java-archive.ts';
import { javaSummaryNotes } from '../../src/scan/binary/java-detector.ts';
import type { LanguagePackage, StreamDetector } from '../../src/scan/language-package.ts';
import { missingTools, run } from '../helpers/tools.ts';

const fixtures = fileURLToPath(new URL('../fixtures/binaries/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'berth-binary-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A scan's private temp directory, checked empty after every extraction. */
const tempDir = join(work, 'scan-temp');
mkdirSync(tempDir);

interface Extracted {
  packages: LanguagePackage[] | undefined;
  summary: Buffer | undefined;
}

/** Streams a real file through a detector as the walker would, in chunks of `chunkBytes`. */
async function extract(
  detector: StreamDetector,
  file: string,
  imagePath: string,
  chunkBytes = 64 * 1024,
): Promise<Extracted> {
  const size = statSync(file).size;
  const content = createReadStream(file, { highWaterMark: chunkBytes });
  const summary = await detector.extract(content, { path: imagePath, size, tempDir });
  content.destroy();
  assert.deepEqual(readdirSync(tempDir), [], 'the detector leaves no file behind');
  return { summary, packages: summary ? detector.parse(summary, imagePath) : undefined };
}

const rows = (packages: LanguagePackage[] | undefined): string[] =>
  (packages ?? []).map((pkg) => `${pkg.ecosystem} ${pkg.name}@${pkg.version} ${pkg.purl} ${pkg.path}`).sort();

const names = (packages: LanguagePackage[] | undefined): string[] =>
  (packages ?? []).map((pkg) => `${pkg.name}@${pkg.version}`).sort();

describe('stream detector selection', () => {
  it('sends executables to the ELF detector and Java archives, executable or not, to the Java one', () => {
    const pick = (path: string, size: number, mode: number): string[] =>
      streamDetectors
        .filter((detector) => detector.matches(path, size, mode))
        .map((detector) => detector.name);
    assert.deepEqual(pick('usr/bin/skopeo', 16_000_000, 0o755), ['elf-binary']);
    assert.deepEqual(pick('usr/lib/x86_64-linux-gnu/libz.so.1', 120_000, 0o644), []);
    assert.deepEqual(pick('app/app.jar', 5_000, 0o644), ['java-archive']);
    assert.deepEqual(pick('app/run.JAR', 5_000, 0o755), ['java-archive']);
    for (const name of ['a.war', 'b.ear', 'c.jpi', 'd.hpi'])
      assert.deepEqual(pick(name, 100, 0o600), ['java-archive']);
    assert.deepEqual(pick('usr/bin/tiny', 10, 0o755), []);
    assert.deepEqual(pick('app/empty.jar', 0, 0o644), []);
  });
});

/** The toolchain and modules `go version -m` reports, as `name@version` rows like the detector's. */
async function goVersionM(file: string): Promise<string[]> {
  const { stdout } = await run('go', ['version', '-m', file]);
  const [first = '', ...lines] = stdout.split('\n');
  const expected: string[] = [];
  const toolchain = /: go(\d+\.\d+(?:\.\d+)?)$/.exec(first.trim());
  if (toolchain)
    expected.push(`stdlib@${toolchain[1]!.split('.').length === 2 ? `${toolchain[1]}.0` : toolchain[1]}`);
  let pending: { path: string; version: string } | undefined;
  const flush = (): void => {
    if (pending && pending.version !== '' && pending.version !== '(devel)') {
      expected.push(`${pending.path}@${pending.version.replace(/^v/, '')}`);
    }
    pending = undefined;
  };
  for (const line of lines) {
    const [, kind, path = '', version = ''] = line.split('\t');
    if (kind === 'mod' || kind === 'dep') {
      flush();
      pending = { path, version };
    } else if (kind === '=>') pending = { path, version };
  }
  flush();
  return expected.sort();
}

describe('Go binaries', { skip: missingTools('go', 'skopeo', 'umoci') }, () => {
  let vendored = '';
  before(async () => {
    const source = join(work, 'go-vendored');
    await run('cp', ['-r', join(fixtures, 'go-vendored'), source]);
    vendored = join(work, 'hello-go');
    await run('go', ['build', '-mod=vendor', '-o', vendored, '.'], {
      cwd: source,
      env: {
        ...process.env,
        GOPROXY: 'off',
        GOFLAGS: '',
        GOCACHE: join(work, 'gocache'),
        GOPATH: join(work, 'gopath'),
      },
    });
  });

  it('reads module-mode build information as go version -m does, replacements applied', async () => {
    const { packages } = await extract(elfDetector, vendored, 'app/hello');
    assert.deepEqual(names(packages), await goVersionM(vendored));
    assert.ok(
      names(packages).includes('example.com/newcolor@0.3.1'),
      'the replacement, not example.com/color',
    );
    assert.ok(
      !names(packages).some((row) => row.startsWith('example.com/hello@')),
      '(devel) main module left out',
    );
    const greeting = packages?.find((pkg) => pkg.name === 'example.com/greeting');
    assert.deepEqual(greeting, {
      ecosystem: 'Go',
      name: 'example.com/greeting',
      version: '1.4.0',
      purl: 'pkg:golang/example.com/greeting@v1.4.0',
      path: '/app/hello',
    });
    assert.equal(packages?.find((pkg) => pkg.name === 'stdlib')?.purl.startsWith('pkg:golang/stdlib@'), true);
  });

  it('finds the build information across any chunk boundary', async () => {
    const expected = await goVersionM(vendored);
    for (const chunkBytes of [4093, 16 * 1024 + 7]) {
      assert.deepEqual(
        names((await extract(elfDetector, vendored, 'app/hello', chunkBytes)).packages),
        expected,
      );
    }
  });

  it('reads Debian-built Go programs (GOPATH mode: the toolchain only) and the go tool itself', async () => {
    const { stdout: goroot } = await run('go', ['env', 'GOROOT']);
    // The go tool imports debug/buildinfo, so its read-only data holds a stray copy of the magic.
    for (const file of [
      (await run('which', ['skopeo'])).stdout.trim(),
      (await run('which', ['umoci'])).stdout.trim(),
      join(goroot.trim(), 'bin', 'go'),
    ]) {
      const { packages } = await extract(elfDetector, file, file.slice(1));
      assert.deepEqual(names(packages), await goVersionM(file), file);
      assert.ok(packages?.every((pkg) => pkg.path === file && pkg.ecosystem === 'Go'));
    }
  });

  it('returns nothing for truncated binaries, without throwing', async () => {
    const whole = readFileSync(vendored);
    const magic = whole.indexOf(Buffer.from('\xff Go buildinf:', 'latin1'), 0);
    assert.ok(magic > 0);
    for (const [name, length] of [
      ['header-only', 40],
      ['before-buildinfo', magic - 100],
      ['mid-buildinfo', magic + 40],
    ] as const) {
      const file = join(work, name);
      writeFileSync(file, whole.subarray(0, length));
      assert.equal((await extract(elfDetector, file, `app/${name}`)).summary, undefined, name);
    }
    const script = join(work, 'script.sh');
    writeFileSync(script, '#!/bin/sh\necho this executable is a shell script, not an ELF file\n');
    assert.equal((await extract(elfDetector, script, 'usr/bin/script.sh')).summary, undefined);
  });
});

// cargo-auditable is not packaged in Debian bookworm and crates.io is unreachable here, so no binary
// built by it can be had: a real rustc-built program gets a `.dep-v0` section added by objcopy,
// holding zlib-compressed JSON in cargo-auditable's documented format (fixtures/binaries/README.md).
describe('Rust binaries with cargo-auditable data', {
  skip: missingTools('rustc', 'objcopy', 'strip'),
}, () => {
  let plain = '';
  before(async () => {
    plain = join(work, 'hello-rust');
    await run('rustc', ['-C', 'opt-level=1', join(fixtures, 'rust', 'main.rs'), '-o', plain]);
  });

  async function withAuditData(binary: string, output: string): Promise<string> {
    const section = join(work, 'dep-v0.zlib');
    writeFileSync(section, deflateSync(readFileSync(join(fixtures, 'rust', 'audit-data.json'))));
    await run('objcopy', ['--add-section', `.dep-v0=${section}`, binary, output]);
    return output;
  }

  const expected = [
    'crates.io serde@1.0.130 pkg:cargo/serde@1.0.130 /usr/local/bin/hello',
    'crates.io smallvec@1.6.0 pkg:cargo/smallvec@1.6.0 /usr/local/bin/hello',
  ];

  it('reads the registry crates of .dep-v0 behind debug info (the tail is spooled to tempDir)', async () => {
    const binary = await withAuditData(plain, join(work, 'hello-auditable'));
    assert.ok(
      statSync(binary).size > 2 * 1024 * 1024,
      'debug info makes the unmapped tail bigger than memory holds',
    );
    assert.deepEqual(rows((await extract(elfDetector, binary, 'usr/local/bin/hello')).packages), expected);
    assert.deepEqual(
      rows((await extract(elfDetector, binary, 'usr/local/bin/hello', 5003)).packages),
      expected,
    );
  });

  it('reads a stripped binary and ignores one without audit data', async () => {
    const stripped = join(work, 'hello-stripped');
    await run('strip', ['-o', stripped, plain]);
    const binary = await withAuditData(stripped, join(work, 'hello-stripped-auditable'));
    assert.deepEqual(rows((await extract(elfDetector, binary, 'usr/local/bin/hello')).packages), expected);
    assert.equal((await extract(elfDetector, plain, 'usr/local/bin/hello')).summary, undefined);
    assert.equal((await extract(elfDetector, stripped, 'usr/local/bin/hello')).summary, undefined);
  });

  it('returns nothing for a truncated binary or corrupt audit data, without throwing', async () => {
    const binary = await withAuditData(plain, join(work, 'hello-auditable-2'));
    const cut = join(work, 'hello-cut');
    writeFileSync(cut, readFileSync(binary).subarray(0, statSync(binary).size - 500));
    assert.equal((await extract(elfDetector, cut, 'usr/local/bin/hello')).summary, undefined);
    const garbage = join(work, 'garbage.zlib');
    writeFileSync(garbage, Buffer.from('not zlib at all, just text'));
    const corrupt = join(work, 'hello-corrupt');
    await run('objcopy', ['--add-section', `.dep-v0=${garbage}`, plain, corrupt]);
    assert.equal((await extract(elfDetector, corrupt, 'usr/local/bin/hello')).summary, undefined);
  });
});

/** Reads a jar's pom.properties with `unzip`, as the independent expectation. */
async function pomRows(jar: string, inner: string): Promise<string[]> {
  const { stdout: listing } = await run('unzip', ['-Z1', jar]);
  const rowsOut: string[] = [];
  for (const entry of listing
    .split('\n')
    .filter((name) => /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/.test(name))) {
    const { stdout } = await run('unzip', ['-p', jar, entry]);
    const value = (key: string): string => new RegExp(`^${key}=(.*)$`, 'm').exec(stdout)?.[1]?.trim() ?? '';
    const [group, artifact, version] = [value('groupId'), value('artifactId'), value('version')];
    rowsOut.push(`Maven ${group}:${artifact}@${version} pkg:maven/${group}/${artifact}@${version} ${inner}`);
  }
  return rowsOut;
}

describe('Java archives', { skip: missingTools('jar', 'unzip', 'zip') }, () => {
  const lang3 = '/usr/share/java/commons-lang3.jar';
  const guava = '/usr/share/java/guava.jar';
  const commonsIo = '/usr/share/java/commons-io.jar';
  const guice = '/usr/share/java/guice-no-aop.jar';
  const shaded = '/usr/share/java/wagon-http-shaded.jar';
  let fatJar = '';
  let war = '';

  before(async () => {
    // inner.jar (compressed) holds commons-io; the fat jar stores its libraries as Spring Boot does.
    const innerStage = join(work, 'inner-stage');
    mkdirSync(join(innerStage, 'lib'), { recursive: true });
    copyFileSync(commonsIo, join(innerStage, 'lib', basename(commonsIo)));
    const inner = join(work, 'inner.jar');
    await run('jar', ['--create', '--file', inner, '-C', innerStage, '.']);
    const stage = join(work, 'fat-stage');
    mkdirSync(join(stage, 'BOOT-INF', 'lib'), { recursive: true });
    for (const jar of [lang3, guava, inner]) copyFileSync(jar, join(stage, 'BOOT-INF', 'lib', basename(jar)));
    fatJar = join(work, 'app.jar');
    await run('jar', ['--create', '--no-compress', '--file', fatJar, '-C', stage, '.']);
    const warStage = join(work, 'war-stage');
    mkdirSync(join(warStage, 'WEB-INF', 'lib'), { recursive: true });
    copyFileSync(guice, join(warStage, 'WEB-INF', 'lib', basename(guice)));
    war = join(work, 'app.war');
    await run('jar', ['--create', '--file', war, '-C', warStage, '.']);
  });

  it('reads every pom.properties of a real jar, shaded ones included', async () => {
    for (const jar of [lang3, shaded]) {
      const { packages } = await extract(javaArchiveDetector, jar, jar.slice(1));
      assert.deepEqual(rows(packages), (await pomRows(jar, jar)).sort());
    }
  });

  it('falls back on the manifest of a jar without pom.properties', async () => {
    const { stdout: manifest } = await run('unzip', ['-p', guice, 'META-INF/MANIFEST.MF']);
    const version = /^Bundle-Version: (.*)$/m.exec(manifest)?.[1]?.trim();
    const symbolicName = /^Bundle-SymbolicName: (.*)$/m.exec(manifest)?.[1]?.trim();
    const { packages } = await extract(javaArchiveDetector, guice, 'opt/lib/guice-no-aop.jar');
    assert.deepEqual(rows(packages), [
      `Maven ${symbolicName}:guice-no-aop@${version} pkg:maven/${symbolicName}/guice-no-aop@${version} /opt/lib/guice-no-aop.jar`,
    ]);
  });

  it('recurses into a fat jar and a war, naming nested paths with !/', async () => {
    const expectedJar = [
      ...(await pomRows(lang3, '/app/app.jar!/BOOT-INF/lib/commons-lang3.jar')),
      ...(await pomRows(guava, '/app/app.jar!/BOOT-INF/lib/guava.jar')),
      ...(await pomRows(commonsIo, '/app/app.jar!/BOOT-INF/lib/inner.jar!/lib/commons-io.jar')),
    ].sort();
    assert.ok(expectedJar.length >= 3);
    assert.deepEqual(rows((await extract(javaArchiveDetector, fatJar, 'app/app.jar')).packages), expectedJar);
    const warRows = rows((await extract(javaArchiveDetector, war, 'srv/app.war')).packages);
    assert.equal(warRows.length, 1);
    assert.match(warRows[0]!, / \/srv\/app\.war!\/WEB-INF\/lib\/guice-no-aop\.jar$/);
  });

  it('writes big nested archives to tempDir and removes them; stops at the depth limit with a note', async () => {
    const onDisk = await readJavaArchive(fatJar, 'app.jar', tempDir, {
      ...javaArchiveLimits,
      maxInMemoryBytes: 0,
    });
    assert.equal(
      onDisk.packages.length,
      (await extract(javaArchiveDetector, fatJar, 'app/app.jar')).packages?.length,
    );
    assert.deepEqual(readdirSync(tempDir), []);
    const shallow = await readJavaArchive(fatJar, 'app.jar', tempDir, { ...javaArchiveLimits, maxDepth: 1 });
    assert.ok(!shallow.packages.some((pkg) => pkg.inner.includes('commons-io')));
    assert.ok(shallow.packages.some((pkg) => pkg.artifactId === 'commons-lang3'));
    assert.match(shallow.notes.join('\n'), /nested deeper than 1 levels/);
  });

  it('stops at a zip bomb, an entry-count limit and a file that is not a zip, with a clear note', async () => {
    const bombStage = join(work, 'bomb-stage');
    mkdirSync(join(bombStage, 'WEB-INF', 'lib'), { recursive: true });
    copyFileSync(lang3, join(bombStage, 'a-commons-lang3.jar'));
    writeFileSync(join(bombStage, 'WEB-INF', 'lib', 'zeros.jar'), Buffer.alloc(32 * 1024 * 1024));
    const bomb = join(work, 'bomb.war');
    await run('zip', ['-q', '-9', '-r', bomb, 'a-commons-lang3.jar', 'WEB-INF'], { cwd: bombStage });
    assert.ok(statSync(bomb).size < 1024 * 1024);
    const bombed = await extract(javaArchiveDetector, bomb, 'srv/bomb.war');
    assert.deepEqual(rows(bombed.packages), await pomRows(lang3, '/srv/bomb.war!/a-commons-lang3.jar'));
    assert.match(
      javaSummaryNotes(bombed.summary!).join('\n'),
      /\/srv\/bomb\.war: exceeds a limit: .*zeros\.jar inflates more than 100 times/,
    );

    const crowded = await readJavaArchive(lang3, 'commons-lang3.jar', tempDir, {
      ...javaArchiveLimits,
      maxEntries: 10,
    });
    assert.deepEqual(crowded, { packages: [], notes: ['exceeds a limit: more than 10 entries'] });

    const notZip = join(work, 'broken.jar');
    writeFileSync(
      notZip,
      'this file is named like a jar but holds plain text, not a zip archive\n'.repeat(20),
    );
    const broken = await extract(javaArchiveDetector, notZip, 'app/broken.jar');
    assert.deepEqual(broken.packages, []);
    assert.match(javaSummaryNotes(broken.summary!)[0]!, /^\/app\/broken\.jar: is not a readable archive: /);

    const cut = join(work, 'cut.jar');
    writeFileSync(cut, readFileSync(fatJar).subarray(0, 100_000));
    const truncated = await extract(javaArchiveDetector, cut, 'app/cut.jar');
    assert.deepEqual(truncated.packages, []);
    assert.match(javaSummaryNotes(truncated.summary!)[0]!, /is not a readable archive/);
  });
});
