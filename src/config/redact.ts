/** Settings that hold a secret themselves (not a path to one). */
const secretPaths = ['adminPassword', 'scannerAdapter.authToken', 'storage.s3.secretAccessKey'];
/** Settings that are URLs and may carry a password. */
const urlPaths = ['database.url'];

const redacted = '<redacted>';

/**
 * A copy of the configuration fit to print: secrets replaced, passwords taken out of URLs. The
 * configuration itself is left as it is.
 */
export function redactSecrets<T extends object>(config: T): T {
  const copy = structuredClone(config) as Record<string, unknown>;
  for (const path of secretPaths) {
    const { parent, key } = locate(copy, path);
    if (parent && typeof parent[key] === 'string' && parent[key] !== '') parent[key] = redacted;
  }
  for (const path of urlPaths) {
    const { parent, key } = locate(copy, path);
    const value = parent?.[key];
    if (typeof value !== 'string' || value === '') continue;
    try {
      const url = new URL(value);
      if (url.password) url.password = redacted;
      parent![key] = url.toString();
    } catch {
      parent![key] = redacted;
    }
  }
  return copy as T;
}

function locate(root: Record<string, unknown>, path: string) {
  const parts = path.split('.');
  const key = parts.pop()!;
  let parent: Record<string, unknown> | undefined = root;
  for (const part of parts) {
    const next: unknown = parent?.[part];
    parent = typeof next === 'object' && next !== null ? (next as Record<string, unknown>) : undefined;
  }
  return { parent, key };
}
