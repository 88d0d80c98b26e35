import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Descriptor, ParsedManifest } from '../../src/oci/manifest.ts';
import { analyzeImage } from '../../src/scan/analyze.ts';
import {
  isInstalledPackageJson,
  isNpmLockfile,
  NpmFileSelection,
  npmPurl,
  parseInstalledPackageJson,
  parsePackageLock,
} from '../../src/scan/npm.ts';
import { MemoryBlobs } from '../helpers/layer-tars.ts';
import { missingTools, run } from '../helpers/tools.ts';

const fixtureDir = new URL('../fixtures/npm-app/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, fixtureDir), 'utf8');

const expected = [
  ['jquery', '3.3.1', 'pkg:npm/jquery@3.3.1', '/app/node_modules/jquery'],
  ['lodash', '4.17.4', 'pkg:npm/lodash@4.17.4', '/app/node_modules/lodash'],
  ['minimist', '1.2.0', 'pkg:npm/minimist@1.2.0', '/app/node_modules/minimist'],
];

const rows = (
  packages: { name: string; version: string; purl: string; path?: string; installPath?: string }[],
) =>
  packages
    .map((pkg) => [pkg.name, pkg.version, pkg.purl, pkg.path ?? pkg.installPath])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));

function imageOf(layers: Descriptor[]): ParsedManifest {
  return { mediaType: 'application/vnd.oci.image.manifest.v1+json', kind: 'image', layers, manifests: [] };
}

describe('npm lockfiles', () => {
  it('reads a real lockfileVersion 3 file, skipping the root project', () => {
    assert.deepEqual(rows(parsePackageLock(fixture('package-lock.json'), 'app/package-lock.json')), expected);
  });

  it('reads a real lockfileVersion 1 file written by npm 6', () => {
    assert.deepEqual(
      rows(parsePackageLock(fixture('package-lock.v1.json'), 'app/package-lock.json')),
      expected,
    );
  });

  it('follows v1 nesting and v2 paths, skips links and keeps one of each name, version and path', () => {
    // Real lockfiles with these shapes, cut down to the entries under test.
    const v1 = JSON.parse(fixture('package-lock.v1.json'));
    v1.dependencies.lodash.dependencies = { minimist: { ...v1.dependencies.minimist } };
    v1.dependencies.local = { version: 'file:../local' };
    const nested = rows(parsePackageLock(JSON.stringify(v1), 'package-lock.json'));
    assert.ok(nested.some((row) => row[3] === '/node_modules/lodash/node_modules/minimist'));
    assert.ok(!nested.some((row) => row[0] === 'local'));

    const v3 = JSON.parse(fixture('package-lock.json'));
    v3.packages['node_modules/@scope/linked'] = { resolved: 'packages/linked', link: true };
    v3.packages['node_modules/lodash/node_modules/@types/node'] = { version: '20.1.0' };
    const paths = rows(parsePackageLock(JSON.stringify(v3), 'srv/package-lock.json'));
    assert.ok(!paths.some((row) => row[0] === '@scope/linked'));
    assert.deepEqual(
      paths.find((row) => row[0] === '@types/node'),
      [
        '@types/node',
        '20.1.0',
        'pkg:npm/%40types/node@20.1.0',
        '/srv/node_modules/lodash/node_modules/@types/node',
      ],
    );
  });

  it('encodes the scope as the purl spec asks', () => {
    assert.equal(npmPurl('@babel/core', '7.0.0'), 'pkg:npm/%40babel/core@7.0.0');
    assert.equal(npmPurl('lodash', '4.17.4'), 'pkg:npm/lodash@4.17.4');
  });
});

describe('npm file selection', () => {
  it('wants installed package.json files and app lockfiles only', () => {
    assert.ok(isInstalledPackageJson('app/node_modules/lodash/package.json'));
    assert.ok(isInstalledPackageJson('usr/lib/node_modules/npm/node_modules/@npmcli/arborist/package.json'));
    assert.ok(!isInstalledPackageJson('app/package.json'));
    assert.ok(!isInstalledPackageJson('app/node_modules/lodash/fp/package.json'));
    assert.ok(!isInstalledPackageJson('app/node_modules/notascope/x/package.json'));
    assert.ok(isNpmLockfile('app/package-lock.json'));
    assert.ok(!isNpmLockfile('app/node_modules/x/package-lock.json'));
  });

  it('stops capturing at the per-image cap and says so', () => {
    const selection = new NpmFileSelection(2);
    assert.ok(selection.wants('a/node_modules/x/package.json'));
    assert.ok(selection.wants('a/package-lock.json'));
    assert.ok(selection.wants('a/node_modules/x/package.json'));
    assert.ok(!selection.wants('a/node_modules/y/package.json'));
    assert.ok(!selection.wants('etc/os-release'));
    assert.match(selection.note() ?? '', /more than 2 npm package files: 1 were not read/);
  });
});

describe('npm packages in an image', { skip: missingTools('npm') }, () => {
  const work = mkdtempSync(join(tmpdir(), 'berth-npm-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('reads package.json files of a real npm install', { timeout: 60_000 }, async () => {
    writeFileSync(join(work, 'package.json'), fixture('package.json'));
    writeFileSync(join(work, 'package-lock.json'), fixture('package-lock.json'));
    await run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: work, timeoutMs: 60_000 });
    const installed = ['jquery', 'lodash', 'minimist'].map((name) =>
      parseInstalledPackageJson(
        readFileSync(join(work, 'node_modules', name, 'package.json'), 'utf8'),
        `app/node_modules/${name}/package.json`,
      ),
    );
    assert.deepEqual(rows(installed.map((pkg) => pkg!)), expected);
  });

  it('lists lockfile and installed packages with purls and the layer that introduced them', async () => {
    const installedJson = (name: string) =>
      readFileSync(join(work, 'node_modules', name, 'package.json'), 'utf8');
    const blobs = new MemoryBlobs();
    const lockLayer = await blobs.addGzippedTar([
      { name: 'app/package.json', content: fixture('package.json') },
      { name: 'app/package-lock.json', content: fixture('package-lock.json') },
    ]);
    const installLayer = await blobs.addGzippedTar([
      { name: 'app/node_modules/lodash/package.json', content: installedJson('lodash') },
      { name: 'app/node_modules/jquery/package.json', content: installedJson('jquery') },
      { name: 'app/node_modules/minimist/package.json', content: installedJson('minimist') },
      // A nested copy at another path is another installed package.
      {
        name: 'app/node_modules/lodash/node_modules/minimist/package.json',
        content: installedJson('minimist'),
      },
    ]);
    const analysis = await analyzeImage(imageOf([lockLayer, installLayer]), blobs.open);
    const npm = analysis.packages.filter((pkg) => pkg.type === 'npm');
    assert.deepEqual(
      npm
        .map((pkg) => [pkg.name, pkg.version, pkg.purl, pkg.installPath, pkg.layerDigest, pkg.dbPath])
        .sort((a, b) => String(a[3]).localeCompare(String(b[3]))),
      [
        [...expected[0]!, lockLayer.digest, '/app/package-lock.json'],
        [...expected[1]!, lockLayer.digest, '/app/package-lock.json'],
        [
          'minimist',
          '1.2.0',
          'pkg:npm/minimist@1.2.0',
          '/app/node_modules/lodash/node_modules/minimist',
          installLayer.digest,
          '/app/node_modules/lodash/node_modules/minimist/package.json',
        ],
        [...expected[2]!, lockLayer.digest, '/app/package-lock.json'],
      ],
    );
    assert.ok(!npm.some((pkg) => pkg.name === 'berth-npm-fixture'), 'the app itself is not a package');
  });
});
