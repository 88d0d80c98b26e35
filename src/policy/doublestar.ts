/**
 * Harbor's selector patterns: the syntax of Go's bmatcuk/doublestar, which Harbor's doublestar
 * selector calls. `*` any run of characters but `/`; `?` one such character; `[a-z]`, `[!x]`,
 * `[^x]` classes; `{a,b}` alternatives (nested, may hold `/`); `\` escapes; and `**` as a whole
 * segment: followed by `/` it matches zero or more segments, at the end everything that is left
 * (so `a/**` matches `a` too). Elsewhere `**` is a plain `*`, as in bash.
 *
 * Alternatives are expanded when the pattern is compiled, and each expansion is matched by
 * dynamic programming over (pattern position, name position): time bounded by the pattern's
 * size times the name's, however many stars, so a rule cannot stall a push.
 */

type Token =
  | { kind: 'char'; char: string }
  | { kind: 'any' }
  | { kind: 'class'; negate: boolean; ranges: [string, string][] }
  | { kind: 'star' }
  /** `**` where a segment starts: decided to be a globstar or a star once alternatives are expanded. */
  | { kind: 'doublestar' }
  /** `**` then `/` where a segment starts: zero or more whole segments. */
  | { kind: 'segments' }
  /** A final `**` where a segment starts: whatever is left of the name. */
  | { kind: 'rest' };

type Node = Token | { kind: 'alternatives'; options: Node[][] };

export class PatternError extends Error {
  constructor(pattern: string, reason: string) {
    super(`invalid pattern ${JSON.stringify(pattern.slice(0, 100))}: ${reason}`);
    this.name = 'PatternError';
  }
}

/** Bounds on one compiled pattern: total tokens over all its expansions. */
const maxPatternLength = 512;
const maxExpandedTokens = 4096;

class Parser {
  private position = 0;
  private readonly chars: string[];

  constructor(private readonly pattern: string) {
    this.chars = Array.from(pattern);
  }

  parse(): Node[] {
    const nodes = this.sequence(false);
    if (this.position < this.chars.length) throw this.fail('unexpected input');
    return nodes;
  }

  private fail(reason: string): PatternError {
    return new PatternError(this.pattern, reason);
  }

  /** Nodes up to the end, or (inside alternatives) up to an unescaped `,` or `}`. */
  private sequence(inAlternatives: boolean): Node[] {
    const nodes: Node[] = [];
    while (this.position < this.chars.length) {
      const char = this.chars[this.position]!;
      if (inAlternatives && (char === ',' || char === '}')) break;
      this.position++;
      switch (char) {
        case '\\': {
          const escaped = this.chars[this.position++];
          if (escaped === undefined) throw this.fail('it ends with an unfinished escape');
          nodes.push({ kind: 'char', char: escaped });
          break;
        }
        case '*':
          if (this.chars[this.position] === '*') {
            this.position++;
            nodes.push({ kind: 'doublestar' });
          } else nodes.push({ kind: 'star' });
          break;
        case '?':
          nodes.push({ kind: 'any' });
          break;
        case '[':
          nodes.push(this.characterClass());
          break;
        case '{':
          nodes.push(this.alternatives());
          break;
        default:
          nodes.push({ kind: 'char', char });
      }
    }
    return nodes;
  }

  private characterClass(): Token {
    const negate = this.chars[this.position] === '!' || this.chars[this.position] === '^';
    if (negate) this.position++;
    if (this.chars[this.position] === ']' || this.position >= this.chars.length)
      throw this.fail('it has an empty or unclosed character class');
    const ranges: [string, string][] = [];
    const next = (): string => {
      let char = this.chars[this.position++];
      if (char === '\\') char = this.chars[this.position++];
      if (char === undefined) throw this.fail('it has an unclosed character class');
      return char;
    };
    while (this.chars[this.position] !== ']') {
      if (this.position >= this.chars.length) throw this.fail('it has an unclosed character class');
      const low = next();
      if (this.chars[this.position] === '-' && this.chars[this.position + 1] !== ']') {
        this.position++;
        if (this.position >= this.chars.length) throw this.fail('it has an unclosed character class');
        ranges.push([low, next()]);
      } else ranges.push([low, low]);
    }
    this.position++;
    return { kind: 'class', negate, ranges };
  }

  private alternatives(): Node {
    const options: Node[][] = [];
    for (;;) {
      options.push(this.sequence(true));
      const char = this.chars[this.position++];
      if (char === '}') return { kind: 'alternatives', options };
      if (char !== ',') throw this.fail('it has an unclosed {');
    }
  }
}

/** Every brace-free expansion of `nodes`, in order. */
function expand(nodes: readonly Node[], pattern: string, budget: { tokens: number }): Token[][] {
  let results: Token[][] = [[]];
  for (const node of nodes) {
    if (node.kind !== 'alternatives') {
      for (const result of results) result.push(node);
      budget.tokens -= results.length;
    } else {
      const choices = node.options.flatMap((option) => expand(option, pattern, budget));
      results = results.flatMap((result) => choices.map((choice) => [...result, ...choice]));
      budget.tokens -= results.length;
    }
    if (budget.tokens < 0) throw new PatternError(pattern, 'it has too many alternatives');
  }
  return results;
}

/** Decides each `**`: a globstar when it fills a whole segment, else a star. */
function resolveDoublestars(tokens: readonly Token[]): Token[] {
  const resolved: Token[] = [];
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    if (token.kind !== 'doublestar') {
      resolved.push(token);
      continue;
    }
    const previous = tokens[index - 1];
    const next = tokens[index + 1];
    const startsSegment = previous === undefined || (previous.kind === 'char' && previous.char === '/');
    if (startsSegment && next === undefined) resolved.push({ kind: 'rest' });
    else if (startsSegment && next?.kind === 'char' && next.char === '/') {
      resolved.push({ kind: 'segments' });
      index++;
    } else resolved.push({ kind: 'star' });
  }
  return resolved;
}

function inClass(token: Extract<Token, { kind: 'class' }>, char: string): boolean {
  const found = token.ranges.some(([low, high]) => low <= char && char <= high);
  return found !== token.negate;
}

/** What doublestar accepts once the name has run out: a trailing `/**` matches the bare parent. */
function matchesNothingLeft(tokens: readonly Token[], from: number): boolean {
  const left = tokens.length - from;
  if (left === 0) return true;
  const first = tokens[from]!;
  if (left === 1) return first.kind === 'star' || first.kind === 'rest' || first.kind === 'segments';
  const last = tokens[from + 1]!;
  return (
    left === 2 &&
    first.kind === 'char' &&
    first.char === '/' &&
    (last.kind === 'rest' || last.kind === 'segments')
  );
}

function matchTokens(tokens: readonly Token[], name: readonly string[]): boolean {
  const width = name.length + 1;
  // 0 unknown, 1 matches, 2 does not.
  const memo = new Uint8Array((tokens.length + 1) * width);
  const at = (t: number, n: number): boolean => {
    const key = t * width + n;
    if (memo[key] !== 0) return memo[key] === 1;
    const result = step(t, n);
    memo[key] = result ? 1 : 2;
    return result;
  };
  const step = (t: number, n: number): boolean => {
    if (n === name.length && matchesNothingLeft(tokens, t)) return true;
    const token = tokens[t];
    if (token === undefined) return n === name.length;
    const char = name[n];
    switch (token.kind) {
      case 'char':
        return char === token.char && at(t + 1, n + 1);
      case 'any':
        return char !== undefined && char !== '/' && at(t + 1, n + 1);
      case 'class':
        return char !== undefined && char !== '/' && inClass(token, char) && at(t + 1, n + 1);
      case 'star':
        return at(t + 1, n) || (char !== undefined && char !== '/' && at(t, n + 1));
      case 'rest':
        return true;
      case 'segments': {
        if (at(t + 1, n)) return true;
        const slash = name.indexOf('/', n);
        return slash !== -1 && at(t, slash + 1);
      }
      default:
        return false;
    }
  };
  return at(0, 0);
}

export class DoublestarPattern {
  private constructor(
    readonly source: string,
    private readonly expansions: readonly Token[][],
  ) {}

  /** Parses and expands `pattern`; PatternError when it is malformed or too large. */
  static compile(pattern: string): DoublestarPattern {
    if (pattern.length > maxPatternLength)
      throw new PatternError(pattern, `it is longer than ${maxPatternLength} characters`);
    const nodes = new Parser(pattern).parse();
    const expansions = expand(nodes, pattern, { tokens: maxExpandedTokens }).map(resolveDoublestars);
    return new DoublestarPattern(pattern, expansions);
  }

  matches(name: string): boolean {
    const chars = Array.from(name);
    return this.expansions.some((tokens) => matchTokens(tokens, chars));
  }
}
