import { generateKeyPairSync, sign } from 'node:crypto';
import tarStream from 'tar-stream';
import { ociManifestType, type RegistryClient, sha256 } from './client.ts';
import { forEachConcurrent, type LoadTool } from './load.ts';
import { loadVariants } from './measure.ts';
import type { Row } from './report.ts';

/** The two rows: manifest GET on a project without pull policies, and on one with them. */
export function pullPolicyRows(connections: number): [Row, Row] {
  const row = (id: string, label: string): Row => ({
    id,
    metric: `manifest GET by tag, ${label}, ${connections} conns`,
    unit: 'req/s',
    better: 'higher',
    target: { kind: 'info' },
  });
  return [
    row('manifest-get-no-policy-rps', 'project without pull policies'),
    {
      ...row('manifest-get-policies-rps', 'cosign content trust + prevent_vul (signed, scanned)'),
      target: { kind: 'fraction', of: 'no policy', min: 0.9 },
    },
  ];
}

/**
 * The pull gate's cost on manifest GET: one project with Cosign content trust and vulnerability
 * prevention on (its image signed with a trusted key and scanned clean), one with no policy,
 * the same image in each; both public, loaded anonymously and interleaved.
 */
export async function measurePullPolicies(
  client: RegistryClient,
  tool: LoadTool,
  [without, withPolicies]: [Row, Row],
): Promise<void> {
  const layer = await alpineRootLayer();
  const plain = await client.pushImage('benchplain/image', 'latest', layer);
  const guarded = await client.pushImage('benchtrust/image', 'latest', layer);
  for (const project of ['benchplain', 'benchtrust']) {
    await api(client, 'PUT', `/projects/${project}`, { metadata: { public: 'true' } });
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await api(client, 'PUT', '/projects/benchtrust/trust-policy', {
    cosign_keys: [
      { name: 'bench', public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    ],
  });
  await pushCosignSignature(client, 'benchtrust/image', guarded.manifestDigest, (payload) =>
    sign('sha256', payload, privateKey),
  );
  await api(client, 'POST', '/projects/benchtrust/repositories/image/artifacts/latest/scan', {});
  await waitForScan(client, 'benchtrust', 'image', guarded.manifestDigest);
  await api(client, 'PUT', '/projects/benchtrust', {
    metadata: { enable_content_trust_cosign: 'true', prevent_vul: 'true', severity: 'high' },
  });
  for (const [repository, digest] of [
    ['benchplain/image', plain.manifestDigest],
    ['benchtrust/image', guarded.manifestDigest],
  ] as const) {
    const reply = await client.request('GET', `/v2/${repository}/manifests/latest`, {
      headers: { accept: ociManifestType },
    });
    if (reply.status !== 200 || reply.headers['docker-content-digest'] !== digest)
      throw new Error(`pulling ${repository}: ${reply.status} ${reply.body}`);
  }
  const request = (repository: string) => async () => ({
    url: `${client.base}/v2/${repository}/manifests/latest`,
    method: 'GET' as const,
    headers: { accept: ociManifestType },
  });
  await loadVariants(tool, [
    { label: 'no policy', rpsRow: without, spec: request('benchplain/image') },
    { label: 'policies', rpsRow: withPolicies, spec: request('benchtrust/image') },
  ]);
  withPolicies.baseline = without.berth;
}

async function api(client: RegistryClient, method: string, path: string, body: unknown): Promise<void> {
  const reply = await client.request(method, `/api/v2.0${path}`, {
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
  });
  if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${reply.body}`);
}

/** An uncompressed layer holding an Alpine root with an empty package database: scans clean. */
async function alpineRootLayer(): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  pack.entry({ name: 'etc/os-release' }, 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.17.2\n');
  pack.entry({ name: 'lib/apk/db/installed' }, '');
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** A signature as cosign pushes it by default: a simple-signing payload under `sha256-<hex>.sig`. */
async function pushCosignSignature(
  client: RegistryClient,
  repository: string,
  digest: string,
  signPayload: (payload: Buffer) => Buffer,
): Promise<void> {
  const payload = Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': `${new URL(client.base).host}/${repository}` },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      os: '',
      rootfs: { type: 'layers', diff_ids: [sha256(payload)] },
      config: {},
    }),
  );
  await forEachConcurrent([payload, config], 2, (blob) =>
    client.pushMonolithic(repository, sha256(blob), blob),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifestType,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
          digest: sha256(payload),
          size: payload.length,
          annotations: { 'dev.cosignproject.cosign/signature': signPayload(payload).toString('base64') },
        },
      ],
    }),
  );
  await client.putManifest(repository, `${digest.replace(':', '-')}.sig`, manifest);
}

async function waitForScan(client: RegistryClient, project: string, repository: string, digest: string) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const reply = await client.request(
      'GET',
      `/api/v2.0/projects/${project}/repositories/${repository}/artifacts/${digest}?with_scan_overview=true`,
    );
    const overview = (
      JSON.parse(reply.body.toString('utf8')) as { scan_overview?: Record<string, { scan_status: string }> }
    ).scan_overview;
    const status = Object.values(overview ?? {})[0]?.scan_status;
    if (status === 'Success') return;
    if (status === 'Error' || status === 'Stopped') throw new Error(`the bench image's scan ended ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the bench image was not scanned within 60 s');
}
