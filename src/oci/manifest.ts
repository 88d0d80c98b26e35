import { type Digest, tryParseDigest } from './digest.ts';
import { RegistryError } from './errors.ts';
import { type ManifestKind, manifestKinds, mediaTypes } from './media-types.ts';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

/** What the registry needs to know of a manifest; the pushed bytes themselves are kept as they are. */
export interface ParsedManifest {
  mediaType: string;
  kind: ManifestKind;
  /** Image manifests: the config descriptor. */
  config?: Descriptor;
  /** Image manifests: layers (and, for artifacts, any blobs). */
  layers: Descriptor[];
  /** Indexes: the manifests they list. */
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

// RFC 6838 type/subtype, loosely: enough to refuse garbage without refusing real vendor types.
const mediaTypePattern = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

function invalid(message: string, detail?: unknown): RegistryError {
  return new RegistryError('MANIFEST_INVALID', `manifest invalid: ${message}`, { detail });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Strips parameters (`; charset=utf-8`) and case from a Content-Type header value. */
export function normaliseMediaType(value: string | undefined): string | undefined {
  const bare = value?.split(';', 1)[0]?.trim().toLowerCase();
  return bare ? bare : undefined;
}

function readStringMap(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw invalid(`${where} must be an object of strings`);
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw invalid(`${where}.${key} must be a string`);
  }
  return value as Record<string, string>;
}

function readMediaType(value: unknown, where: string): string {
  if (typeof value !== 'string' || !mediaTypePattern.test(value)) {
    throw invalid(`${where} must be a media type`, { value });
  }
  return value;
}

function readPlatform(value: unknown, where: string): Platform | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || typeof value.architecture !== 'string' || typeof value.os !== 'string') {
    throw invalid(`${where} must have string architecture and os`);
  }
  if (value.variant !== undefined && typeof value.variant !== 'string')
    throw invalid(`${where}.variant must be a string`);
  return value as unknown as Platform;
}

export function readDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const mediaType = readMediaType(value.mediaType, `${where}.mediaType`);
  if (typeof value.digest !== 'string') throw invalid(`${where}.digest is required`);
  const digest = tryParseDigest(value.digest);
  if (!digest) throw invalid(`${where}.digest is not a supported digest`, { digest: value.digest });
  const size = value.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${where}.size must be a non-negative integer`);
  }
  const descriptor: Descriptor = { mediaType, digest: digest.digest, size };
  if (value.artifactType !== undefined)
    descriptor.artifactType = readMediaType(value.artifactType, `${where}.artifactType`);
  const annotations = readStringMap(value.annotations, `${where}.annotations`);
  if (annotations) descriptor.annotations = annotations;
  const platform = readPlatform(value.platform, `${where}.platform`);
  if (platform) descriptor.platform = platform;
  if (value.urls !== undefined) {
    if (!Array.isArray(value.urls) || !value.urls.every((url) => typeof url === 'string')) {
      throw invalid(`${where}.urls must be an array of strings`);
    }
    descriptor.urls = value.urls as string[];
  }
  return descriptor;
}

function readDescriptors(value: unknown, where: string): Descriptor[] {
  if (!Array.isArray(value)) throw invalid(`${where} must be an array`);
  return value.map((entry, index) => readDescriptor(entry, `${where}[${index}]`));
}

/**
 * Decides which manifest type the bytes are: the Content-Type the client sent and the document's
 * own `mediaType` must agree where both are given; a generic or missing Content-Type defers to it.
 */
function resolveMediaType(contentType: string | undefined, document: Record<string, unknown>): string {
  const declared = document.mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw invalid('mediaType must be a string');
  const header = normaliseMediaType(contentType);
  const headerIsManifest = header !== undefined && manifestKinds.has(header);
  if (headerIsManifest && declared !== undefined && declared !== header) {
    throw invalid(
      `mediaType ${JSON.stringify(declared)} does not match Content-Type ${JSON.stringify(header)}`,
    );
  }
  const mediaType = headerIsManifest ? header : declared;
  if (mediaType === mediaTypes.dockerSchema1 || mediaType === mediaTypes.dockerSchema1Signed) {
    throw invalid('Docker schema 1 manifests are not supported; push schema 2 or OCI');
  }
  if (mediaType === undefined || !manifestKinds.has(mediaType)) {
    throw invalid(`unsupported manifest media type ${JSON.stringify(mediaType ?? header ?? null)}`);
  }
  return mediaType;
}

/** Parses and validates manifest bytes; throws MANIFEST_INVALID with the reason. */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw invalid(`not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(document)) throw invalid('the document must be a JSON object');
  if (document.schemaVersion === 1)
    throw invalid('Docker schema 1 manifests are not supported; push schema 2 or OCI');
  if (document.schemaVersion !== 2) throw invalid('schemaVersion must be 2');

  const mediaType = resolveMediaType(contentType, document);
  const kind = manifestKinds.get(mediaType)!;
  const manifest: ParsedManifest = { mediaType, kind, layers: [], manifests: [] };

  if (kind === 'image') {
    manifest.config = readDescriptor(document.config, 'config');
    manifest.layers = readDescriptors(document.layers, 'layers');
    if (document.manifests !== undefined) throw invalid('an image manifest cannot list manifests');
  } else {
    manifest.manifests = readDescriptors(document.manifests, 'manifests');
    if (document.layers !== undefined || document.config !== undefined) {
      throw invalid('an index cannot have config or layers');
    }
  }
  if (document.subject !== undefined) manifest.subject = readDescriptor(document.subject, 'subject');
  if (document.artifactType !== undefined)
    manifest.artifactType = readMediaType(document.artifactType, 'artifactType');
  const annotations = readStringMap(document.annotations, 'annotations');
  if (annotations) manifest.annotations = annotations;
  return manifest;
}

/**
 * The artifact type a referrers response reports for a manifest: its `artifactType`, else (for
 * image manifests) its config's media type, as distribution-spec v1.1 requires.
 */
export function effectiveArtifactType(manifest: ParsedManifest): string | undefined {
  return manifest.artifactType ?? (manifest.kind === 'image' ? manifest.config?.mediaType : undefined);
}
