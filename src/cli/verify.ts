import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { CosignVerifier } from '../trust/cosign/cosign-verifier.ts';
import { SigstoreTrustedRoot } from '../trust/cosign/keyless-signature.ts';
import { cosign, cosignSignatureTag } from '../trust/cosign/simple-signing.ts';
import type { ProjectTrust, SignatureArtifact } from '../trust/signature-verifier.ts';
import type { OciClient } from './oci-client.ts';
import { OciClientError } from './oci-client.ts';
import {
  parseImageArgument,
  type RegistryFlags,
  registryClient,
  reportFailure,
  withRegistryOptions,
} from './registry-options.ts';

interface VerifyFlags extends RegistryFlags {
  key: string[];
  certificateIdentity?: string;
  certificateOidcIssuer?: string;
  trustedRoot?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `berth verify --key pub.pem <image>`: checks the image's Cosign signatures, as `cosign verify` does. */
export function verifyCommand(): Command {
  return withRegistryOptions(new Command('verify'))
    .description("verify an image's Cosign signatures against public keys or a keyless identity")
    .argument('<image>', '<repository>@<digest> or <repository>:<tag>')
    .option('--key <file>', 'PEM public key to trust (repeatable)', collect, [])
    .option('--certificate-identity <subject>', 'keyless: the certificate subject (email or URI) to trust')
    .option('--certificate-oidc-issuer <url>', 'keyless: the OIDC issuer to trust')
    .addOption(
      new Option('--trusted-root <file>', 'keyless: Sigstore trusted_root.json').env(
        'BERTH_SIGSTORE_TRUSTED_ROOT',
      ),
    )
    .action((image: string, flags: VerifyFlags) => reportFailure('verify', () => verify(image, flags)));
}

/** The cosign signatures of `digest`: the `.sig` tag's manifest and the cosign referrers. */
async function findSignatures(client: OciClient, digest: string): Promise<SignatureArtifact[]> {
  const found: SignatureArtifact[] = [];
  const tagged = await client.manifest(cosignSignatureTag(digest));
  if (tagged)
    found.push({
      repository: client.repository,
      digest: tagged.digest,
      mediaType: tagged.mediaType,
      via: 'tag',
    });
  for (const referrer of await client.referrers(digest, cosign.signatureArtifactType)) {
    found.push({
      repository: client.repository,
      digest: referrer.digest,
      mediaType: referrer.mediaType,
      artifactType: referrer.artifactType,
      via: 'referrers',
    });
  }
  return found;
}

async function verify(image: string, flags: VerifyFlags): Promise<void> {
  const keyless = flags.certificateIdentity || flags.certificateOidcIssuer;
  if (flags.key.length === 0 && !keyless)
    throw new OciClientError('give --key, or --certificate-identity with --certificate-oidc-issuer');
  if (keyless && !(flags.certificateIdentity && flags.certificateOidcIssuer && flags.trustedRoot))
    throw new OciClientError(
      'keyless needs --certificate-identity, --certificate-oidc-issuer and --trusted-root',
    );
  const trust: ProjectTrust = {
    cosignKeys: await Promise.all(
      flags.key.map(async (file) => ({ name: file, pem: await readFile(file, 'utf8') })),
    ),
    keylessIdentities: keyless
      ? [{ issuer: flags.certificateOidcIssuer!, subject: flags.certificateIdentity! }]
      : [],
    notationTrustStores: [],
    notationTrustedIdentities: [],
  };
  const trustedRoot = flags.trustedRoot
    ? new SigstoreTrustedRoot(JSON.parse(await readFile(flags.trustedRoot, 'utf8')))
    : undefined;

  const { repository, reference } = parseImageArgument(image);
  const client = registryClient(flags, repository);
  const subject = await client.manifest(reference);
  if (!subject) throw new OciClientError(`${repository}:${reference} is not in the registry`);
  const signatures = await findSignatures(client, subject.digest);
  if (signatures.length === 0)
    throw new OciClientError(`no cosign signatures found for ${repository}@${subject.digest}`);

  const outcome = await new CosignVerifier({ trustedRoot }).verify(
    subject.digest,
    signatures,
    trust,
    {
      manifest: (_repository, digest) => client.manifest(digest),
      blob: (digest, maxBytes) => client.blob(digest, maxBytes),
    },
    new Date(),
  );
  const via = new Map(signatures.map((s) => [s.digest, s.via]));
  for (const ok of outcome.verified) {
    const when = ok.signedAt ? ` at ${ok.signedAt}` : '';
    console.log(
      `verified ${ok.signatureDigest} (${via.get(ok.signatureDigest)}): ${ok.method} ${ok.signer}${when}`,
    );
  }
  for (const failure of outcome.failures)
    console.log(`failed ${failure.signatureDigest} (${via.get(failure.signatureDigest)}): ${failure.reason}`);
  if (outcome.verified.length === 0)
    throw new OciClientError(`no valid signature for ${repository}@${subject.digest} by a trusted signer`);
}
