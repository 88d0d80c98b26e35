import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ApiCaller, apiRequest } from '../helpers/api.ts';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { ContainersSandbox } from '../helpers/containers.ts';
import { alpineLayout, alpineManifestDigest } from '../helpers/fixtures.ts';
import { RegistryClient, sha256 } from '../helpers/http.ts';
import { layoutTagDigest, readLayoutBlob } from '../helpers/oci-layout.ts';
import { cyclonedxValidator, spdxValidator, type Validate } from '../helpers/sbom-schemas.ts';
import { missingTools } from '../helpers/tools.ts';

const spdxType = 'application/spdx+json';
const cyclonedxType = 'application/vnd.cyclonedx+json';
const guest = { username: 'gus', password: 'Gus-Guest-Pass-1' };

interface SbomOverview {
  start_time: string;
  end_time?: string;
  scan_status: string;
  sbom_digest?: string;
  sbom_repository?: string;
  sbom_digests?: Record<string, string>;
  report_id: string;
  duration: number;
  scanner: { name: string; vendor: string; version: string };
}

interface Referrer {
  mediaType: string;
  digest: string;
  size: number;
  artifactType: string;
  annotations: Record<string, string>;
}

interface ArtifactManifest {
  mediaType: string;
  artifactType: string;
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; digest: string; size: number }[];
  subject: { mediaType: string; digest: string; size: number };
  annotations: Record<string, string>;
}

/** Real alpine:3.17.2 packages, from its /lib/apk/db/installed (see the fixture's README). */
const knownApkPurls = [
  'pkg:apk/alpine/musl@1.2.3-r4?arch=x86_64&distro=alpine-3.17.2',
  'pkg:apk/alpine/busybox@1.35.0-r29?arch=x86_64&distro=alpine-3.17.2',
  'pkg:apk/alpine/libcrypto3@3.0.8-r0?arch=x86_64&distro=alpine-3.17.2',
  'pkg:apk/alpine/libssl3@3.0.8-r0?arch=x86_64&distro=alpine-3.17.2',
];

describe('SBOM generation through the Harbor API, stored as OCI referrers', {
  skip: missingTools('skopeo'),
}, () => {
  let berth: TestBerth;
  let host: string;
  let client: RegistryClient;
  let box: ContainersSandbox;
  let work: string;
  const artifact = `/projects/library/repositories/alpine/artifacts`;
  const api = (caller: ApiCaller, method: string, path: string, body?: unknown) =>
    apiRequest(berth, caller, method, path, body);

  async function overview(reference = alpineManifestDigest): Promise<SbomOverview | undefined> {
    const response = await api(testAdmin, 'GET', `${artifact}/${reference}?with_sbom_overview=true`);
    assert.equal(response.status, 200, response.body.toString());
    return (response.json() as { sbom_overview?: SbomOverview }).sbom_overview;
  }

  async function finished(): Promise<SbomOverview> {
    for (let attempt = 0; attempt < 300; attempt++) {
      const current = await overview();
      if (current && ['Success', 'Error', 'Stopped'].includes(current.scan_status)) return current;
      await sleep(100);
    }
    throw new Error('SBOM generation did not finish in 30 s');
  }

  async function referrers(): Promise<Referrer[]> {
    const response = await client.request('GET', `/v2/library/alpine/referrers/${alpineManifestDigest}`);
    assert.equal(response.status, 200, response.body.toString());
    return (response.json() as { manifests: Referrer[] }).manifests;
  }

  async function generate(): Promise<SbomOverview> {
    const started = await api(testAdmin, 'POST', `${artifact}/3.17.2/scan`, { scan_type: 'sbom' });
    assert.equal(started.status, 202, started.body.toString());
    const done = await finished();
    assert.equal(done.scan_status, 'Success', JSON.stringify(done));
    return done;
  }

  before(async () => {
    berth = await startTestBerth({ 'jobs.pollIntervalMs': 100 });
    host = new URL(berth.url).host;
    client = new RegistryClient(berth.url);
    work = await makeTempDir('berth-sbom-');
    box = await ContainersSandbox.create(join(work, 'containers'));
    await box.skopeo('login', '--tls-verify=false', '-u', testAdmin.username, '-p', testAdmin.password, host);
    await box.skopeo(
      'copy',
      '--dest-tls-verify=false',
      `oci:${alpineLayout()}:v2`,
      `docker://${host}/library/alpine:3.17.2`,
    );
    const user = await api(testAdmin, 'POST', '/users', {
      username: guest.username,
      email: 'gus@example.com',
      realname: 'Gus',
      password: guest.password,
    });
    assert.equal(user.status, 201, user.body.toString());
    const member = await api(testAdmin, 'POST', '/projects/library/members', {
      role_id: 3,
      member_user: { username: guest.username },
    });
    assert.equal(member.status, 201, member.body.toString());
  });
  after(() => berth?.destroy());

  it('has no sbom_overview before any generation, and refuses a guest (403) and anonymous (401)', async () => {
    assert.equal(await overview(), undefined);
    assert.deepEqual(await referrers(), []);
    const path = `${artifact}/3.17.2/scan`;
    assert.equal((await api(guest, 'POST', path, { scan_type: 'sbom' })).status, 403);
    assert.equal((await api(null, 'POST', path, { scan_type: 'sbom' })).status, 401);
  });

  it('generates SPDX and CycloneDX SBOMs that refer to the image and pass the official schemas', async () => {
    const done = await generate();
    assert.ok(done.end_time && done.end_time >= done.start_time);
    assert.equal(done.scanner.name, 'Berth');
    assert.ok(Number.isInteger(done.duration) && done.duration >= 0);
    assert.match(done.report_id, /^\d+$/);
    assert.equal(done.sbom_repository, 'library/alpine');

    const listed = await referrers();
    assert.deepEqual(listed.map((entry) => entry.artifactType).sort(), [spdxType, cyclonedxType].sort());
    const spdxReferrer = listed.find((entry) => entry.artifactType === spdxType)!;
    assert.equal(done.sbom_digest, spdxReferrer.digest);
    assert.deepEqual(
      done.sbom_digests,
      Object.fromEntries(listed.map((entry) => [entry.artifactType, entry.digest])),
    );

    const validators: Record<string, Validate> = {
      [spdxType]: spdxValidator(),
      [cyclonedxType]: cyclonedxValidator(),
    };
    for (const referrer of listed) {
      assert.equal(referrer.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(referrer.annotations['dev.berth.sbom.generator'], `Berth-${done.scanner.version}`);
      assert.match(
        referrer.annotations['org.opencontainers.image.created']!,
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
      );
      const got = await client.request('GET', `/v2/library/alpine/manifests/${referrer.digest}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(got.status, 200);
      assert.equal(sha256(got.body), referrer.digest);
      const manifest = got.json<ArtifactManifest>();
      assert.equal(manifest.artifactType, referrer.artifactType);
      assert.deepEqual(manifest.config, {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: sha256('{}'),
        size: 2,
      });
      assert.equal(manifest.layers.length, 1);
      assert.equal(manifest.layers[0]!.mediaType, referrer.artifactType);
      assert.deepEqual(manifest.subject, {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: alpineManifestDigest,
        size: (await readLayoutBlob(alpineLayout(), alpineManifestDigest)).length,
      });
      const blob = await client.request('GET', `/v2/library/alpine/blobs/${manifest.layers[0]!.digest}`);
      assert.equal(blob.status, 200);
      const document = blob.json<Record<string, unknown>>();
      assert.deepEqual(validators[referrer.artifactType]!(document), []);
      const apkPurls = purlsOf(referrer.artifactType, document).filter((purl) => purl.startsWith('pkg:apk/'));
      assert.equal(apkPurls.length, 15, apkPurls.join('\n'));
      assert.ok(
        apkPurls.every((purl) => purl.startsWith('pkg:apk/alpine/') && purl.includes('distro=alpine-3.17.2')),
      );
      for (const purl of knownApkPurls) assert.ok(apkPurls.includes(purl), purl);
      assert.ok(
        purlsOf(referrer.artifactType, document).includes(
          `pkg:oci/alpine@sha256%3A${alpineManifestDigest.slice(7)}?repository_url=${host}/library/alpine`,
        ),
      );
    }
  });

  it("serves Harbor's sbom addition on the SBOM artifact, and lists SBOMs as accessories", async () => {
    const done = (await overview())!;
    for (const caller of [testAdmin, guest]) {
      const addition = await api(caller, 'GET', `${artifact}/${done.sbom_digest}/additions/sbom`);
      assert.equal(addition.status, 200, addition.body.toString());
      assert.equal(addition.header('content-type'), spdxType);
      assert.equal((addition.json() as { spdxVersion: string }).spdxVersion, 'SPDX-2.3');
    }
    const notSbom = await api(testAdmin, 'GET', `${artifact}/3.17.2/additions/sbom`);
    assert.equal(notSbom.status, 404, notSbom.body.toString());
    assert.equal((await api(null, 'GET', `${artifact}/${done.sbom_digest}/additions/sbom`)).status, 401);

    const list = await api(testAdmin, 'GET', `${artifact}?with_accessory=true&with_sbom_overview=true`);
    assert.equal(list.status, 200);
    const artifacts = list.json() as {
      digest: string;
      accessories: { digest: string }[];
      sbom_overview?: unknown;
    }[];
    assert.deepEqual(
      artifacts.map((entry) => entry.digest),
      [alpineManifestDigest],
    );
    assert.deepEqual(
      artifacts[0]!.accessories.map((entry) => entry.digest).sort(),
      Object.values(done.sbom_digests!).sort(),
    );
    assert.ok(artifacts[0]!.sbom_overview);

    const ofSbom = await api(testAdmin, 'POST', `${artifact}/${done.sbom_digest}/scan`, {
      scan_type: 'sbom',
    });
    assert.equal(ofSbom.status, 400, ofSbom.body.toString());
  });

  it('pulls an SBOM with skopeo', async () => {
    const done = (await overview())!;
    const reference = `docker://${host}/library/alpine@${done.sbom_digest}`;
    const raw = await box.skopeo('inspect', '--raw', '--tls-verify=false', reference);
    assert.equal(sha256(raw.stdout), done.sbom_digest);
    const out = join(work, 'sbom-layout');
    await box.skopeo('copy', '--src-tls-verify=false', reference, `oci:${out}:sbom`);
    assert.equal(await layoutTagDigest(out, 'sbom'), done.sbom_digest);
    const manifest = JSON.parse(raw.stdout) as ArtifactManifest;
    const document = await readFile(join(out, 'blobs', 'sha256', manifest.layers[0]!.digest.slice(7)));
    assert.deepEqual(spdxValidator()(JSON.parse(document.toString('utf8'))), []);
  });

  it('serves a pushed "SBOM" of another media type as an attachment of bytes, never as a page', async () => {
    const html = Buffer.from('<script>fetch("/api/v2.0/users")</script>');
    const layer = await client.pushBlob('library/alpine', html);
    const empty = await client.pushBlob('library/alpine', '{}');
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.goharbor.harbor.sbom.v1',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
      layers: [{ mediaType: 'text/html', digest: layer, size: html.length }],
    };
    const pushed = await client.putManifest('library/alpine', 'fake-sbom', manifest);
    assert.equal(pushed.status, 201, pushed.body.toString());
    const digest = pushed.header('docker-content-digest')!;
    const served = await api(testAdmin, 'GET', `${artifact}/${digest}/additions/sbom`);
    assert.equal(served.status, 200, served.body.toString());
    assert.equal(served.header('content-type'), 'application/octet-stream');
    assert.equal(served.header('content-disposition'), 'attachment');
    assert.equal(served.header('x-content-type-options'), 'nosniff');
    assert.match(served.header('content-security-policy') ?? '', /default-src 'none'.*sandbox/);
  });

  it('replaces the SBOMs it made before when asked again, keeping SBOMs pushed by others', async () => {
    const first = (await overview())!;
    const other = await client.pushImage('library/alpine', 'other-sbom', {
      artifactType: spdxType,
      layers: ['{"spdxVersion":"SPDX-2.3"}'],
      subject: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: alpineManifestDigest,
        size: (await readLayoutBlob(alpineLayout(), alpineManifestDigest)).length,
      },
    });
    const second = await generate();
    assert.notEqual(second.sbom_digest, first.sbom_digest);
    assert.notEqual(second.report_id, undefined);
    const digests = (await referrers()).map((entry) => entry.digest).sort();
    assert.deepEqual(digests, [...Object.values(second.sbom_digests!), other.digest].sort());
    for (const old of Object.values(first.sbom_digests!)) {
      const gone = await client.request('GET', `/v2/library/alpine/manifests/${old}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(gone.status, 404);
    }
  });

  it('stops generation that has not started', async () => {
    await berth.jobs.queueAction('sbom', 'pause');
    try {
      const path = `${artifact}/${alpineManifestDigest}/scan`;
      assert.equal((await api(testAdmin, 'POST', path, { scan_type: 'sbom' })).status, 202);
      assert.equal((await overview())?.scan_status, 'Pending');
      assert.equal((await api(guest, 'POST', `${path}/stop`, { scan_type: 'sbom' })).status, 403);
      const stopped = await api(testAdmin, 'POST', `${path}/stop`, { scan_type: 'sbom' });
      assert.equal(stopped.status, 202, stopped.body.toString());
      assert.equal((await overview())?.scan_status, 'Stopped');
      assert.equal((await api(testAdmin, 'POST', `${path}/stop`, { scan_type: 'sbom' })).status, 400);
    } finally {
      await berth.jobs.queueAction('sbom', 'resume');
    }
  });

  it('for an index, attaches SBOMs to each of its images and skips attestation entries', async () => {
    await box.skopeo(
      'copy',
      '--dest-tls-verify=false',
      `oci:${alpineLayout()}:v2`,
      `docker://${host}/library/multi:amd64`,
    );
    const attestation = await client.pushImage('library/multi', 'attestation', {
      artifactType: 'application/vnd.in-toto+json',
    });
    const alpineSize = (await readLayoutBlob(alpineLayout(), alpineManifestDigest)).length;
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: attestation.digest,
            size: attestation.size,
            platform: { architecture: 'unknown', os: 'unknown' },
          },
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: alpineManifestDigest,
            size: alpineSize,
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      }),
    );
    const put = await client.putManifest(
      'library/multi',
      'latest',
      index,
      'application/vnd.oci.image.index.v1+json',
    );
    assert.equal(put.status, 201, put.body.toString());
    const path = '/projects/library/repositories/multi/artifacts';
    const started = await api(testAdmin, 'POST', `${path}/latest/scan`, { scan_type: 'sbom' });
    assert.equal(started.status, 202, started.body.toString());
    const overviewOf = async (reference: string) =>
      (
        (await api(testAdmin, 'GET', `${path}/${reference}?with_sbom_overview=true`)).json() as {
          sbom_overview?: SbomOverview;
        }
      ).sbom_overview;
    let top: SbomOverview | undefined;
    for (let attempt = 0; attempt < 300 && top?.scan_status !== 'Success'; attempt++) {
      await sleep(100);
      top = await overviewOf(sha256(index));
      assert.notEqual(top?.scan_status, 'Error', JSON.stringify(top));
    }
    assert.equal(top?.scan_status, 'Success');
    const child = await overviewOf(alpineManifestDigest);
    assert.equal(child?.scan_status, 'Success');
    assert.equal(child?.sbom_digest, top?.sbom_digest);
    const listed = await client.request('GET', `/v2/library/multi/referrers/${alpineManifestDigest}`);
    const digests = (listed.json() as { manifests: Referrer[] }).manifests.map((entry) => entry.digest);
    assert.deepEqual(digests.sort(), Object.values(top!.sbom_digests!).sort());
    for (const digest of [sha256(index), attestation.digest]) {
      const none = await client.request('GET', `/v2/library/multi/referrers/${digest}`);
      assert.deepEqual((none.json() as { manifests: Referrer[] }).manifests, []);
    }
  });

  it('generates on push where the project has auto_sbom_generation', async () => {
    const created = await api(testAdmin, 'POST', '/projects', {
      project_name: 'autosbom',
      metadata: { public: 'false', auto_sbom_generation: 'true' },
    });
    assert.equal(created.status, 201, created.body.toString());
    await box.skopeo(
      'copy',
      '--dest-tls-verify=false',
      `oci:${alpineLayout()}:v2`,
      `docker://${host}/autosbom/alpine:3.17.2`,
    );
    for (let attempt = 0; attempt < 300; attempt++) {
      const response = await api(
        testAdmin,
        'GET',
        `/projects/autosbom/repositories/alpine/artifacts/3.17.2?with_sbom_overview=true`,
      );
      const current = (response.json() as { sbom_overview?: SbomOverview }).sbom_overview;
      if (current?.scan_status === 'Success') {
        assert.equal(current.sbom_repository, 'autosbom/alpine');
        return;
      }
      await sleep(100);
    }
    assert.fail('no SBOM was generated on push in 30 s');
  });
});

/** Every purl a document names: SPDX external references, CycloneDX components and subject. */
function purlsOf(artifactType: string, document: Record<string, unknown>): string[] {
  if (artifactType === spdxType) {
    const packages = document.packages as {
      externalRefs?: { referenceType: string; referenceLocator: string }[];
    }[];
    return packages.flatMap((entry) =>
      (entry.externalRefs ?? [])
        .filter((ref) => ref.referenceType === 'purl')
        .map((ref) => ref.referenceLocator),
    );
  }
  const components = document.components as { purl?: string }[];
  const image = (document.metadata as { component: { purl?: string } }).component;
  return [image, ...components].flatMap((component) => (component.purl ? [component.purl] : []));
}
