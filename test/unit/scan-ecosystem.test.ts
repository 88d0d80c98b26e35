import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScannedPackage } from '../../src/scan/analyze.ts';
import type { DetectedOs } from '../../src/scan/os-release.ts';
import { osvEcosystems } from '../../src/scan/scan-service.ts';

const pkg = (type: ScannedPackage['type']): ScannedPackage => ({
  type,
  name: 'libssl3',
  version: '3.0.8-r0',
  sourceName: 'openssl',
  sourceVersion: '3.0.8-r0',
  purl: 'pkg:apk/alpine/libssl3@3.0.8-r0',
  layerDigest: 'sha256:00',
  dbPath: '/lib/apk/db/installed',
});
const os = (id: string, versionId?: string): DetectedOs =>
  ({ id, idLike: [], family: id, ...(versionId ? { versionId } : {}) }) as DetectedOs;

describe('OSV ecosystem of a scanned OS package', () => {
  it('names Alpine releases by major.minor with a v, as OSV does', () => {
    assert.deepEqual(osvEcosystems(pkg('apk'), os('alpine', '3.17.2')), ['Alpine:v3.17']);
  });
  it('names Debian releases by major version', () => {
    assert.deepEqual(osvEcosystems(pkg('deb'), os('debian', '12')), ['Debian:12']);
    assert.deepEqual(osvEcosystems(pkg('deb'), os('debian', '11.7')), ['Debian:11']);
  });
  it('marks Ubuntu LTS releases', () => {
    assert.deepEqual(osvEcosystems(pkg('deb'), os('ubuntu', '22.04')), ['Ubuntu:22.04:LTS']);
    assert.deepEqual(osvEcosystems(pkg('deb'), os('ubuntu', '23.10')), ['Ubuntu:23.10']);
  });
  it('names Rocky Linux by major version and RHEL by its BaseOS and AppStream repositories', () => {
    assert.deepEqual(osvEcosystems(pkg('rpm'), os('rocky', '9.3')), ['Rocky Linux:9']);
    assert.deepEqual(osvEcosystems(pkg('rpm'), os('rhel', '9.4')), [
      'Red Hat:enterprise_linux:9::baseos',
      'Red Hat:enterprise_linux:9::appstream',
    ]);
  });
  it('uses the ecosystem of a language package whatever the OS', () => {
    assert.deepEqual(osvEcosystems(pkg('PyPI'), os('debian', '12')), ['PyPI']);
    assert.deepEqual(osvEcosystems(pkg('Go'), undefined), ['Go']);
  });
  it('gives no ecosystem without a release, so no other release’s advisory applies', () => {
    assert.deepEqual(osvEcosystems(pkg('apk'), os('alpine')), []);
    assert.deepEqual(osvEcosystems(pkg('deb'), undefined), []);
  });
});
