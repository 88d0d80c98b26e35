import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../src/storage/s3/s3-client.ts';
import { RegistryClient } from './client.ts';
import { LargeBlob, MiB } from './data.ts';
import { median, progress } from './measure.ts';
import type { Row } from './report.ts';
import * as scenario from './scenarios.ts';
import { type RegistryProcess, type Resources, startBerth } from './servers.ts';
import { settings } from './settings.ts';

const run = promisify(execFile);
const scripts = fileURLToPath(new URL('../scripts/', import.meta.url));
/** Smaller than the filesystem rows' blob: RGW writes every byte through a local OSD as well. */
const blobBytes = 64 * MiB;
const cephTools = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin'];

async function missingCephTools(): Promise<string[]> {
  const { stdout } = await run('bash', [
    '-c',
    `PATH="$PATH:/usr/sbin:/sbin"; for t in ${cephTools.join(' ')}; do command -v "$t" >/dev/null || echo "$t"; done`,
  ]);
  return stdout.trim().split('\n').filter(Boolean);
}

function envValues(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^(S3_[A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) values[match[1]!] = match[2]!;
  }
  return values;
}

/**
 * Blob push and pull MiB/s of Berth on S3 (Ceph RGW from `scripts/s3-start.sh`, streamed
 * through Berth, no presigned redirect) against Berth on its filesystem store. Skipped, saying
 * why, when Ceph is not installed.
 */
export async function measureStorageBackends(rows: Row[], resources: Resources): Promise<void> {
  const mib = blobBytes / MiB;
  const template = (id: string, metric: string): Row => ({
    id,
    metric,
    unit: 'MiB/s',
    better: 'higher',
    target: { kind: 'fraction', of: 'filesystem' },
  });
  const push = template('s3-push', `S3 (Ceph RGW) vs filesystem: monolithic push, ${mib} MiB`);
  const pull = template('s3-pull', `S3 (Ceph RGW) vs filesystem: pull, ${mib} MiB`);
  progress(push.metric);
  rows.push(push, pull);
  const absent = await missingCephTools();
  if (absent.length > 0) {
    for (const row of [push, pull]) row.error = `skipped: not installed: ${absent.join(', ')}`;
    progress(`  skipped: not installed: ${absent.join(', ')}`);
    return;
  }
  const cephDir = await resources.tempDir('berth-bench-s3-');
  const nodes: RegistryProcess[] = [];
  try {
    const { stdout } = await run('bash', [`${scripts}s3-start.sh`, cephDir], { timeout: 120_000 });
    const s3 = envValues(stdout);
    if (!s3.S3_ENDPOINT || !s3.S3_ACCESS_KEY || !s3.S3_SECRET_KEY)
      throw new Error(`s3-start.sh printed no endpoint: ${stdout}`);
    const bucket = 'berth-bench';
    const admin = createS3Client({
      endpoint: s3.S3_ENDPOINT,
      region: s3.S3_REGION ?? 'us-east-1',
      accessKeyId: s3.S3_ACCESS_KEY,
      secretAccessKey: s3.S3_SECRET_KEY,
      forcePathStyle: true,
    });
    try {
      await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      admin.destroy();
    }
    const onS3 = await startBerth(resources, await resources.tempDir('berth-bench-s3-node-'), {
      BERTH_STORAGE_DRIVER: 's3',
      BERTH_STORAGE_S3_ENDPOINT: s3.S3_ENDPOINT,
      BERTH_STORAGE_S3_REGION: s3.S3_REGION ?? 'us-east-1',
      BERTH_STORAGE_S3_BUCKET: bucket,
      BERTH_STORAGE_S3_FORCE_PATH_STYLE: 'true',
      BERTH_STORAGE_S3_ACCESS_KEY_ID: s3.S3_ACCESS_KEY,
      BERTH_STORAGE_S3_SECRET_ACCESS_KEY: s3.S3_SECRET_KEY,
    });
    nodes.push(onS3);
    const onFilesystem = await startBerth(resources, await resources.tempDir('berth-bench-fs-node-'));
    nodes.push(onFilesystem);
    const backends = [
      { name: 's3', client: new RegistryClient(onS3.url, onS3.authorization) },
      { name: 'filesystem', client: new RegistryClient(onFilesystem.url, onFilesystem.authorization) },
    ] as const;
    const large = new LargeBlob(blobBytes);
    const samples: Record<string, { push: number[]; pull: number[] }> = {
      s3: { push: [], pull: [] },
      filesystem: { push: [], pull: [] },
    };
    // One untimed push and pull each first (connections, RGW's first writes).
    for (const { client } of backends) {
      const blob = large.next();
      await scenario.pushMonolithic(client, 'bench/warmup', blob);
      await scenario.pull(client, 'bench/warmup', blob.digest, blobBytes);
    }
    for (let repetition = 0; repetition < settings.repetitions; repetition++) {
      const order = repetition % 2 === 0 ? backends : [...backends].reverse();
      for (const { name, client } of order) {
        const blob = large.next();
        samples[name]!.push.push(mib / (await scenario.pushMonolithic(client, 'bench/large', blob)));
        samples[name]!.pull.push(mib / (await scenario.pull(client, 'bench/large', blob.digest, blobBytes)));
      }
    }
    for (const [row, key] of [
      [push, 'push'],
      [pull, 'pull'],
    ] as const) {
      row.berth = median(samples.s3![key]);
      row.baseline = median(samples.filesystem![key]);
      row.samples = samples;
      progress(`  ${key}: S3 ${row.berth.toFixed(0)}, filesystem ${row.baseline.toFixed(0)} MiB/s`);
    }
    for (const { client } of backends) client.close();
  } catch (error) {
    for (const row of [push, pull]) row.error = (error as Error).message.split('\n')[0];
    progress(`  failed: ${(error as Error).message}`);
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
    await run('bash', [`${scripts}s3-stop.sh`, cephDir, '--purge']).catch(() => {});
  }
}
