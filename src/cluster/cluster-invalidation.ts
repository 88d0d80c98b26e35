import type { Authenticator } from '../access/authenticator.ts';
import type { ProjectDirectory } from '../access/project-directory.ts';
import type { TokenService } from '../access/token-service.ts';
import type { Logger } from '../lib/logger.ts';
import type { CveAllowlistService } from '../policy/cve-allowlist-service.ts';
import type { PullGate } from '../policy/pull-gate.ts';
import type { TagImmutability } from '../policy/tag-immutability.ts';
import type { TrustPolicyService } from '../trust/trust-policy-service.ts';
import type { ChangeFeed } from './change-feed.ts';

export interface ClusterCaches {
  directory: ProjectDirectory;
  gate: PullGate;
  trustPolicies: TrustPolicyService;
  cveAllowlists: CveAllowlistService;
  immutability: TagImmutability;
  authenticator: Authenticator;
  tokens: TokenService;
  log: Logger;
}

/** The topics nodes tell each other about. */
export const topics = {
  projects: 'projects',
  pullPolicies: 'pull-policies',
  repositoryPulls: 'repository-pulls',
  cveAllowlist: 'cve-allowlist',
  immutableRules: 'immutable-rules',
  credentials: 'credentials',
  signingKeys: 'signing-keys',
} as const;

/**
 * Every cache that holds a copy of shared state publishes where it is invalidated locally, and
 * drops its copy when another node publishes. What a remote message triggers is not published
 * again (`applyingRemote`): the invalidations are synchronous, so a flag is enough.
 */
export function wireClusterInvalidation(feed: ChangeFeed, caches: ClusterCaches): void {
  const { directory, gate, trustPolicies, cveAllowlists, immutability, authenticator, tokens, log } = caches;
  let applyingRemote = false;
  const publish = (topic: string, payload = '') => {
    if (!applyingRemote) feed.publish(topic, payload);
  };
  const remote = (topic: string, apply: (payload: string) => void) =>
    feed.subscribe(topic, (payload) => {
      applyingRemote = true;
      try {
        apply(payload);
      } finally {
        applyingRemote = false;
      }
    });

  directory.onInvalidate(() => publish(topics.projects));
  remote(topics.projects, () => directory.invalidate());

  trustPolicies.onChange(() => publish(topics.pullPolicies));
  remote(topics.pullPolicies, () => gate.invalidateAll());

  gate.onRepositoryInvalidated((repository) => publish(topics.repositoryPulls, repository));
  remote(topics.repositoryPulls, (repository) => gate.invalidateRepository(repository));

  cveAllowlists.onChange((projectId) =>
    publish(topics.cveAllowlist, projectId === null ? '' : String(projectId)),
  );
  remote(topics.cveAllowlist, (projectId) =>
    cveAllowlists.changed(projectId === '' ? null : Number(projectId)),
  );

  immutability.onChange((projectId) => publish(topics.immutableRules, String(projectId)));
  remote(topics.immutableRules, (projectId) => immutability.forget(Number(projectId)));

  authenticator.onForgetLogins(() => publish(topics.credentials));
  remote(topics.credentials, () => authenticator.forgetLogins());

  tokens.onKeysRotated(() => publish(topics.signingKeys));
  remote(topics.signingKeys, () => {
    tokens.reloadKeys().catch((error: unknown) => log.warn({ err: error }, 'signing keys not reloaded'));
  });

  feed.onResync(() => {
    applyingRemote = true;
    try {
      directory.invalidate();
      gate.invalidateAll();
      cveAllowlists.changed(null);
      immutability.forget();
      authenticator.forgetLogins();
    } finally {
      applyingRemote = false;
    }
    tokens.reloadKeys().catch((error: unknown) => log.warn({ err: error }, 'signing keys not reloaded'));
  });
}
