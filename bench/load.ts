import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Resources } from './servers.ts';

export const wrkBin = '/usr/bin/wrk';

/** A closed-loop load: `connections` keep-alive connections, each sending its next request on an answer. */
export interface LoadSpec {
  url: string;
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  connections: number;
  seconds: number;
}

export interface LoadResult {
  tool: string;
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Connection errors, timeouts and answers other than 2xx/3xx. */
  errors: number;
}

export type LoadTool = (spec: LoadSpec) => Promise<LoadResult>;

/** Runs `task` over `items` with at most `concurrency` in flight; rejects on the first failure. */
export async function forEachConcurrent<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** The value at percentile `p` (0–100) of ascending `sorted`, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/**
 * wrk with a Lua script that sets the method and headers and prints its summary as one JSON line
 * (latencies in µs, exact percentiles from its histogram) rather than its rounded human table.
 * The cheapest load generator here (about 35 µs of CPU per request against 50–60 for `rawTool`),
 * so it leaves the registries the most of the two cores. It cannot measure HEAD: wrk 4.1 waits
 * for the Content-Length bytes after a HEAD answer and never completes a request.
 */
export function wrkTool(resources: Resources, threads: number, workDir: string): LoadTool {
  let runs = 0;
  return async (spec) => {
    const script = join(workDir, `wrk-${runs++}.lua`);
    const headerLines = Object.entries(spec.headers).map(
      ([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`,
    );
    await writeFile(
      script,
      [
        `wrk.method = ${JSON.stringify(spec.method)}`,
        ...headerLines,
        'function done(summary, latency, requests)',
        '  local e = summary.errors',
        '  io.write(string.format(\'WRK_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,\' ..',
        '    \'"max_us":%d,"errors":%d}\\n\', summary.requests, summary.duration, latency:percentile(50),',
        '    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.status + e.timeout))',
        'end',
        '',
      ].join('\n'),
    );
    const args = ['-t', String(threads), '-c', String(spec.connections), '-d', `${spec.seconds}s`];
    const stdout = await runCommand(resources, wrkBin, [...args, '--timeout', '5s', '-s', script, spec.url]);
    const line = stdout.split('\n').find((text) => text.startsWith('WRK_RESULT '));
    if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
    const result = JSON.parse(line.slice('WRK_RESULT '.length)) as {
      requests: number;
      duration_us: number;
      p50_us: number;
      p99_us: number;
      max_us: number;
      errors: number;
    };
    const seconds = result.duration_us / 1e6;
    return {
      tool: `wrk -t${threads}`,
      requests: result.requests,
      seconds,
      rps: result.requests / seconds,
      p50Ms: result.p50_us / 1000,
      p99Ms: result.p99_us / 1000,
      maxMs: result.max_us / 1000,
      errors: result.errors,
    };
  };
}

/**
 * The same closed loop from this process over raw sockets, for what wrk cannot do (HEAD): one
 * pre-built request, answers framed by their header block and Content-Length (HEAD answers have
 * no body). No pipelining, no chunked encoding. A third of node:http's CPU per request, so the
 * load generator takes less from the registries.
 */
export const rawTool: LoadTool = async (spec) => {
  const url = new URL(spec.url);
  const headerLines = Object.entries(spec.headers).map(([name, value]) => `${name}: ${value}\r\n`);
  const requestBytes = Buffer.from(
    `${spec.method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${headerLines.join('')}\r\n`,
    'latin1',
  );
  const endOfHeaders = Buffer.from('\r\n\r\n');
  const latencies: number[] = [];
  let errors = 0;
  const began = performance.now();
  const deadline = began + spec.seconds * 1000;

  const connection = () =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
      let pending: Buffer | undefined;
      let bodyLeft = -1;
      let status = 0;
      let started = 0;
      const send = () => {
        if (performance.now() >= deadline) {
          socket.end();
          resolve();
          return;
        }
        started = performance.now();
        socket.write(requestBytes);
      };
      socket.once('connect', send);
      socket.on('error', (error) => {
        errors++;
        socket.destroy();
        if (performance.now() < deadline) reject(error);
        else resolve();
      });
      socket.on('data', (chunk: Buffer) => {
        let data = pending ? Buffer.concat([pending, chunk]) : chunk;
        pending = undefined;
        if (bodyLeft < 0) {
          const end = data.indexOf(endOfHeaders);
          if (end < 0) {
            pending = data;
            return;
          }
          const head = data.toString('latin1', 0, end);
          status = Number(head.slice(9, 12));
          if (/\r\ntransfer-encoding:/i.test(head)) {
            socket.destroy();
            reject(new Error('chunked answers are not supported by the raw load tool'));
            return;
          }
          const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
          bodyLeft = spec.method === 'HEAD' ? 0 : Number(length?.[1] ?? 0);
          data = data.subarray(end + endOfHeaders.length);
        }
        bodyLeft -= data.length;
        if (bodyLeft > 0) return;
        if (bodyLeft < 0) {
          socket.destroy();
          reject(new Error(`${-bodyLeft} unexpected bytes after an answer`));
          return;
        }
        bodyLeft = -1;
        latencies.push(performance.now() - started);
        if (status < 200 || status >= 400) errors++;
        send();
      });
    });

  await Promise.all(Array.from({ length: spec.connections }, connection));
  const seconds = (performance.now() - began) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    tool: 'node-raw',
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    errors,
  };
};

function runCommand(resources: Resources, command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    resources.track(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} exited with ${code ?? signal}: ${stderr}${stdout}`));
    });
  });
}
