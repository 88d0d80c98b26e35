import { compareDigits, isDigit, sign } from './comparator.ts';

/**
 * Maven versions, ordered as Maven 3.8's ComparableVersion orders them (checked pair by pair
 * against maven-artifact 3.8.7; Maven 3.9 changed a few letter+digit mixes such as `1a1`).
 * A version is parsed into a tree: `.` separates items of one list, `-` and every digit/letter
 * change open a nested list.
 * Numbers compare numerically; known qualifiers in the order
 * alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp,
 * then unknown qualifiers alphabetically after all of them; trailing zeros and empty qualifiers
 * are dropped (1.0 == 1.0.0 == 1-ga). Every string is a valid Maven version.
 */
type Item =
  | { kind: 'int'; value: string }
  | { kind: 'string'; value: string }
  | { kind: 'list'; items: Item[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
const RELEASE_RANK = String(QUALIFIERS.indexOf(''));

function stringItem(text: string, followedByDigit: boolean): Item {
  let value = text;
  if (followedByDigit && value.length === 1) {
    // "a1", "b2", "m3" are shorthand for alpha-1, beta-2, milestone-3.
    value = { a: 'alpha', b: 'beta', m: 'milestone' }[value] ?? value;
  }
  return { kind: 'string', value: ALIASES[value] ?? value };
}

function parseItem(isNumber: boolean, text: string): Item {
  return isNumber ? { kind: 'int', value: text.replace(/^0+(?=\d)/, '') } : stringItem(text, false);
}

const isNull = (item: Item): boolean =>
  item.kind === 'int'
    ? /^0+$/.test(item.value)
    : item.kind === 'string'
      ? item.value === ''
      : item.items.length === 0;

/** Drops trailing null items (0, "", empty lists) before the last non-list item. */
function normalize(list: Item[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const item = list[i] as Item;
    if (isNull(item)) list.splice(i, 1);
    else if (item.kind !== 'list') break;
  }
}

export function parse(version: string): Item {
  const text = version.toLowerCase();
  const root: Item[] = [];
  let list = root;
  const stack: Item[][] = [root];
  const openList = (): void => {
    const child: Item[] = [];
    list.push({ kind: 'list', items: child });
    list = child;
    stack.push(child);
  };
  let isNumber = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '.' || c === '-') {
      list.push(i === start ? { kind: 'int', value: '0' } : parseItem(isNumber, text.slice(start, i)));
      start = i + 1;
      if (c === '-') openList();
    } else if (isDigit(c)) {
      if (!isNumber && i > start) {
        // A qualifier after a `.` is read as if after a `-`: 1.0.0.x1 < 1.0.0-x2.
        if (list.length > 0) openList();
        list.push(stringItem(text.slice(start, i), true));
        start = i;
        openList();
      }
      isNumber = true;
    } else {
      if (isNumber && i > start) {
        list.push(parseItem(true, text.slice(start, i)));
        start = i;
        openList();
      }
      isNumber = false;
    }
  }
  if (text.length > start) {
    if (!isNumber && list.length > 0) openList();
    list.push(parseItem(isNumber, text.slice(start)));
  }
  while (stack.length > 0) normalize(stack.pop() as Item[]);
  return { kind: 'list', items: root };
}

function qualifierRank(value: string): string {
  const index = QUALIFIERS.indexOf(value);
  return index >= 0 ? String(index) : `${QUALIFIERS.length}-${value}`;
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** ComparableVersion's Item.compareTo; `undefined` is the missing item of the shorter list. */
function compareItems(a: Item, b: Item | undefined): number {
  if (a.kind === 'int') {
    if (b === undefined) return isNull(a) ? 0 : 1;
    return b.kind === 'int' ? sign(compareDigits(a.value, b.value)) : 1;
  }
  if (a.kind === 'string') {
    if (b === undefined) return compareStrings(qualifierRank(a.value), RELEASE_RANK);
    if (b.kind === 'string') return compareStrings(qualifierRank(a.value), qualifierRank(b.value));
    return -1;
  }
  if (b === undefined) {
    for (const item of a.items) {
      const result = compareItems(item, undefined);
      if (result !== 0) return result;
    }
    return 0;
  }
  if (b.kind === 'int') return -1;
  if (b.kind === 'string') return 1;
  for (let i = 0; i < Math.max(a.items.length, b.items.length); i++) {
    const left = a.items[i];
    const right = b.items[i];
    const result =
      left === undefined
        ? right === undefined
          ? 0
          : -compareItems(right, undefined)
        : compareItems(left, right);
    if (result !== 0) return result;
  }
  return 0;
}

export function compare(a: string, b: string): number {
  return compareItems(parse(a), parse(b));
}

export function isValid(version: string): boolean {
  return version.trim() !== '';
}

export const maven = { scheme: 'maven', compare, isValid };
