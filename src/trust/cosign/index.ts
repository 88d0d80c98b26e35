export { CosignVerifier, type CosignVerifierOptions } from './cosign-verifier.ts';
export { readPrivateKey, readPublicKey, signPayload, verifyPayloadSignature } from './key-signature.ts';
export { SigstoreTrustedRoot, verifyKeyless } from './keyless-signature.ts';
export { cosignSignatureManifests } from './signature-manifests.ts';
export {
  buildSimpleSigningPayload,
  checkSimpleSigningPayload,
  cosign,
  cosignSignatureTag,
  type SimpleSigningPayload,
} from './simple-signing.ts';
