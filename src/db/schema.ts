/**
 * Tables as Kysely sees them. Portable types only (text, bigint, no JSON columns, no arrays) so
 * SQLite and PostgreSQL share one schema and one set of queries. Times are epoch milliseconds.
 */

export interface RepositoryTable {
  name: string;
  created_at: number;
}

/** Content the blob store holds, once however many repositories link it. */
export interface BlobTable {
  digest: string;
  size: number;
  created_at: number;
}

/** A repository may use a blob: it was pushed or mounted there. */
export interface RepositoryBlobTable {
  repository: string;
  digest: string;
  created_at: number;
}

export interface ManifestTable {
  repository: string;
  digest: string;
  media_type: string;
  size: number;
  /** `artifactType`, or the config media type for image manifests (what referrers report). */
  artifact_type: string | null;
  subject: string | null;
  /** The manifest's top-level annotations as JSON text, for referrers responses. */
  annotations: string | null;
  created_at: number;
}

/** What a manifest points at (config, layers, child manifests), for deletion checks and GC. */
export interface ManifestReferenceTable {
  repository: string;
  manifest: string;
  child: string;
  kind: 'blob' | 'manifest';
}

export interface TagTable {
  repository: string;
  name: string;
  digest: string;
  updated_at: number;
}

export interface UploadTable {
  id: string;
  repository: string;
  /** Bytes received and acknowledged so far. */
  size: number;
  created_at: number;
  updated_at: number;
}

export interface Schema {
  repositories: RepositoryTable;
  blobs: BlobTable;
  repository_blobs: RepositoryBlobTable;
  manifests: ManifestTable;
  manifest_references: ManifestReferenceTable;
  tags: TagTable;
  uploads: UploadTable;
}
