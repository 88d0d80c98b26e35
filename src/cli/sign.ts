import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { digestOf, parseDigest } from '../oci/digest.ts';
import { parseManifest } from '../oci/manifest.ts';
import { readPrivateKey, signPayload } from '../trust/cosign/key-signature.ts';
import { cosignSignatureManifests } from '../trust/cosign/signature-manifests.ts';
import { buildSimpleSigningPayload, cosign, cosignSignatureTag } from '../trust/cosign/simple-signing.ts';
import { OciClientError } from './oci-client.ts';
import {
  parseImageArgument,
  type RegistryFlags,
  registryClient,
  reportFailure,
  withRegistryOptions,
} from './registry-options.ts';

interface SignFlags extends RegistryFlags {
  key: string;
  keyPassword?: string;
}

/**
 * `berth sign --key key.pem <repository>@<digest>`: a Cosign-compatible key-based signature,
 * pushed both ways cosign does (the `sha256-<hex>.sig` tag and an OCI 1.1 referrer).
 */
export function signCommand(): Command {
  return withRegistryOptions(new Command('sign'))
    .description('sign an image with a Cosign-compatible signature (ECDSA P-256, RSA or Ed25519 PEM key)')
    .argument('<image>', '<repository>@<digest> (or <repository>:<tag>, signed by the digest it names now)')
    .requiredOption('--key <file>', 'PEM private key (PKCS#8, or PKCS#1/SEC1)')
    .addOption(
      new Option('--key-password <secret>', 'passphrase of an encrypted key').env('BERTH_KEY_PASSWORD'),
    )
    .action((image: string, flags: SignFlags) => reportFailure('sign', () => sign(image, flags)));
}

async function sign(image: string, flags: SignFlags): Promise<void> {
  const { repository, reference } = parseImageArgument(image);
  const { key } = readPrivateKey(await readFile(flags.key, 'utf8'), flags.keyPassword);
  const client = registryClient(flags, repository);
  const subject = await client.manifest(reference);
  if (!subject) throw new OciClientError(`${repository}:${reference} is not in the registry`);
  const payload = buildSimpleSigningPayload(`${client.host}/${repository}`, subject.digest);
  const signature = signPayload(key, payload).toString('base64');

  const tag = cosignSignatureTag(subject.digest);
  const existing = await client.manifest(tag);
  const earlier = existing
    ? parseManifest(existing.bytes, existing.mediaType).layers.filter(
        (l) => l.mediaType === cosign.payloadMediaType,
      )
    : [];
  const manifests = cosignSignatureManifests(
    earlier,
    { payload, signature },
    { mediaType: subject.mediaType, digest: parseDigest(subject.digest).digest, size: subject.bytes.length },
    new Date(),
  );
  for (const blob of manifests.tag.blobs) await client.pushBlob(blob);
  const tagDigest = await client.putManifest(tag, manifests.tag.bytes, manifests.tag.mediaType);
  for (const blob of manifests.referrer.blobs) await client.pushBlob(blob);
  const referrerDigest = digestOf(manifests.referrer.bytes);
  await client.putManifest(referrerDigest, manifests.referrer.bytes, manifests.referrer.mediaType);
  console.log(`signed ${repository}@${subject.digest}`);
  console.log(`  tag ${repository}:${tag} (${tagDigest})`);
  console.log(`  referrer ${repository}@${referrerDigest}`);
}
