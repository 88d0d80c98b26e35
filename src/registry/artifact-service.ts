import type { Database } from '../db/database.ts';
import type { ArtifactRow } from '../db/manifests.ts';
import type { Clock } from '../lib/clock.ts';
import { RegistryError } from '../oci/errors.ts';
import { isTag, parseReference } from '../oci/reference.ts';
import { ArtifactViews, type RepositoryContent } from './artifact-view.ts';
import type { BlobService } from './blob-service.ts';
import type { ManifestService } from './manifest-service.ts';

export interface ArtifactServiceOptions {
  db: Database;
  manifests: ManifestService;
  blobs: BlobService;
  clock: Clock;
  scanReportKey?: (repository: string) => Promise<string>;
  /** Tag immutability: refuses (PRECONDITION) deleting content that carries a protected tag. */
  immutability?: { assertDeletable(repository: string, tags: readonly string[]): Promise<void> };
}

/**
 * Harbor's view of content: repositories, artifacts and tags over the registry's manifests.
 * Deletions go through the manifest service, as a registry client's would.
 */
export class ArtifactService {
  readonly views: ArtifactViews;
  private readonly db: Database;
  private readonly manifests: ManifestService;
  private readonly clock: Clock;
  private readonly immutability: ArtifactServiceOptions['immutability'];

  constructor(options: ArtifactServiceOptions) {
    this.db = options.db;
    this.immutability = options.immutability;
    this.manifests = options.manifests;
    this.clock = options.clock;
    this.views = new ArtifactViews(options);
  }

  /** Repositories holding manifests, of one project or all. */
  repositories(project?: string) {
    return this.db.repositories.findSummaries({ project });
  }

  /** One repository, or NOT_FOUND when it holds no manifest. */
  async repository(name: string) {
    const [found] = await this.db.repositories.findSummaries({ name });
    if (!found) throw new RegistryError('NOT_FOUND', `repository ${name} not found`);
    return found;
  }

  async setDescription(name: string, description: string): Promise<void> {
    await this.repository(name);
    await this.db.repositories.setDescription(name, description, this.clock.now());
  }

  /** Deletes every manifest (and so every tag) of the repository, and forgets its description. */
  async deleteRepository(name: string): Promise<void> {
    await this.repository(name);
    const content = await this.views.content(name);
    await this.immutability?.assertDeletable(
      name,
      content.tags.map((tag) => tag.name),
    );
    for (const row of content.artifacts) await this.deleteManifest(name, row.digest);
    await this.db.repositories.deleteDetails(name);
  }

  /**
   * Deletes an artifact: its manifest, its tags and its accessories, and, for an index, the
   * children nothing else holds on to (no tag, no other index), as Harbor does. One that an
   * index of the repository lists is refused, so no index is left pointing at nothing.
   */
  async deleteArtifact(content: RepositoryContent, row: ArtifactRow): Promise<void> {
    await this.immutability?.assertDeletable(
      content.repository,
      (content.tagsByDigest.get(row.digest) ?? []).map((tag) => tag.name),
    );
    const parents = await this.db.manifests.findParents(content.repository, row.digest);
    if (parents.length > 0) {
      throw new RegistryError(
        'PRECONDITION',
        `the artifact ${row.digest} is referenced by ${parents[0]}; delete that first`,
      );
    }
    await this.deleteDeeply(content, row.digest, 0);
  }

  private async deleteDeeply(content: RepositoryContent, digest: string, depth: number): Promise<void> {
    const children = await this.db.manifests.findChildren(content.repository, digest);
    for (const accessory of content.accessoriesOf(digest))
      await this.deleteManifest(content.repository, accessory.digest);
    await this.deleteManifest(content.repository, digest);
    // Indexes nest at most a level or two in practice; the bound keeps a crafted cycle finite.
    if (depth >= 8) return;
    for (const child of children) {
      if ((content.tagsByDigest.get(child)?.length ?? 0) > 0) continue;
      if ((await this.db.manifests.findParents(content.repository, child)).length > 0) continue;
      if (!content.byDigest.has(child)) continue;
      await this.deleteDeeply(content, child, depth + 1);
    }
  }

  /** Creates a tag on the artifact; CONFLICT when the repository already has that tag. */
  async createTag(content: RepositoryContent, row: ArtifactRow, name: string): Promise<void> {
    if (!isTag(name))
      throw new RegistryError('BAD_REQUEST', `invalid tag name ${JSON.stringify(name.slice(0, 200))}`);
    const created = await this.db.tags.insert(content.repository, name, row.digest, this.clock.now());
    if (!created) throw new RegistryError('CONFLICT', `tag ${name} already exists in ${content.repository}`);
  }

  /** Deletes a tag of the artifact; NOT_FOUND when the artifact has no such tag. */
  async deleteTag(content: RepositoryContent, row: ArtifactRow, name: string): Promise<void> {
    const tags = content.tagsByDigest.get(row.digest) ?? [];
    if (!tags.some((tag) => tag.name === name)) {
      throw new RegistryError(
        'NOT_FOUND',
        `artifact ${row.digest} has no tag ${JSON.stringify(name.slice(0, 200))}`,
      );
    }
    await this.immutability?.assertDeletable(content.repository, [name]);
    await this.manifests.delete(content.repository, { kind: 'tag', tag: name });
  }

  private async deleteManifest(repository: string, digest: string): Promise<void> {
    try {
      await this.manifests.delete(repository, parseReference(digest));
    } catch (error) {
      // Deleted meanwhile by someone else: the outcome asked for holds.
      if (!(error instanceof RegistryError && error.code === 'MANIFEST_UNKNOWN')) throw error;
    }
  }
}
