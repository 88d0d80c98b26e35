import { createHash, timingSafeEqual } from 'node:crypto';

const digestOf = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * The credential Harbor (or any client) must present to Berth's scanner-adapter API, as a
 * registration configures it: `Authorization: Bearer <token>`, the `X-ScannerAdapter-API-Key`
 * header, or `Authorization: Basic` whose password is the token. Compared in constant time.
 */
export class AdapterCredential {
  private readonly expected: Buffer;

  constructor(token: string) {
    if (token === '')
      throw new Error('scannerAdapter.authToken must be set when scannerAdapter.enabled is on');
    this.expected = digestOf(token);
  }

  accepts(authorization: string | undefined, apiKey: string | undefined): boolean {
    if (apiKey !== undefined) return this.matches(apiKey);
    if (!authorization) return false;
    const space = authorization.indexOf(' ');
    const scheme = authorization.slice(0, space).toLowerCase();
    const value = authorization.slice(space + 1).trim();
    if (scheme === 'bearer') return this.matches(value);
    if (scheme !== 'basic') return false;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return this.matches(decoded.slice(decoded.indexOf(':') + 1));
  }

  private matches(candidate: string): boolean {
    return timingSafeEqual(digestOf(candidate), this.expected);
  }
}
