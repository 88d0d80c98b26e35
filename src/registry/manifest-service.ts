import type { Database } from '../db/database.ts';
import type { ManifestReference, ManifestRow } from '../db/manifests.ts';
import type { Clock } from '../lib/clock.ts';
import { LruCache } from '../lib/lru-cache.ts';
import { readAll } from '../lib/streams.ts';
import type { AcceptList } from '../oci/content-negotiation.ts';
import { type Digest, digestOf } from '../oci/digest.ts';
import { RegistryError } from '../oci/errors.ts';
import {
  type Descriptor,
  effectiveArtifactType,
  type ParsedManifest,
  parseManifest,
} from '../oci/manifest.ts';
import { isNonDistributable, manifestKinds, mediaTypes } from '../oci/media-types.ts';
import type { Reference } from '../oci/reference.ts';
import { chargeStorage, manifestContents, releaseStorage } from '../policy/storage-quota.ts';
import { BlobNotFoundError, type BlobReader, type BlobWriter } from '../storage/blob-store.ts';
import { deleteAccessories } from './accessory-deletion.ts';

export interface ManifestServiceOptions {
  db: Database;
  store: BlobReader & BlobWriter;
  clock: Clock;
  /** Bytes of manifest content kept in memory; manifests are immutable, so never stale. */
  cacheBytes?: number;
}

export interface StoredManifest {
  digest: Digest;
  mediaType: string;
  size: number;
  bytes: Buffer;
}

/** Told of each manifest stored by a push, after its transaction committed; must not throw. */
export type ManifestStoredListener = (repository: string, digest: Digest) => void;

/**
 * Protects tags (immutability): the error refusing any push to `tag` once it exists, and any
 * deletion of it, or undefined when the tag is not protected.
 */
export interface TagGuard {
  lockOf(repository: string, tag: string): Promise<RegistryError | undefined>;
}

/** Told after a manifest (`digest`) or a tag (`digest` undefined) was deleted; must not throw. */
export type ManifestDeletedListener = (repository: string, digest: string | undefined) => void;

export interface PutResult {
  digest: Digest;
  subject?: Digest;
}

/** Bounds of one referrers page: descriptors, and bytes of JSON (annotations can be large). */
const referrersPageCount = 1000;
const referrersPageBytes = 4 * 1024 * 1024;

/** The platform served to a client that cannot read indexes, as distribution does. */
const defaultPlatform = { os: 'linux', architecture: 'amd64' };

function manifestUnknown(repository: string, reference: string): RegistryError {
  return new RegistryError(
    'MANIFEST_UNKNOWN',
    `manifest ${reference} is unknown to repository ${repository}`,
    {
      detail: { name: repository, reference },
    },
  );
}

/** Manifests: validated on push, stored byte for byte, served by tag or digest, listed as referrers. */
export class ManifestService {
  private readonly db: Database;
  private readonly store: BlobReader & BlobWriter;
  private readonly clock: Clock;
  private readonly contents: LruCache<string, Buffer>;
  private readonly storedListeners: ManifestStoredListener[] = [];
  private readonly deletedListeners: ManifestDeletedListener[] = [];
  private tagGuard: TagGuard | undefined;

  constructor(options: ManifestServiceOptions) {
    this.db = options.db;
    this.store = options.store;
    this.clock = options.clock;
    this.contents = new LruCache(options.cacheBytes ?? 32 * 1024 * 1024, (bytes) => bytes.length + 128);
  }

  onStored(listener: ManifestStoredListener): void {
    this.storedListeners.push(listener);
  }

  onDeleted(listener: ManifestDeletedListener): void {
    this.deletedListeners.push(listener);
  }

  guardTags(guard: TagGuard): void {
    this.tagGuard = guard;
  }

  async put(
    repository: string,
    reference: Reference,
    bytes: Buffer,
    contentType: string | undefined,
  ): Promise<PutResult> {
    const manifest = parseManifest(bytes, contentType);
    const digest = digestOf(bytes, reference.kind === 'digest' ? reference.algorithm : 'sha256');
    if (reference.kind === 'digest' && digest !== reference.digest) {
      throw new RegistryError('DIGEST_INVALID', `manifest has digest ${digest}, not ${reference.digest}`, {
        detail: { expected: reference.digest, actual: digest },
      });
    }
    const references = await this.checkReferences(repository, manifest);
    const lock =
      reference.kind === 'tag' ? await this.tagGuard?.lockOf(repository, reference.tag) : undefined;
    await this.store.put(digest, bytes);
    const now = this.clock.now();
    const row: ManifestRow = {
      repository,
      digest,
      media_type: manifest.mediaType,
      size: bytes.length,
      artifact_type: effectiveArtifactType(manifest) ?? null,
      subject: manifest.subject?.digest ?? null,
      annotations: manifest.annotations ? JSON.stringify(manifest.annotations) : null,
      created_at: now,
    };
    await this.db.transaction(async (db) => {
      await db.repositories.ensure(repository, now);
      await db.blobs.insert(digest, bytes.length, now);
      await db.manifests.insert(row, references);
      await chargeStorage(db, repository, manifestContents(digest, bytes.length, manifest, references), now);
      // A protected tag is only ever created, never moved: insert-if-absent keeps that atomic.
      if (reference.kind === 'tag' && lock) {
        if (!(await db.tags.insert(repository, reference.tag, digest, now))) throw lock;
      } else if (reference.kind === 'tag') await db.tags.upsert(repository, reference.tag, digest, now);
    });
    this.contents.set(digest, bytes);
    for (const listener of this.storedListeners) listener(repository, digest);
    return manifest.subject ? { digest, subject: manifest.subject.digest } : { digest };
  }

  /**
   * The manifest a GET or HEAD serves. By tag, the Accept header must allow its media type; an
   * index asked for by a client that only reads image manifests is answered with its
   * linux/amd64 image, as distribution does for old clients.
   */
  async get(repository: string, reference: Reference, accept: AcceptList): Promise<StoredManifest> {
    const row = await this.find(repository, reference);
    // A digest names exact content: it is served as stored, whatever the Accept header says.
    if (reference.kind === 'digest' || accept.accepts(row.media_type)) return this.load(row);
    if (manifestKinds.get(row.media_type) === 'index') {
      const child = await this.platformChild(row, accept);
      if (child) return this.load(child);
    }
    throw new RegistryError(
      'MANIFEST_UNKNOWN',
      `manifest ${row.digest} is ${row.media_type}, which the Accept header does not allow`,
      { detail: { mediaType: row.media_type } },
    );
  }

  /**
   * Deletes by digest (the manifest, its tags and its accessories: referrers and Cosign's
   * `sha256-<hex>.sig`/`.att`/`.sbom` tagged signatures) or by tag (only the tag).
   */
  async delete(repository: string, reference: Reference): Promise<void> {
    if (reference.kind === 'tag') {
      const lock = await this.tagGuard?.lockOf(repository, reference.tag);
      if (lock && (await this.db.tags.find(repository, reference.tag)) !== undefined) throw lock;
      if (!(await this.db.tags.delete(repository, reference.tag)))
        throw manifestUnknown(repository, reference.tag);
      for (const listener of this.deletedListeners) listener(repository, undefined);
      return;
    }
    const digest = reference.digest;
    if (this.tagGuard) {
      for (const tag of await this.db.tags.findForManifest(repository, digest)) {
        const lock = await this.tagGuard.lockOf(repository, tag);
        if (lock) throw lock;
      }
    }
    await this.db.transaction(async (db) => {
      const blobs = await db.quotas.referencedBlobs(repository, digest);
      if (!(await db.manifests.delete(repository, digest))) throw manifestUnknown(repository, digest);
      await releaseStorage(db, repository, [digest, ...blobs], this.clock.now());
    });
    for (const listener of this.deletedListeners) listener(repository, reference.digest);
    await deleteAccessories(this, this.db, repository, reference.digest);
  }

  /**
   * The referrers of `digest` as an image index (empty when there are none), a page at a time:
   * a page stops before it would pass `referrersPageBytes`, and `next` says where to go on.
   */
  async referrers(
    repository: string,
    digest: Digest,
    options: { artifactType?: string; after?: string } = {},
  ): Promise<{ index: Buffer; next?: string }> {
    const rows = await this.db.manifests.findReferrers(repository, digest, {
      ...options,
      limit: referrersPageCount + 1,
    });
    const descriptors: string[] = [];
    let bytes = 0;
    let next: string | undefined;
    for (const [position, row] of rows.entries()) {
      const descriptor: Record<string, unknown> = {
        mediaType: row.media_type,
        digest: row.digest,
        size: Number(row.size),
      };
      if (row.artifact_type) descriptor.artifactType = row.artifact_type;
      if (row.annotations) descriptor.annotations = JSON.parse(row.annotations);
      const json = JSON.stringify(descriptor);
      const full =
        position === referrersPageCount ||
        (descriptors.length > 0 && bytes + json.length > referrersPageBytes);
      if (full) {
        next = rows[position - 1]!.digest;
        break;
      }
      descriptors.push(json);
      bytes += json.length + 1;
    }
    const index = Buffer.from(
      `{"schemaVersion":2,"mediaType":"${mediaTypes.ociIndex}","manifests":[${descriptors.join(',')}]}`,
    );
    return next ? { index, next } : { index };
  }

  private async find(repository: string, reference: Reference): Promise<ManifestRow> {
    const row =
      reference.kind === 'tag'
        ? await this.db.manifests.findByTag(repository, reference.tag)
        : await this.db.manifests.find(repository, reference.digest);
    if (!row) throw manifestUnknown(repository, reference.kind === 'tag' ? reference.tag : reference.digest);
    return row;
  }

  private async platformChild(index: ManifestRow, accept: AcceptList): Promise<ManifestRow | undefined> {
    const bytes = (await this.load(index)).bytes;
    const parsed = parseManifest(bytes, index.media_type);
    const entry = parsed.manifests.find(
      (descriptor) =>
        descriptor.platform?.os === defaultPlatform.os &&
        descriptor.platform.architecture === defaultPlatform.architecture &&
        accept.accepts(descriptor.mediaType),
    );
    return entry ? this.db.manifests.find(index.repository, entry.digest) : undefined;
  }

  private async load(row: ManifestRow): Promise<StoredManifest> {
    const digest = row.digest as Digest;
    let bytes = this.contents.get(digest);
    if (!bytes) {
      try {
        bytes = await readAll(await this.store.read(digest), Number(row.size));
      } catch (error) {
        if (error instanceof BlobNotFoundError) throw manifestUnknown(row.repository, digest);
        throw error;
      }
      this.contents.set(digest, bytes);
    }
    return { digest, mediaType: row.media_type, size: bytes.length, bytes };
  }

  /**
   * Every blob and manifest the manifest lists must be in the repository (the subject need not
   * be). An index entry may also name a blob: BuildKit's registry cache lists layers that way.
   */
  private async checkReferences(repository: string, manifest: ParsedManifest): Promise<ManifestReference[]> {
    const blobs = [...(manifest.config ? [manifest.config] : []), ...manifest.layers].filter(
      (descriptor) => !isNonDistributable(descriptor.mediaType),
    );
    const children = manifest.manifests;
    const [blobSizes, manifestSizes] = await Promise.all([
      this.db.blobs.findManyInRepository(
        repository,
        [...blobs, ...children].map((descriptor) => descriptor.digest),
      ),
      this.db.manifests.findMany(
        repository,
        children.map((descriptor) => descriptor.digest),
      ),
    ]);
    checkPresent(blobs, blobSizes);
    checkPresent(children, new Map([...blobSizes, ...manifestSizes]));
    return [
      ...blobs.map((descriptor) => ({ child: descriptor.digest, kind: 'blob' as const })),
      ...children.map((descriptor) => ({
        child: descriptor.digest,
        kind: manifestSizes.has(descriptor.digest) ? ('manifest' as const) : ('blob' as const),
      })),
    ];
  }
}

function checkPresent(descriptors: readonly Descriptor[], sizes: Map<string, number>): void {
  for (const descriptor of descriptors) {
    const size = sizes.get(descriptor.digest);
    if (size === undefined) {
      throw new RegistryError(
        'MANIFEST_BLOB_UNKNOWN',
        `manifest references ${descriptor.digest}, which is not in the repository`,
        {
          detail: { digest: descriptor.digest },
        },
      );
    }
    if (size !== descriptor.size) {
      throw new RegistryError(
        'MANIFEST_INVALID',
        `manifest invalid: descriptor of ${descriptor.digest} says ${descriptor.size} bytes, the content has ${size}`,
        { detail: { digest: descriptor.digest, size: descriptor.size, actual: size } },
      );
    }
  }
}
