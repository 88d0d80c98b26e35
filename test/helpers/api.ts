import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditLogRow } from '../../src/db/audit-logs.ts';
import { openDatabase } from '../../src/db/open.ts';
import type { TestBerth } from './berth.ts';
import { basicAuth, type Credentials, send, type TestResponse } from './http.ts';

/** A caller of /api/v2.0: credentials, or null for an anonymous one. */
export type ApiCaller = Credentials | null;

/** Sends a JSON request to the management API as `caller`. */
export function apiRequest(
  berth: TestBerth,
  caller: ApiCaller,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<TestResponse> {
  const all: Record<string, string> = { ...headers };
  if (caller) all.authorization = basicAuth(caller);
  if (body !== undefined) all['content-type'] = 'application/json';
  return send(berth.url, method, `/api/v2.0${path}`, {
    headers: all,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Every audit entry written so far (after the batching delay), newest first. */
export async function auditEntries(berth: TestBerth): Promise<AuditLogRow[]> {
  await sleep(400);
  const db = openDatabase(berth.config.database);
  try {
    return (await db.auditLogs.find({}, 1000, 0)).rows;
  } finally {
    await db.close();
  }
}
