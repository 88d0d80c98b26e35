import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CustomFetch } from 'openid-client';

const maxResponseBytes = 1024 * 1024;

/**
 * A fetch for `oidc_verify_cert: false`: accepts any TLS certificate from the OpenID Provider
 * (self-signed test installations). Node's built-in fetch has no per-call switch for that.
 */
export const insecureFetch: CustomFetch = (url, options) =>
  new Promise<Response>((resolve, reject) => {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    new Headers(options.headers as ConstructorParameters<typeof Headers>[0]).forEach((value, name) => {
      headers[name] = value;
    });
    const body =
      options.body === undefined || options.body === null
        ? undefined
        : Buffer.from(
            typeof options.body === 'string' || options.body instanceof URLSearchParams
              ? String(options.body)
              : new Uint8Array(options.body as ArrayBuffer),
          );
    if (body) headers['content-length'] = String(body.length);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      { method: options.method, headers, rejectUnauthorized: false, signal: options.signal },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxResponseBytes) req.destroy(new Error('OpenID Provider response too large'));
          else chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value])
              responseHeaders.append(name, item);
          }
          const status = res.statusCode ?? 502;
          const noBody = status === 204 || status === 304;
          resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
