import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScannedPackage } from '../../src/scan/analyze.ts';
import type { DetectedOs } from '../../src/scan/os-release.ts';
import { osvEcosystem } from '../../src/scan/scan-service.ts';

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
    assert.equal(osvEcosystem(pkg('apk'), os('alpine', '3.17.2')), 'Alpine:v3.17');
  });
  it('names Debian releases by major version', () => {
    assert.equal(osvEcosystem(pkg('deb'), os('debian', '12')), 'Debian:12');
    assert.equal(osvEcosystem(pkg('deb'), os('debian', '11.7')), 'Debian:11');
  });
  it('marks Ubuntu LTS releases', () => {
    assert.equal(osvEcosystem(pkg('deb'), os('ubuntu', '22.04')), 'Ubuntu:22.04:LTS');
    assert.equal(osvEcosystem(pkg('deb'), os('ubuntu', '23.10')), 'Ubuntu:23.10');
  });
  it('gives no ecosystem without a release, so no other release’s advisory applies', () => {
    assert.equal(osvEcosystem(pkg('apk'), os('alpine')), undefined);
    assert.equal(osvEcosystem(pkg('deb'), undefined), undefined);
  });
});
