import type { ApiServices } from './context.ts';

interface TagJson {
  name: string;
  immutable: boolean;
}

/** Sets `immutable` on tags (Harbor's `with_immutable_status=true`): whether a rule protects each. */
export async function markImmutableTags(
  services: ApiServices,
  repository: string,
  tags: readonly TagJson[],
): Promise<void> {
  for (const tag of tags)
    tag.immutable = (await services.immutability.ruleFor(repository, tag.name)) !== undefined;
}

/** The same for the tags of artifact views. */
export async function markImmutableArtifactTags(
  services: ApiServices,
  repository: string,
  views: readonly Record<string, unknown>[],
): Promise<void> {
  for (const view of views)
    await markImmutableTags(services, repository, (view.tags as TagJson[] | undefined) ?? []);
}
