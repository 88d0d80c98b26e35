import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '../../src/db/open.ts';
import { importOsv } from '../../src/vuln/osv-import.ts';
import { apiRequest } from '../helpers/api.ts';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { ContainersSandbox } from '../helpers/containers.ts';
import { alpineLayout, sharedFixture } from '../helpers/fixtures.ts';
import { layoutTagDigest, readLayoutBlob } from '../helpers/oci-layout.ts';
import {
  type ExpectedFinding,
  expectedFindings,
  type InstalledPackage,
  readOsvRecords,
  semverCompare,
} from '../helpers/osv-expected.ts';
import { finishedReport, type ScanReport } from '../helpers/scan-wait.ts';
import { missingTools, run } from '../helpers/tools.ts';

const npmApp = new URL('../fixtures/npm-app/', import.meta.url).pathname;
const advisoryDir = (): string => sharedFixture('advisories', 'npm');

/** What `npm ci` put in node_modules: each installed package.json's name and version. */
async function installedPackages(app: string): Promise<InstalledPackage[]> {
  const modules = join(app, 'node_modules');
  const packages: InstalledPackage[] = [];
  for (const name of await readdir(modules)) {
    if (name.startsWith('.')) continue;
    const { name: installedName, version } = JSON.parse(
      await readFile(join(modules, name, 'package.json'), 'utf8'),
    ) as { name: string; version: string };
    packages.push({ name: installedName, version, advisoryName: installedName, advisoryVersion: version });
  }
  return packages;
}

describe('a Node.js app installed with npm ci on alpine:3.17.2 is scanned', {
  skip: missingTools('npm', 'umoci', 'skopeo'),
}, () => {
  let berth: TestBerth;
  let work: string | undefined;
  let installed: InstalledPackage[];
  let appLayer: string;
  let digest: string;
  let report: ScanReport;

  before(async () => {
    work = await makeTempDir('berth-scan-node-app-');
    const app = join(work, 'app');
    await mkdir(app);
    for (const file of ['package.json', 'package-lock.json']) await cp(join(npmApp, file), join(app, file));
    await run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app });
    installed = await installedPackages(app);

    // The app goes in as one new layer on the unchanged alpine base: umoci unpacks the base,
    // the app is copied in, and repack writes the difference as a layer.
    const layout = join(work, 'layout');
    await cp(alpineLayout(), layout, { recursive: true });
    const bundle = join(work, 'bundle');
    await run('umoci', ['unpack', '--image', `${layout}:v2`, bundle]);
    await cp(app, join(bundle, 'rootfs', 'app'), { recursive: true });
    await run('umoci', ['repack', '--image', `${layout}:v2`, bundle]);
    await run('umoci', ['config', '--image', `${layout}:v2`, '--config.workingdir', '/app']);
    const manifest = JSON.parse(
      (await readLayoutBlob(layout, await layoutTagDigest(layout, 'v2'))).toString('utf8'),
    ) as { layers: { digest: string }[] };
    assert.equal(manifest.layers.length, 2);
    appLayer = manifest.layers[1]!.digest;

    berth = await startTestBerth({ 'jobs.pollIntervalMs': 200 });
    const db = openDatabase(berth.config.database);
    try {
      const imported = await importOsv(db, advisoryDir());
      assert.deepEqual(imported.errors, []);
    } finally {
      await db.close();
    }
    const box = await ContainersSandbox.create(join(work, 'containers'));
    digest = await box.pushTo(`oci:${layout}:v2`, berth.url, `library/node-app:1`, testAdmin);
    const path = `/projects/library/repositories/node-app/artifacts/${digest}/scan`;
    const started = await apiRequest(berth, testAdmin, 'POST', path, { scan_type: 'vulnerability' });
    assert.equal(started.status, 202, started.body.toString());
    report = await finishedReport(berth, 'library', 'node-app', digest);
  });
  after(async () => {
    await berth?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('installed exactly lodash 4.17.4, jquery 3.3.1 and minimist 1.2.0', () => {
    const names = installed.map((pkg) => `${pkg.name}@${pkg.version}`).sort();
    assert.deepEqual(names, ['jquery@3.3.1', 'lodash@4.17.4', 'minimist@1.2.0']);
  });

  it('reports every GitHub advisory whose ranges hold an installed version, with its fixed versions', () => {
    const expected = expectedFindings(readOsvRecords(advisoryDir()), installed, 'npm', semverCompare);
    const found: ExpectedFinding[] = report.vulnerabilities
      .map((item) => ({
        id: item.id,
        package: item.package,
        version: item.version,
        fixed: item.fix_version === '' ? [] : item.fix_version.split(', '),
      }))
      .sort((a, b) => `${a.id} ${a.package}`.localeCompare(`${b.id} ${b.package}`));
    assert.deepEqual(found, expected);
    // Read by hand from the records, as a check on the expectation itself.
    assert.deepEqual(
      expected.map((finding) => `${finding.id} ${finding.package} ${finding.fixed.join(',')}`).sort(),
      [
        'GHSA-29mw-wpgm-hmr9 lodash 4.17.21',
        'GHSA-35jh-r3h4-6jhm lodash 4.17.21',
        'GHSA-4xc9-xhrj-v574 lodash 4.17.11',
        'GHSA-6c3j-c64m-qhgq jquery 3.4.0',
        'GHSA-fvqr-27wr-82fm lodash 4.17.5',
        'GHSA-gxr4-xjj5-5px2 jquery 3.5.0',
        'GHSA-jf85-cpcp-j695 lodash 4.17.12',
        'GHSA-jpcq-cgw6-v4j6 jquery 3.5.0',
        'GHSA-p6mc-m468-83gw lodash 4.17.20',
        'GHSA-vh95-rmgr-6w4m minimist 1.2.3',
        'GHSA-xvch-5gv4-984h minimist 1.2.6',
      ],
    );
  });

  it('reports nothing for packages that are not installed (express, node-fetch)', () => {
    const ids = new Set(report.vulnerabilities.map((item) => item.id));
    for (const id of [
      'GHSA-rv95-896h-c2vc',
      'GHSA-qw6h-vgh9-j6wx',
      'GHSA-w7rc-rwvf-8q5r',
      'GHSA-r683-j2x4-v87g',
    ])
      assert.ok(!ids.has(id), id);
    assert.ok(report.vulnerabilities.every((item) => item.vendor_attributes.ecosystem === 'npm'));
  });

  it('places every finding in the app layer of this image', () => {
    for (const item of report.vulnerabilities) {
      assert.deepEqual(item.layer, { digest: appLayer }, item.id);
      assert.deepEqual(item.artifact_digests, [digest]);
    }
  });
});
