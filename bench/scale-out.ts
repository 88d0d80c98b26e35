import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { ociManifestType, RegistryClient } from './client.ts';
import { smallBlobs } from './data.ts';
import type { LoadResult, LoadTool } from './load.ts';
import { median, progress } from './measure.ts';
import type { Row } from './report.ts';
import * as scenario from './scenarios.ts';
import { type RegistryProcess, type Resources, startBerth } from './servers.ts';
import { settings } from './settings.ts';

/** The machine's PostgreSQL, as the tests reach it (`scripts/ensure-services.sh` starts it). */
const adminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Why the scale-out run cannot happen here, or undefined when PostgreSQL answers. */
async function postgresMissing(): Promise<string | undefined> {
  try {
    await withAdmin((client) => client.query('select 1'));
    return undefined;
  } catch (error) {
    return `PostgreSQL unreachable at ${adminUrl}: ${(error as Error).message}`;
  }
}

/**
 * Manifest GET req/s from one Berth node, then from two nodes (separate processes on one
 * PostgreSQL database and one blob directory), each loaded by its own wrk with half the
 * connections at the same time. Skipped, saying why, when PostgreSQL is not reachable.
 */
export async function measureScaleOut(rows: Row[], resources: Resources, tool: LoadTool): Promise<void> {
  const row: Row = {
    id: 'scale-out-manifest-get-rps',
    metric: `manifest GET by tag, 2 nodes vs 1 on one PostgreSQL, ${settings.load.connections} conns in all`,
    unit: 'req/s',
    better: 'higher',
    target: { kind: 'fraction', of: '1 node' },
  };
  progress(row.metric);
  rows.push(row);
  const missing = await postgresMissing();
  if (missing) {
    row.error = `skipped: ${missing}`;
    progress(`  skipped: ${missing}`);
    return;
  }
  const name = `berth_bench_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`create database ${name}`));
  const nodes: RegistryProcess[] = [];
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const shared = await resources.tempDir('berth-bench-scale-out-');
    const common = {
      BERTH_DATABASE_URL: url.toString(),
      BERTH_AUTH_SECRET_KEY_FILE: join(shared, 'secret.key'),
      BERTH_STORAGE_FILESYSTEM_ROOT: join(shared, 'storage'),
    };
    // One after the other: the first creates the schema, the key file and the administrator.
    nodes.push(await startBerth(resources, await resources.tempDir('berth-bench-node-'), common));
    nodes.push(await startBerth(resources, await resources.tempDir('berth-bench-node-'), common));
    const client = new RegistryClient(nodes[0]!.url, nodes[0]!.authorization);
    await client.pushImage('bench/image', 'latest', smallBlobs(1, 2048, 2048)[0]!.bytes);
    await scenario.makeProjectPublic(client, 'bench');
    client.close();

    const { connections, warmupSeconds, runSeconds } = settings.load;
    const spec = (node: RegistryProcess, share: number, seconds: number) => ({
      url: `${node.url}/v2/bench/image/manifests/latest`,
      method: 'GET' as const,
      headers: { accept: ociManifestType },
      connections: share,
      seconds,
    });
    const checked = (result: LoadResult): LoadResult => {
      if (result.errors > 0) throw new Error(`${result.errors} failed requests`);
      return result;
    };
    const one = () => tool(spec(nodes[0]!, connections, runSeconds)).then(checked);
    const two = async () => {
      const half = Math.ceil(connections / 2);
      const results = await Promise.all(
        nodes.map((node) => tool(spec(node, half, runSeconds)).then(checked)),
      );
      return { ...results[0]!, rps: results.reduce((sum, result) => sum + result.rps, 0), perNode: results };
    };
    await Promise.all(nodes.map((node) => tool(spec(node, Math.ceil(connections / 2), warmupSeconds))));
    const samples: { oneNode: LoadResult[]; twoNodes: LoadResult[] } = { oneNode: [], twoNodes: [] };
    for (let repetition = 0; repetition < settings.repetitions; repetition++) {
      // Interleaved, alternating which goes first, as the other load rows are.
      if (repetition % 2 === 0) {
        samples.oneNode.push(await one());
        samples.twoNodes.push(await two());
      } else {
        samples.twoNodes.push(await two());
        samples.oneNode.push(await one());
      }
    }
    row.baseline = median(samples.oneNode.map((run) => run.rps));
    row.berth = median(samples.twoNodes.map((run) => run.rps));
    row.samples = samples;
    progress(
      `  1 node ${row.baseline.toFixed(0)}, 2 nodes ${row.berth.toFixed(0)} req/s (ratio ${(row.berth / row.baseline).toFixed(2)})`,
    );
  } catch (error) {
    row.error = (error as Error).message.split('\n')[0];
    progress(`  failed: ${(error as Error).message}`);
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
    await withAdmin((client) => client.query(`drop database if exists ${name} with (force)`)).catch(() => {});
  }
}
