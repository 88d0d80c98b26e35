import { insecureFetch } from '../access/oidc-insecure-fetch.ts';
import type { VulnerabilityReport } from '../scan/scan-service.ts';
import type { AdapterScanRequest } from './adapter-scan-service.ts';

export type AdapterAuth = '' | 'Basic' | 'Bearer' | 'X-ScannerAdapter-API-Key';
export const adapterAuthTypes: readonly AdapterAuth[] = ['', 'Basic', 'Bearer', 'X-ScannerAdapter-API-Key'];

export interface AdapterEndpoint {
  url: string;
  auth: AdapterAuth;
  /** In clear, only in memory: `user:password` for Basic, the token or key otherwise. */
  credential: string;
  skipCertVerify: boolean;
}

export interface AdapterMetadata {
  scanner: { name: string; vendor: string; version: string };
  capabilities: { consumes_mime_types: string[]; produces_mime_types: string[] }[];
  properties?: Record<string, string>;
}

export type ReportPoll =
  | { ready: true; report: VulnerabilityReport }
  | { ready: false; retryAfterMs: number };

/** Something went wrong talking to an adapter, in words fit for an administrator. */
export class AdapterError extends Error {}

const timeoutMs = 30_000;
const reportMimes = [
  'application/vnd.security.vulnerability.report; version=1.1',
  'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0',
];

/** A client of one external scanner adapter's API (Harbor's pluggable scanner spec, /api/v1). */
export class AdapterClient {
  constructor(private readonly endpoint: AdapterEndpoint) {}

  async metadata(signal?: AbortSignal): Promise<AdapterMetadata> {
    const response = await this.send('GET', '/metadata', { signal });
    const body = (await this.json(response, 200)) as Partial<AdapterMetadata>;
    if (!body.scanner || !Array.isArray(body.capabilities))
      throw new AdapterError(`${this.endpoint.url} answered metadata without scanner and capabilities`);
    return body as AdapterMetadata;
  }

  /** Submits a scan request and returns the adapter's id for it. */
  async scan(request: AdapterScanRequest, signal?: AbortSignal): Promise<string> {
    const response = await this.send('POST', '/scan', {
      signal,
      body: JSON.stringify(request),
      contentType: 'application/vnd.scanner.adapter.scan.request+json; version=1.0',
    });
    const body = (await this.json(response, 202)) as { id?: unknown };
    if (typeof body.id !== 'string' || body.id === '')
      throw new AdapterError(`${this.endpoint.url} accepted the scan without an id`);
    return body.id;
  }

  async report(id: string, signal?: AbortSignal): Promise<ReportPoll> {
    const response = await this.send('GET', `/scan/${encodeURIComponent(id)}/report`, {
      signal,
      accept: reportMimes.join(', '),
    });
    if (response.status === 302) {
      await response.body?.cancel();
      const seconds = Number(response.headers.get('refresh-after'));
      return { ready: false, retryAfterMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 5000 };
    }
    return { ready: true, report: (await this.json(response, 200)) as VulnerabilityReport };
  }

  private async send(
    method: string,
    path: string,
    options: { signal?: AbortSignal; body?: string; contentType?: string; accept?: string },
  ): Promise<Response> {
    const { url, auth, credential, skipCertVerify } = this.endpoint;
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json, */*' };
    if (options.contentType) headers['content-type'] = options.contentType;
    if (auth === 'Basic') headers.authorization = `Basic ${Buffer.from(credential).toString('base64')}`;
    if (auth === 'Bearer') headers.authorization = `Bearer ${credential}`;
    if (auth === 'X-ScannerAdapter-API-Key') headers['x-scanneradapter-api-key'] = credential;
    const signal = options.signal
      ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)])
      : AbortSignal.timeout(timeoutMs);
    const target = `${url.replace(/\/+$/, '')}/api/v1${path}`;
    try {
      const init = { method, headers, body: options.body, signal, redirect: 'manual' as const };
      return skipCertVerify ? await insecureFetch(target, init) : await fetch(target, init);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new AdapterError(
        `the scanner adapter at ${url} could not be reached: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      );
    }
  }

  private async json(response: Response, expected: number): Promise<unknown> {
    const text = await response.text();
    if (response.status !== expected) {
      let detail = text.slice(0, 200);
      try {
        detail = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? detail;
      } catch {}
      throw new AdapterError(
        `the scanner adapter at ${this.endpoint.url} answered ${response.status}: ${detail}`,
      );
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new AdapterError(`the scanner adapter at ${this.endpoint.url} answered with invalid JSON`);
    }
  }
}
