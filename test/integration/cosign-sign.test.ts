import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { digestOf } from '../../src/oci/digest.ts';
import { cosign, cosignSignatureTag } from '../../src/trust/cosign/simple-signing.ts';
import { makeTempDir, startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { ContainersSandbox } from '../helpers/containers.ts';
import { RegistryClient } from '../helpers/http.ts';
import { missingTools } from '../helpers/tools.ts';

const execFileAsync = promisify(execFile);
const cli = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

let berth: TestBerth;
let client: RegistryClient;
let work: string;

/** Runs the berth CLI from source; never throws, so exit status and output can be asserted. */
async function berthCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    BERTH_REGISTRY: berth.url,
    BERTH_USERNAME: testAdmin.username,
    BERTH_PASSWORD: testAdmin.password,
  };
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', cli, ...args], {
      env,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function writeKeyPair(name: string, pair: { privateKey: KeyObject; publicKey: KeyObject }) {
  const key = join(work, `${name}.key`);
  const pub = join(work, `${name}.pub`);
  await writeFile(key, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(pub, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  return { key, pub };
}

before(async () => {
  berth = await startTestBerth();
  client = new RegistryClient(berth.url);
  work = await makeTempDir('berth-cosign-');
});
after(() => berth.destroy());

describe('berth sign and berth verify against a real Berth', () => {
  const kinds = {
    ecdsa: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    rsa: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ed25519: () => generateKeyPairSync('ed25519'),
  };

  for (const [kind, generate] of Object.entries(kinds)) {
    it(`${kind}: pushes the .sig tag and a referrer; verifies with the key, not with another`, async () => {
      const repository = `signed/${kind}`;
      const image = await client.pushImage(repository, 'v1');
      const signer = await writeKeyPair(`${kind}-signer`, generate());
      const stranger = await writeKeyPair(`${kind}-stranger`, generate());

      const signed = await berthCli('sign', '--key', signer.key, `${repository}@${image.digest}`);
      assert.equal(signed.code, 0, signed.stderr);
      assert.match(signed.stdout, new RegExp(`tag ${repository}:${cosignSignatureTag(image.digest)}`));

      const tagged = await client.request(
        'GET',
        `/v2/${repository}/manifests/${cosignSignatureTag(image.digest)}`,
        {
          headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
        },
      );
      assert.equal(tagged.status, 200);
      const tagManifest = JSON.parse(tagged.body.toString('utf8')) as {
        layers: { mediaType: string; annotations: Record<string, string> }[];
      };
      assert.equal(tagManifest.layers[0]!.mediaType, cosign.payloadMediaType);
      assert.ok(tagManifest.layers[0]!.annotations[cosign.signatureAnnotation]);
      const referrers = await client.request('GET', `/v2/${repository}/referrers/${image.digest}`);
      const index = JSON.parse(referrers.body.toString('utf8')) as { manifests: { artifactType?: string }[] };
      assert.deepEqual(
        index.manifests.map((m) => m.artifactType),
        [cosign.signatureArtifactType],
      );

      // By tag as well as by digest; both signatures (tag and referrer) verify.
      const ok = await berthCli('verify', '--key', signer.pub, `${repository}:v1`);
      assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr}`);
      assert.match(ok.stdout, /verified sha256:\S+ \(tag\): key /);
      assert.match(ok.stdout, /verified sha256:\S+ \(referrers\): key /);

      const refused = await berthCli('verify', '--key', stranger.pub, `${repository}@${image.digest}`);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /no valid signature .* by a trusted signer/);
      assert.match(refused.stdout, /verifies with none of the 1 trusted keys/);
    });
  }

  it('a second signature is appended to the .sig manifest, as cosign does', async () => {
    const image = await client.pushImage('signed/twice', 'v1');
    const first = await writeKeyPair('first', kinds.ecdsa());
    const second = await writeKeyPair('second', kinds.ed25519());
    assert.equal((await berthCli('sign', '--key', first.key, `signed/twice@${image.digest}`)).code, 0);
    assert.equal((await berthCli('sign', '--key', second.key, `signed/twice@${image.digest}`)).code, 0);
    const tagged = await client.request(
      'GET',
      `/v2/signed/twice/manifests/${cosignSignatureTag(image.digest)}`,
      {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      },
    );
    assert.equal((JSON.parse(tagged.body.toString('utf8')) as { layers: unknown[] }).layers.length, 2);
    const both = await berthCli(
      'verify',
      '--key',
      first.pub,
      '--key',
      second.pub,
      `signed/twice@${image.digest}`,
    );
    assert.equal(both.code, 0, both.stderr);
  });

  it('a signature over a different digest and a tampered payload are rejected', async () => {
    const keys = await writeKeyPair('moved', kinds.ecdsa());
    const signedImage = await client.pushImage('signed/moved', 'a');
    const otherImage = await client.pushImage('signed/moved', 'b');
    assert.equal((await berthCli('sign', '--key', keys.key, `signed/moved@${signedImage.digest}`)).code, 0);

    // The signature manifest of image a, put under image b's signature tag.
    const sigTag = cosignSignatureTag(signedImage.digest);
    const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
    const original = await client.request('GET', `/v2/signed/moved/manifests/${sigTag}`, { headers: accept });
    const moved = await client.putManifest(
      'signed/moved',
      cosignSignatureTag(otherImage.digest),
      Buffer.from(original.body),
    );
    assert.equal(moved.status, 201);
    const elsewhere = await berthCli('verify', '--key', keys.pub, `signed/moved@${otherImage.digest}`);
    assert.equal(elsewhere.code, 1);
    assert.match(
      elsewhere.stdout,
      new RegExp(`the payload signs ${signedImage.digest}, not ${otherImage.digest}`),
    );

    // The same signature over a payload with one byte changed (layer digest updated to match).
    const manifest = JSON.parse(original.body.toString('utf8')) as {
      layers: { digest: string; size: number; annotations: Record<string, string> }[];
      config: unknown;
    };
    const payloadBlob = await client.request('GET', `/v2/signed/moved/blobs/${manifest.layers[0]!.digest}`);
    const tampered = Buffer.from(payloadBlob.body.toString('utf8').replace('signed/moved', 'signed/mover'));
    manifest.layers[0]!.digest = await client.pushBlob('signed/moved', tampered);
    manifest.layers[0]!.size = tampered.length;
    await client.putManifest('signed/moved', sigTag, Buffer.from(JSON.stringify(manifest)));
    const forged = await berthCli('verify', '--key', keys.pub, `signed/moved@${signedImage.digest}`);
    // The referrer still holds the genuine signature; the tampered tag signature must fail.
    assert.match(forged.stdout, /failed sha256:\S+ \(tag\): the signature verifies with none/);
    assert.match(forged.stdout, /verified sha256:\S+ \(referrers\)/);
  });

  it('refuses a missing image and a missing key with a clear message', async () => {
    const keys = await writeKeyPair('absent', kinds.ecdsa());
    const missing = await berthCli('sign', '--key', keys.key, `signed/none@${digestOf(Buffer.from('x'))}`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /berth: sign: signed\/none:sha256:\S+ is not in the registry/);
    const noKey = await berthCli('verify', 'signed/none:v1');
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /give --key/);
  });
});

describe('skopeo copies cosign .sig signatures between Berth repositories', {
  skip: missingTools('skopeo'),
}, () => {
  it('the copy verifies with berth verify', async () => {
    const host = new URL(berth.url).host;
    const box = await ContainersSandbox.create(join(work, 'containers'));
    const registriesD = join(work, 'registries.d');
    await mkdir(registriesD, { recursive: true });
    await writeFile(join(registriesD, 'default.yaml'), 'default-docker:\n  use-sigstore-attachments: true\n');
    const keys = await writeKeyPair('skopeo', generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    const image = await client.pushImage('skopeo/source', 'v1');
    assert.equal((await berthCli('sign', '--key', keys.key, `skopeo/source@${image.digest}`)).code, 0);

    await box.skopeo(
      '--registries.d',
      registriesD,
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--src-creds',
      `${testAdmin.username}:${testAdmin.password}`,
      '--dest-creds',
      `${testAdmin.username}:${testAdmin.password}`,
      '--preserve-digests',
      `docker://${host}/skopeo/source@${image.digest}`,
      `docker://${host}/skopeo/copy:v1`,
    );
    const copied = await client.request(
      'GET',
      `/v2/skopeo/copy/manifests/${cosignSignatureTag(image.digest)}`,
      {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      },
    );
    assert.equal(copied.status, 200, 'skopeo wrote the .sig tag in the destination');
    const verified = await berthCli('verify', '--key', keys.pub, `skopeo/copy@${image.digest}`);
    assert.equal(verified.code, 0, `${verified.stdout}\n${verified.stderr}`);
    assert.match(verified.stdout, /verified sha256:\S+ \(tag\): key /);
  });
});
