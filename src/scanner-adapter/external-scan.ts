import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../lib/clock.ts';
import type { VulnerabilityReport } from '../scan/scan-service.ts';
import type { AdapterClient } from './adapter-client.ts';
import type { AdapterScanRequest } from './adapter-scan-service.ts';

const maxWaitMs = 60 * 60 * 1000;
const maxPollIntervalMs = 30_000;

/**
 * Has an external adapter scan an artifact: submits the request, then asks for the report as
 * often as the adapter's Refresh-After says (at most every 30 s) until it is ready. The report
 * is kept as the adapter made it, but named after the registration that produced it.
 */
export async function scanWithAdapter(
  client: AdapterClient,
  registrationName: string,
  request: AdapterScanRequest,
  options: { clock: Clock; signal: AbortSignal },
): Promise<VulnerabilityReport> {
  const { clock, signal } = options;
  const id = await client.scan(request, signal);
  const deadline = clock.now() + maxWaitMs;
  for (;;) {
    const poll = await client.report(id, signal);
    if (poll.ready) {
      const scanner = poll.report.scanner ?? { vendor: '', version: '' };
      return { ...poll.report, scanner: { ...scanner, name: registrationName } };
    }
    if (clock.now() > deadline) throw new Error(`${registrationName} did not finish the scan in an hour`);
    await sleep(Math.min(poll.retryAfterMs, maxPollIntervalMs), undefined, { signal });
  }
}
