import { MiB } from './data.ts';

/** Sizes, counts and durations of every measurement: sized to finish in under 5 minutes on 2 cores. */
export const settings = {
  largeBlobBytes: 256 * MiB,
  chunkBytes: 8 * MiB,
  /** Runs per throughput and req/s measurement, per registry; the median is reported. */
  repetitions: 3,
  smallBlobs: { count: 2000, minBytes: 1024, maxBytes: 4096, concurrency: 16 },
  load: { connections: 20, warmupSeconds: 5, runSeconds: 4 },
  /** Runs per variant when one Berth is loaded several ways (anonymous, basic, token): more, as the differences sought are small. */
  variantRepetitions: 5,
  tags: { count: 5000, concurrency: 16, listRequests: 100, listWarmup: 5 },
  hugeBlobBytes: 1024 * MiB,
  rssLimitBytes: 200 * MiB,
  /** Vulnerability scans: timed runs per image, the random layer added to the second image, targets. */
  scan: { repetitions: 3, randomLayerBytes: 200 * MiB, timeLimitSeconds: 2, rssLimitBytes: 300 * MiB },
};
