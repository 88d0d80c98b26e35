import type { Body, RegistryClient } from './client.ts';
import type { Blob } from './data.ts';
import { forEachConcurrent, percentile } from './load.ts';

/** Seconds `task` takes. */
export async function timed(task: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await task();
  return (performance.now() - started) / 1000;
}

export function pushMonolithic(client: RegistryClient, repository: string, blob: Blob): Promise<number> {
  return timed(() => client.pushMonolithic(repository, blob.digest, blob.bytes));
}

export function pushStreamed(
  client: RegistryClient,
  repository: string,
  blob: { body: Body; digest: string },
): Promise<number> {
  return timed(() => client.pushMonolithic(repository, blob.digest, blob.body));
}

export function pushChunked(
  client: RegistryClient,
  repository: string,
  blob: Blob,
  chunkSize: number,
): Promise<number> {
  return timed(() => client.pushChunked(repository, blob.digest, blob.bytes, chunkSize));
}

export async function pull(client: RegistryClient, repository: string, digest: string, size: number) {
  let received = 0;
  const seconds = await timed(async () => {
    received = await client.pullBlob(repository, digest);
  });
  if (received !== size) throw new Error(`pulled ${received} of ${size} bytes`);
  return seconds;
}

/** Pushes every blob (POST + PUT) with `concurrency` in flight; returns the seconds taken. */
export function pushSmallBlobs(
  client: RegistryClient,
  repository: string,
  blobs: readonly Blob[],
  concurrency: number,
): Promise<number> {
  return timed(() =>
    forEachConcurrent(blobs, concurrency, (blob) =>
      client.pushMonolithic(repository, blob.digest, blob.bytes),
    ),
  );
}

/** PUTs the same manifest under `count` tags with `concurrency` in flight; returns the seconds taken. */
export function tagManifest(
  client: RegistryClient,
  repository: string,
  manifest: Buffer,
  count: number,
  concurrency: number,
): Promise<number> {
  const tags = Array.from({ length: count }, (_, index) => `t${String(index).padStart(5, '0')}`);
  return timed(() =>
    forEachConcurrent(tags, concurrency, (tag) => client.putManifest(repository, tag, manifest)),
  );
}

export interface LatencySummary {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Sequential tag list requests on one connection, after a few untimed ones; checks the count. */
export async function tagsListLatency(
  client: RegistryClient,
  repository: string,
  expected: number,
  requests: number,
  warmup: number,
): Promise<LatencySummary> {
  const latencies: number[] = [];
  for (let index = 0; index < warmup + requests; index++) {
    const started = performance.now();
    const tags = await client.listTags(repository);
    const ms = performance.now() - started;
    if (tags.length !== expected)
      throw new Error(`tags list returned ${tags.length} tags, expected ${expected}`);
    if (index >= warmup) latencies.push(ms);
  }
  latencies.sort((a, b) => a - b);
  return {
    requests,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1]!,
  };
}

/** Berth only: marks a project public through the management API, so anonymous pulls work. */
export async function makeProjectPublic(client: RegistryClient, project: string): Promise<void> {
  const reply = await client.request('PUT', `/api/v2.0/projects/${project}`, {
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ metadata: { public: 'true' } })),
  });
  if (reply.status !== 200) throw new Error(`making ${project} public: ${reply.status} ${reply.body}`);
}

/** Berth only: a registry token for pulling `repository`, from the Docker token flow. */
export async function pullToken(client: RegistryClient, repository: string): Promise<string> {
  const reply = await client.request('GET', `/service/token?scope=repository:${repository}:pull`);
  if (reply.status !== 200) throw new Error(`token: ${reply.status} ${reply.body}`);
  return (JSON.parse(reply.body.toString('utf8')) as { token: string }).token;
}
