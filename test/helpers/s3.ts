import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/storage/s3/s3-client.ts';
import { makeTempDir } from './berth.ts';
import { inCi, run } from './tools.ts';

export interface S3Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const scripts = join(import.meta.dirname, '..', '..', 'scripts');
const cephTools = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin'];

function parseEnv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^(S3_[A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) values[match[1]!] = match[2]!;
  }
  return values;
}

function fromValues(values: Record<string, string | undefined>): S3Endpoint | undefined {
  if (!values.S3_ENDPOINT || !values.S3_ACCESS_KEY || !values.S3_SECRET_KEY) return undefined;
  return {
    endpoint: values.S3_ENDPOINT,
    region: values.S3_REGION ?? 'us-east-1',
    accessKeyId: values.S3_ACCESS_KEY,
    secretAccessKey: values.S3_SECRET_KEY,
  };
}

let started: Promise<S3Endpoint | string> | undefined;

/**
 * The real S3 server (Ceph RGW) of this test run: the one `scripts/test.sh` started (its
 * S3_ENDPOINT and keys in the environment), or else one this process starts under a temp
 * directory with `scripts/s3-start.sh` and stops when its tests end. Resolves to a skip reason
 * when Ceph is not installed; under CI=true that, like any failure to start, is an error.
 */
export function testS3(): Promise<S3Endpoint | string> {
  started ??= startOnce();
  return started;
}

async function startOnce(): Promise<S3Endpoint | string> {
  const shared = fromValues(process.env);
  if (shared) return shared;
  const { stdout: which } = await run('bash', [
    '-c',
    `PATH="$PATH:/usr/sbin:/sbin"; for t in ${cephTools.join(' ')}; do command -v "$t" >/dev/null || echo "$t"; done`,
  ]);
  const absent = which.trim().split('\n').filter(Boolean);
  if (absent.length > 0) {
    const reason = `not installed: ${absent.join(', ')} (npm test installs them)`;
    if (inCi) throw new Error(`${reason}; CI=true forbids skipping`);
    return reason;
  }
  const dir = await makeTempDir('berth-s3-');
  after(async () => {
    await run('bash', [join(scripts, 's3-stop.sh'), dir, '--purge']);
    await rm(dir, { recursive: true, force: true });
  });
  const started = performance.now();
  const { stdout } = await run('bash', [join(scripts, 's3-start.sh'), dir], { timeoutMs: 120_000 });
  const endpoint = fromValues(parseEnv(stdout));
  if (!endpoint) throw new Error(`s3-start.sh printed no endpoint:\n${stdout}`);
  if (process.env.TEST_LOG === '1')
    process.stderr.write(`S3 (Ceph RGW) ready in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return endpoint;
}

/** A new, empty bucket on the test server, named for its test. */
export async function createTestBucket(endpoint: S3Endpoint, label: string): Promise<string> {
  const bucket = `berth-${label}-${randomBytes(4).toString('hex')}`.toLowerCase();
  const client = createS3Client({ ...endpoint, forcePathStyle: true });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}
