import { fileURLToPath } from 'node:url';
import { runBench } from './bench-process.ts';
import { ociManifestType, RegistryClient } from './client.ts';
import { LargeBlob, MiB, smallBlobs } from './data.ts';
import { rawTool, wrkBin, wrkTool } from './load.ts';
import { cpuSnapshot, describeMachine, otherLoad } from './machine.ts';
import {
  elapsedSeconds,
  load,
  loadVariants,
  measure,
  type PerSubject,
  progress,
  pushHuge,
  rate,
  type Subject,
} from './measure.ts';
import { measurePullPolicies, pullPolicyRows } from './pull-policies.ts';
import { formatTable, type Row, writeJson } from './report.ts';
import { measureScaleOut } from './scale-out.ts';
import { measureScans } from './scan.ts';
import * as scenario from './scenarios.ts';
import { distributionBin, memoryOf, startBerth, startDistribution } from './servers.ts';
import { settings } from './settings.ts';
import { measureStorageBackends } from './storage-backends.ts';

const resultsPath = fileURLToPath(new URL('./results/latest.json', import.meta.url));

runBench(async (resources) => {
  const machine = describeMachine({ distribution: distributionBin, wrk: wrkBin });
  const cpuAtStart = cpuSnapshot();
  progress(`generating a ${settings.largeBlobBytes / MiB} MiB random blob`);
  const large = new LargeBlob(settings.largeBlobBytes);
  const work = await resources.tempDir('berth-bench-');
  progress('starting berth and distribution');
  const [berth, distribution] = await Promise.all([
    startBerth(resources, await resources.tempDir('berth-bench-berth-')),
    startDistribution(resources, await resources.tempDir('berth-bench-distribution-')),
  ]);
  const subjects: Subject[] = [
    { name: 'berth', server: berth, client: new RegistryClient(berth.url, berth.authorization) },
    { name: 'distribution', server: distribution, client: new RegistryClient(distribution.url) },
  ];

  progress('warming up both registries');
  const warmup = new LargeBlob(16 * MiB);
  const images = {} as PerSubject<Awaited<ReturnType<RegistryClient['pushImage']>>>;
  for (const { name, client } of subjects) {
    images[name] = await client.pushImage('bench/image', 'latest', smallBlobs(1, 2048, 2048)[0]!.bytes);
    const blob = warmup.next();
    await scenario.pushMonolithic(client, 'bench/warmup', blob);
    await scenario.pushChunked(client, 'bench/warmup', warmup.next(), settings.chunkBytes);
    await scenario.pull(client, 'bench/warmup', blob.digest, blob.bytes.length);
    await scenario.pushSmallBlobs(client, 'bench/warmup', smallBlobs(200, 1024, 4096), 16);
  }

  // The read benchmarks run anonymously, as on distribution: Berth's bench project is public.
  await scenario.makeProjectPublic(subjects[0]!.client, 'bench');

  const rows: Row[] = [];
  const mib = settings.largeBlobBytes / MiB;
  const throughputRow = (id: string, metric: string, min: number): Row => ({
    id,
    metric,
    unit: 'MiB/s',
    better: 'higher',
    target: { kind: 'ratio', min },
  });
  const pulled = {} as PerSubject<string>;

  const monolithic = throughputRow('push-monolithic', `monolithic push, ${mib} MiB`, 1.5);
  await measure(rows, [monolithic], () =>
    rate(subjects, monolithic, mib, async ({ name, client }) => {
      const blob = large.next();
      pulled[name] = blob.digest;
      return scenario.pushMonolithic(client, 'bench/large', blob);
    }),
  );
  const chunked = throughputRow(
    'push-chunked',
    `chunked push, ${settings.chunkBytes / MiB} MiB PATCHes`,
    2.0,
  );
  await measure(rows, [chunked], () =>
    rate(subjects, chunked, mib, ({ client }) =>
      scenario.pushChunked(client, 'bench/large', large.next(), settings.chunkBytes),
    ),
  );
  const pull = throughputRow('pull', `pull, ${mib} MiB`, 1.0);
  await measure(rows, [pull], async () => {
    // This VM pages out file cache left cold for about a minute: one untimed pull first, so that
    // both registries serve from memory and the disk's read speed is not what gets measured.
    const pullFrom = ({ name, client }: Subject) => {
      const digest = pulled[name];
      if (!digest) throw new Error(`no blob to pull: the monolithic push to ${name} failed`);
      return scenario.pull(client, 'bench/large', digest, settings.largeBlobBytes);
    };
    for (const subject of subjects) await pullFrom(subject);
    await rate(subjects, pull, mib, pullFrom);
  });

  const { count, minBytes, maxBytes, concurrency } = settings.smallBlobs;
  const small: Row = {
    id: 'small-blobs',
    metric: `${count} small blobs, ${concurrency} concurrent`,
    unit: 'blobs/s',
    better: 'higher',
    target: { kind: 'ratio', min: 2.0 },
  };
  await measure(rows, [small], () =>
    rate(subjects, small, count, ({ client }) =>
      scenario.pushSmallBlobs(client, 'bench/small', smallBlobs(count, minBytes, maxBytes), concurrency),
    ),
  );

  const connections = settings.load.connections;
  const loadRows = (id: string, metric: string): [Row, Row] => [
    {
      id: `${id}-rps`,
      metric: `${metric}, ${connections} conns`,
      unit: 'req/s',
      better: 'higher',
      target: { kind: 'ratio', min: 3.0 },
    },
    {
      id: `${id}-p99`,
      metric: `${metric}, p99 latency`,
      unit: 'ms',
      better: 'lower',
      target: { kind: 'info' },
    },
  ];
  const manifestRows = loadRows('manifest-get', 'manifest GET by tag');
  await measure(rows, manifestRows, () =>
    load(subjects, wrkTool(resources, 1, work), ...manifestRows, ({ server }) => ({
      url: `${server.url}/v2/bench/image/manifests/latest`,
      method: 'GET',
      headers: { accept: ociManifestType },
    })),
  );
  const authRows: Row[] = (['HTTP basic', 'bearer token'] as const).map((how) => ({
    id: `manifest-get-${how === 'HTTP basic' ? 'basic' : 'token'}-rps`,
    metric: `manifest GET by tag with ${how}, ${connections} conns`,
    unit: 'req/s',
    better: 'higher',
    target: { kind: 'fraction', of: 'anonymous', min: 0.9 },
  }));
  await measure(rows, authRows, async () => {
    const url = `${berth.url}/v2/bench/image/manifests/latest`;
    const anonymousRow: Row = { ...authRows[0]!, id: 'anonymous', target: { kind: 'info' } };
    const request = (authorization?: string) => {
      const headers: Record<string, string> = { accept: ociManifestType };
      if (authorization) headers.authorization = authorization;
      return { url, method: 'GET' as const, headers };
    };
    await loadVariants(wrkTool(resources, 1, work), [
      { label: 'anonymous', rpsRow: anonymousRow, spec: async () => request() },
      { label: 'basic', rpsRow: authRows[0]!, spec: async () => request(berth.authorization) },
      {
        label: 'token',
        rpsRow: authRows[1]!,
        spec: async () => request(`Bearer ${await scenario.pullToken(subjects[0]!.client, 'bench/image')}`),
      },
    ]);
    for (const row of authRows) row.baseline = anonymousRow.berth;
  });
  const policyRows = pullPolicyRows(connections);
  await measure(rows, policyRows, () =>
    measurePullPolicies(subjects[0]!.client, wrkTool(resources, 1, work), policyRows),
  );
  const headRows = loadRows('blob-head', 'blob HEAD');
  await measure(rows, headRows, () =>
    load(subjects, rawTool, ...headRows, ({ name, server }) => ({
      url: `${server.url}/v2/bench/image/blobs/${images[name].layerDigest}`,
      method: 'HEAD',
      headers: {},
    })),
  );

  const tags = settings.tags;
  const tagPut: Row = {
    id: 'tag-put',
    metric: `manifest PUT under ${tags.count} tags, ${tags.concurrency} concurrent`,
    unit: 'tags/s',
    better: 'higher',
    target: { kind: 'info' },
  };
  const tagsList: Row[] = [
    {
      id: 'tags-list-p50',
      metric: `tags list of ${tags.count}, median`,
      unit: 'ms',
      better: 'lower',
      target: { kind: 'ratio', min: 1.0 },
    },
    {
      id: 'tags-list-p99',
      metric: `tags list of ${tags.count}, p99`,
      unit: 'ms',
      better: 'lower',
      target: { kind: 'info' },
    },
  ];
  await measure(rows, [tagPut, ...tagsList], async () => {
    const latencies: Record<string, unknown> = {};
    for (const { name, client } of subjects) {
      const { manifest } = await client.pushImage(
        'bench/tags',
        't00000',
        smallBlobs(1, 2048, 2048)[0]!.bytes,
      );
      tagPut[name] =
        tags.count /
        (await scenario.tagManifest(client, 'bench/tags', manifest, tags.count, tags.concurrency));
      const summary = await scenario.tagsListLatency(
        client,
        'bench/tags',
        tags.count,
        tags.listRequests,
        tags.listWarmup,
      );
      tagsList[0]![name] = summary.p50Ms;
      tagsList[1]![name] = summary.p99Ms;
      latencies[name] = summary;
    }
    tagsList[0]!.samples = latencies;
  });

  const runPeak: Row = {
    id: 'rss-peak-run',
    metric: 'peak RSS (VmHWM) over this run',
    unit: 'MiB',
    better: 'lower',
    target: { kind: 'info' },
  };
  await measure(rows, [runPeak], async () => {
    runPeak.berth = memoryOf(berth.pid).peak / MiB;
    runPeak.distribution = memoryOf(distribution.pid).peak / MiB;
  });
  for (const subject of subjects) subject.client.close();
  await Promise.all([berth.stop(), distribution.stop()]);
  await measureScaleOut(rows, resources, wrkTool(resources, 1, work));
  await measureStorageBackends(rows, resources);

  const hugePeak: Row = {
    id: 'rss-peak-1gib-push',
    metric: `peak RSS, fresh process, ${settings.hugeBlobBytes / MiB / 1024} GiB streamed push`,
    unit: 'MiB',
    better: 'lower',
    target: { kind: 'max', value: settings.rssLimitBytes / MiB },
  };
  await measure(rows, [hugePeak], async () => {
    const samples: Record<string, unknown> = {};
    for (const [name, start] of [
      ['berth', startBerth],
      ['distribution', startDistribution],
    ] as const) {
      const result = await pushHuge(resources, start);
      hugePeak[name] = result.peak / MiB;
      samples[name] = result;
      progress(
        `  ${name}: VmHWM ${(result.peak / MiB).toFixed(0)} MiB, ${result.mibPerSecond.toFixed(0)} MiB/s`,
      );
    }
    hugePeak.samples = samples;
  });

  await measureScans(rows, resources);

  const seconds = elapsedSeconds();
  const others = otherLoad(cpuAtStart, cpuSnapshot());
  process.stdout.write(
    `\nBerth vs ${machine.versions.distribution}, ${machine.cpus} CPUs, ${seconds.toFixed(0)} s. ` +
      `Rates are medians of ${settings.repetitions} interleaved runs, each after a sync; ratio > 1 means Berth is better.\n` +
      `manifest GET: wrk -t1; blob HEAD: raw-socket Node client (wrk cannot HEAD); ` +
      `${connections} keep-alive connections.\n\n${formatTable(rows)}\n`,
  );
  if (others.cores >= 0.1) {
    process.stdout.write(
      `warning: other processes used ${others.cores.toFixed(2)} of ${machine.cpus} cores on average ` +
        'during the run; the numbers are noisier than on an idle machine\n',
    );
  }
  await writeJson(
    resultsPath,
    { date: new Date().toISOString(), elapsedSeconds: seconds, machine, others, settings },
    rows,
  );
  process.stdout.write(`results: ${resultsPath}\n`);
});
