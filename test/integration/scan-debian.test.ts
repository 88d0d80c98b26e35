import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../../src/db/open.ts';
import type { Digest } from '../../src/oci/digest.ts';
import { parseManifest } from '../../src/oci/manifest.ts';
import { analyzeImage, type ImageAnalysis } from '../../src/scan/analyze.ts';
import { FilesystemBlobStore } from '../../src/storage/filesystem/filesystem-blob-store.ts';
import { importAdvisories } from '../../src/vuln/feed-import.ts';
import { apiRequest } from '../helpers/api.ts';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { ContainersSandbox } from '../helpers/containers.ts';
import {
  type DebianImage,
  debianAdvisoryFeeds,
  debianBookwormImage,
  debianImageTag,
  debianImageToolsMissing,
} from '../helpers/debian-image.ts';
import { RegistryClient } from '../helpers/http.ts';
import {
  dpkgCompare,
  expectedFindings,
  expectedTrackerFindings,
  readOsvRecords,
  type TrackerDocument,
} from '../helpers/osv-expected.ts';
import { finishedReport, type ScanReport } from '../helpers/scan-wait.ts';
import { missingTools } from '../helpers/tools.ts';

/** The fixture as a Debian security tracker dump, when it is one (else it is OSV records). */
function trackerDocument(path: string): TrackerDocument | undefined {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || 'id' in parsed)
    return undefined;
  return parsed as TrackerDocument;
}

const skip = missingTools('skopeo') || debianImageToolsMissing();

describe('a real Debian bookworm image pushed with skopeo is scanned on push', { skip }, () => {
  let image: DebianImage;
  let berth: TestBerth;
  let work: string | undefined;
  let digest: string;
  let report: ScanReport;
  const feeds = debianAdvisoryFeeds();

  before(async () => {
    image = await debianBookwormImage();
    work = await makeTempDir('berth-scan-debian-');
    berth = await startTestBerth({ 'jobs.pollIntervalMs': 200 });
    const db = openDatabase(berth.config.database);
    try {
      for (const feed of feeds) {
        const imported = await importAdvisories(db, feed);
        assert.deepEqual(imported.errors, [], feed);
        assert.ok(imported.inserted > 0, feed);
      }
    } finally {
      await db.close();
    }
    const created = await apiRequest(berth, testAdmin, 'POST', '/projects', {
      project_name: 'debian',
      metadata: { public: 'false', auto_scan: 'true' },
    });
    assert.equal(created.status, 201, created.body.toString());

    const box = await ContainersSandbox.create(join(work, 'containers'));
    digest = await box.pushTo(
      `oci:${image.layout}:${debianImageTag}`,
      berth.url,
      `debian/bookworm:12`,
      testAdmin,
    );
    // No scan was asked for: auto_scan on the project starts it.
    report = await finishedReport(berth, 'debian', 'bookworm', digest, 120_000);
  });
  after(async () => {
    await berth?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('keeps the image as built (skopeo copied the layer without recompressing it)', () => {
    assert.equal(digest, image.manifestDigest);
    assert.deepEqual(report.artifact, {
      repository: 'debian/bookworm',
      digest,
      mime_type: 'application/vnd.oci.image.manifest.v1+json',
    });
    assert.deepEqual(report.notes, []);
  });

  it('lists in the report every package dpkg-query lists, with its source, and no other', () => {
    const expected = image.packages
      .map((pkg) => `${pkg.name} ${pkg.version} ${pkg.sourceName} ${pkg.sourceVersion}`)
      .sort();
    const reported = report.packages
      .map((pkg) => `${pkg.name} ${pkg.version} ${pkg.source_name} ${pkg.source_version}`)
      .sort();
    assert.deepEqual(reported, expected);
    // The image is one layer, so every package came with it.
    assert.deepEqual(
      [...new Set(report.packages.map((pkg) => pkg.layer.digest))],
      [report.vulnerabilities[0]?.layer.digest],
    );
    for (const pkg of report.packages) {
      assert.equal(pkg.type, 'deb');
      assert.equal(pkg.path, '/var/lib/dpkg/status');
    }
  });

  describe('packages: exactly what dpkg-query lists in the image', () => {
    let analysis: ImageAnalysis;

    before(async () => {
      // The report carries only a count of packages, not the list: the list is checked by
      // running the scanner's analysis over the very blobs Berth stored for this push.
      const store = new FilesystemBlobStore(berth.config.storage.filesystem.root);
      const pulled = await new RegistryClient(berth.url).request(
        'GET',
        `/v2/debian/bookworm/manifests/${digest}`,
        { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } },
      );
      assert.equal(pulled.status, 200);
      const manifest = parseManifest(pulled.body, 'application/vnd.oci.image.manifest.v1+json');
      analysis = await analyzeImage(manifest, (blob) => store.read(blob as Digest));
    });

    it('detects Debian 12 (bookworm)', () => {
      assert.equal(analysis.os?.id, 'debian');
      assert.equal(analysis.os?.versionId, '12');
      assert.equal(analysis.os?.family, 'debian');
    });

    it('lists every installed package by name and version, and no other', () => {
      const expected = image.packages.map((pkg) => `${pkg.name} ${pkg.version}`).sort();
      assert.ok(expected.length > 50, `dpkg-query listed only ${expected.length} packages`);
      const found = analysis.packages
        .filter((pkg) => pkg.type === 'deb')
        .map((pkg) => `${pkg.name} ${pkg.version}`)
        .sort();
      assert.deepEqual(found, expected);
      assert.equal(analysis.packages.length, expected.length, 'no packages of other kinds');
      assert.equal(report.package_count, expected.length);
    });

    it('names the source package and version dpkg-query names', () => {
      const bySource = new Map(image.packages.map((pkg) => [pkg.name, pkg]));
      for (const pkg of analysis.packages) {
        const listed = bySource.get(pkg.name)!;
        assert.deepEqual(
          [pkg.sourceName, pkg.sourceVersion],
          [listed.sourceName, listed.sourceVersion],
          pkg.name,
        );
        assert.equal(pkg.dbPath, '/var/lib/dpkg/status');
        assert.ok(pkg.purl.startsWith(`pkg:deb/debian/${encodeURIComponent(pkg.name)}@`), pkg.purl);
      }
    });
  });

  describe("the SBOM Berth generates for it (Harbor's scan_type sbom) lists the same packages", () => {
    interface SpdxPackage {
      name: string;
      versionInfo?: string;
      primaryPackagePurpose?: string;
      externalRefs?: { referenceType: string; referenceLocator: string }[];
    }
    let packages: SpdxPackage[];

    before(async () => {
      // The one place the HTTP API lists every package, not only the vulnerable ones.
      const artifact = `/projects/debian/repositories/bookworm/artifacts/${digest}`;
      const started = await apiRequest(berth, testAdmin, 'POST', `${artifact}/scan`, { scan_type: 'sbom' });
      assert.equal(started.status, 202, started.body.toString());
      let sbomDigest: string | undefined;
      for (let attempt = 0; attempt < 600 && !sbomDigest; attempt++) {
        const response = await apiRequest(berth, testAdmin, 'GET', `${artifact}?with_sbom_overview=true`);
        const overview = response.json<{ sbom_overview?: { scan_status: string; sbom_digest?: string } }>()
          .sbom_overview;
        if (overview?.scan_status === 'Error') throw new Error('SBOM generation failed');
        if (overview?.scan_status === 'Success') sbomDigest = overview.sbom_digest;
        else await sleep(100);
      }
      assert.ok(sbomDigest, 'the SBOM was generated within 60 s');
      const addition = await apiRequest(
        berth,
        testAdmin,
        'GET',
        `/projects/debian/repositories/bookworm/artifacts/${sbomDigest}/additions/sbom`,
      );
      assert.equal(addition.status, 200, addition.body.toString());
      packages = addition.json<{ packages: SpdxPackage[] }>().packages;
    });

    it('names the operating system Debian 12', () => {
      const os = packages.filter((pkg) => pkg.primaryPackagePurpose === 'OPERATING-SYSTEM');
      assert.deepEqual(
        os.map((pkg) => [pkg.name, pkg.versionInfo]),
        [['debian', '12']],
      );
    });

    it('lists exactly the dpkg-query packages, each with its deb purl', () => {
      const debs = packages.filter((pkg) =>
        pkg.externalRefs?.some(
          (ref) => ref.referenceType === 'purl' && ref.referenceLocator.startsWith('pkg:deb/'),
        ),
      );
      assert.deepEqual(
        debs.map((pkg) => `${pkg.name} ${pkg.versionInfo}`).sort(),
        image.packages.map((pkg) => `${pkg.name} ${pkg.version}`).sort(),
      );
    });
  });

  // Advisory matching: every bookworm advisory whose affected range holds an installed source
  // version is reported for each binary package built from that source, and nothing else.
  describe('Debian advisories for bookworm are matched against the installed source packages', () => {
    if (feeds.length === 0) {
      it.todo('match advisories: no test/fixtures/advisories/debian* feed of bookworm records yet');
      return;
    }
    it('reports exactly the advisories whose ranges hold an installed source version', () => {
      const installed = image.packages.map((pkg) => ({
        name: pkg.name,
        version: pkg.version,
        advisoryName: pkg.sourceName,
        advisoryVersion: pkg.sourceVersion,
      }));
      const expected = feeds
        .flatMap((feed) => {
          const tracker = trackerDocument(feed);
          return tracker
            ? expectedTrackerFindings(tracker, 'bookworm', installed, dpkgCompare)
            : expectedFindings(readOsvRecords(feed), installed, 'Debian:12', dpkgCompare);
        })
        .sort((a, b) => `${a.id} ${a.package}`.localeCompare(`${b.id} ${b.package}`));
      const found = report.vulnerabilities
        .map((item) => ({
          id: item.id,
          package: item.package,
          version: item.version,
          fixed: item.fix_version === '' ? [] : item.fix_version.split(', '),
        }))
        .sort((a, b) => `${a.id} ${a.package}`.localeCompare(`${b.id} ${b.package}`));
      assert.deepEqual(found, expected);
      for (const item of report.vulnerabilities) assert.equal(item.vendor_attributes.ecosystem, 'Debian:12');
    });
  });
});
