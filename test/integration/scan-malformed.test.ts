import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { apiRequest } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { RegistryClient } from '../helpers/http.ts';
import { tarOf } from '../helpers/layer-tars.ts';
import { missingTools } from '../helpers/tools.ts';

const reportMime = 'application/vnd.security.vulnerability.report; version=1.1';

interface Outcome {
  status: string;
  log: string;
  notes: string[];
}

/** A tar whose one entry claims `size` bytes in its header but carries only `actual` of them. */
async function tarClaimingSize(name: string, actual: string, size: number): Promise<Buffer> {
  const tar = await tarOf([{ name, content: actual }]);
  const header = tar.subarray(0, 512);
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return tar.subarray(0, 512 + Math.ceil(actual.length / 512) * 512);
}

/** `bytes` zero bytes in one file, gzipped as a stream: a small blob that expands enormously. */
async function gzipBomb(bytes: number): Promise<Buffer> {
  const header = (await tarOf([{ name: 'zeros', content: 'x' }])).subarray(0, 512);
  header.write(`${bytes.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  const zeros = Buffer.alloc(1024 * 1024);
  async function* tar(): AsyncGenerator<Buffer> {
    yield Buffer.from(header);
    for (let written = 0; written < bytes; written += zeros.length) yield zeros;
    yield Buffer.alloc(1024);
  }
  return buffer(Readable.from(tar()).pipe(createGzip({ level: 9 })));
}

describe('scans of malformed layers', { skip: missingTools('tar') }, () => {
  let berth: TestBerth;
  let client: RegistryClient;
  let work: string;
  let scanTemp: string;
  const escapeName = `berth-escape-${randomBytes(6).toString('hex')}`;

  async function scan(repository: string, layers: Buffer[]): Promise<Outcome> {
    const { digest } = await client.pushImage(`malformed/${repository}`, 'v1', { layers });
    const base = `/projects/malformed/repositories/${repository}/artifacts/${digest}`;
    const started = await apiRequest(berth, testAdmin, 'POST', `${base}/scan`);
    assert.equal(started.status, 202, started.body.toString());
    for (let attempt = 0; attempt < 600; attempt++) {
      const artifact = await apiRequest(berth, testAdmin, 'GET', `${base}?with_scan_overview=true`);
      const overview = (
        artifact.json() as { scan_overview: Record<string, { scan_status: string; report_id: string }> }
      ).scan_overview[reportMime];
      if (overview && ['Success', 'Error'].includes(overview.scan_status)) {
        const log = await apiRequest(berth, testAdmin, 'GET', `${base}/scan/${overview.report_id}/log`);
        assert.equal(log.status, 200, log.body.toString());
        const report = await apiRequest(berth, testAdmin, 'GET', `${base}/additions/vulnerabilities`);
        const notes =
          report.status === 200
            ? (report.json() as Record<string, { notes: string[] }>)[reportMime]!.notes
            : [];
        return { status: overview.scan_status, log: log.body.toString(), notes };
      }
      await sleep(100);
    }
    throw new Error(`the scan of ${repository} did not finish in 60 s`);
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-malformed-'));
    // Scans make their temp areas under the process's temp directory: a private one here, so
    // what they leave behind is seen apart from other test processes' scans.
    scanTemp = join(work, 'tmp');
    execFileSync('mkdir', ['-p', scanTemp]);
    process.env.TMPDIR = scanTemp;
    berth = await startTestBerth({ 'jobs.pollIntervalMs': 100 });
    client = new RegistryClient(berth.url);
    const created = await apiRequest(berth, testAdmin, 'POST', '/projects', { project_name: 'malformed' });
    assert.equal(created.status, 201, created.body.toString());
  });

  after(async () => {
    await berth.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('fails a truncated gzip layer with a message naming the layer', async () => {
    const layer = gzipSync(await tarOf([{ name: 'etc/os-release', content: 'ID=alpine\n'.repeat(5000) }]));
    const outcome = await scan('truncated', [layer.subarray(0, layer.length - 40)]);
    assert.equal(outcome.status, 'Error');
    assert.match(outcome.log, /scan failed: layer sha256:[0-9a-f]{64} is truncated or corrupt/);
  });

  it('stops a decompression bomb instead of expanding it', async () => {
    const bomb = await gzipBomb(512 * 1024 * 1024);
    assert.ok(bomb.length < 1024 * 1024, `the bomb is ${bomb.length} bytes`);
    const outcome = await scan('bomb', [bomb]);
    assert.equal(outcome.status, 'Error');
    assert.match(outcome.log, /expands more than 200 times its compressed size: a decompression bomb/);
  });

  it('fails a layer whose header claims a 10 GB file that is not there', async () => {
    const layer = gzipSync(await tarClaimingSize('var/lib/dpkg/status', 'Package: x\n', 10 * 1000 ** 3));
    const outcome = await scan('lying-size', [layer]);
    assert.equal(outcome.status, 'Error');
    assert.match(outcome.log, /is truncated or corrupt/);
  });

  it('streams past a real 10 GB sparse file written by GNU tar without reading 10 GB', async () => {
    const dir = join(work, 'sparse');
    execFileSync('mkdir', ['-p', join(dir, 'var/lib/dpkg'), join(dir, 'etc')]);
    execFileSync('truncate', ['-s', '10G', join(dir, 'var/lib/dpkg/status')]);
    execFileSync('truncate', ['-s', '10G', join(dir, 'big.img')]);
    execFileSync('sh', ['-c', 'printf "ID=debian\\nVERSION_ID=12\\n" > etc/os-release'], { cwd: dir });
    for (const format of ['gnu', 'posix']) {
      const tar = execFileSync(
        'tar',
        ['--sparse', `--format=${format}`, '-cf', '-', 'etc', 'var', 'big.img'],
        {
          cwd: dir,
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      assert.ok(tar.length < 1024 * 1024, `the ${format} archive is ${tar.length} bytes`);
      const outcome = await scan(`sparse-${format}`, [gzipSync(tar)]);
      assert.equal(outcome.status, 'Success', outcome.log);
    }
  });

  it('notes symlink loops and links that leave the image, and still reports', async () => {
    const layer = gzipSync(
      await tarOf([
        { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
        { name: 'usr/lib/os-release', type: 'symlink', linkname: '../../etc/os-release' },
        { name: 'lib/apk/db/installed', type: 'symlink', linkname: '../../../../../../etc/shadow' },
      ]),
    );
    const outcome = await scan('loops', [layer]);
    assert.equal(outcome.status, 'Success', outcome.log);
    assert.ok(
      outcome.notes.some((note) => note.includes('symlink loop')),
      outcome.notes.join('\n'),
    );
    assert.ok(
      outcome.notes.some((note) => note.includes('links outside the image')),
      outcome.notes.join('\n'),
    );
  });

  it('never writes a layer path anywhere: .. and absolute entries are ignored with a note', async () => {
    const target = join(work, escapeName);
    // A jar is spooled into the scan's temp area to be read: that area must be gone afterwards.
    const jarDir = join(work, 'jar');
    execFileSync('mkdir', ['-p', join(jarDir, 'META-INF/maven/org.example/demo')]);
    execFileSync(
      'sh',
      [
        '-c',
        'printf "groupId=org.example\\nartifactId=demo\\nversion=1.0\\n" > META-INF/maven/org.example/demo/pom.properties',
      ],
      { cwd: jarDir },
    );
    execFileSync('zip', ['-q', '-r', 'demo.jar', 'META-INF'], { cwd: jarDir });
    const layer = gzipSync(
      await tarOf([
        { name: `../../../../../../../..${target}`, content: 'escaped' },
        { name: target, content: 'absolute' },
        { name: `tmp/../../..${target}/package-lock.json`, content: '{}' },
        { name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.17.2\n' },
        { name: 'app/demo.jar', content: readFileSync(join(jarDir, 'demo.jar')) },
      ]),
    );
    const outcome = await scan('escape', [layer]);
    assert.equal(outcome.status, 'Success', outcome.log);
    assert.equal(existsSync(target), false);
    assert.ok(
      outcome.notes.some((note) => note.includes("entries with '..'")),
      outcome.notes.join('\n'),
    );
    const report = await apiRequest(
      berth,
      testAdmin,
      'GET',
      `/projects/malformed/repositories/escape/artifacts/v1/additions/vulnerabilities`,
    );
    const packages = (report.json() as Record<string, { packages: { purl: string }[] }>)[reportMime]!
      .packages;
    assert.deepEqual(
      packages.map((pkg) => pkg.purl),
      ['pkg:maven/org.example/demo@1.0'],
      'the jar was read',
    );
    const leftovers = readdirSync(scanTemp).filter((name) => name.startsWith('berth-scan-'));
    assert.deepEqual(leftovers, [], 'scan temp areas are removed');
  });

  it('keeps serving after all of them', async () => {
    const response = await client.request('GET', '/v2/');
    assert.equal(response.status, 200);
  });
});
