/**
 * Reads the `[[package]]` tables of a machine-written TOML lockfile (Cargo.lock, poetry.lock):
 * each table's string-valued keys, and those of its `[package.<sub>]` tables as `<sub>.<key>`.
 * Both tools write one `key = value` per line with headers on their own lines, so a line reader
 * is enough; arrays, inline tables and numbers are skipped, multi-line strings are stepped over,
 * and a line it does not understand is ignored rather than failing the file.
 */
export type TomlTable = Record<string, string>;

const header = /^\[(\[?)\s*([A-Za-z0-9_.\- ]+?)\s*\]\]?\s*(?:#.*)?$/;
const keyValue = /^([A-Za-z0-9_-]+)\s*=\s*(.*)$/;

export function readPackageTables(text: string): TomlTable[] {
  const tables: TomlTable[] = [];
  let current: TomlTable | undefined;
  let prefix = '';
  let openString: '"""' | "'''" | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (openString) {
      if (line.includes(openString)) openString = undefined;
      continue;
    }
    if (line.startsWith('[')) {
      const match = header.exec(line);
      if (!match) continue;
      const name = (match[2] ?? '').replace(/\s+/g, '');
      if (match[1] === '[' && name === 'package') {
        current = {};
        tables.push(current);
        prefix = '';
      } else if (current && name.startsWith('package.')) {
        prefix = `${name.slice('package.'.length)}.`;
      } else {
        current = undefined;
      }
      continue;
    }
    const pair = keyValue.exec(line);
    if (!pair) continue;
    const value = pair[2] ?? '';
    const multiLine = multiLineOpening(value);
    if (multiLine) {
      openString = multiLine;
      continue;
    }
    const decoded = stringValue(value);
    if (current && decoded !== undefined) current[`${prefix}${pair[1]}`] = decoded;
  }
  return tables;
}

/** The delimiter of a multi-line string that starts on this line and does not end on it. */
function multiLineOpening(value: string): '"""' | "'''" | undefined {
  for (const delimiter of ['"""', "'''"] as const) {
    if (value.startsWith(delimiter) && !value.slice(3).includes(delimiter)) return delimiter;
  }
  return undefined;
}

/** A one-line basic (`"…"`, with escapes) or literal (`'…'`) string; undefined for anything else. */
function stringValue(value: string): string | undefined {
  const basic = /^("(?:[^"\\]|\\.)*")\s*(?:#.*)?$/.exec(value);
  if (basic) {
    try {
      // TOML's escapes are JSON's plus \e and \U; names and versions use neither.
      const parsed: unknown = JSON.parse(basic[1] ?? '');
      return typeof parsed === 'string' ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  const literal = /^'([^']*)'\s*(?:#.*)?$/.exec(value);
  return literal ? literal[1] : undefined;
}
