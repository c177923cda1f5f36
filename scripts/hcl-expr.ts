/**
 * Reads the HCL expressions cdktf writes for `Fn.jsonencode({...})` (policies, event patterns)
 * back into plain values, so tests can check IAM statements structurally. Terraform references and
 * function calls that cannot be known before apply come back as `{ $expr: "<text>" }`; string
 * literals keep their `${...}` interpolations as text.
 */
export type Expr = { $expr: string };
export type Value = string | number | boolean | null | Expr | Value[] | { [k: string]: Value };

export function isExpr(v: unknown): v is Expr {
  return typeof v === 'object' && v !== null && '$expr' in v;
}

class Reader {
  i = 0;
  constructor(readonly s: string) {}
  ws() { while (/\s/.test(this.s[this.i] ?? '')) this.i++; }
  peek() { this.ws(); return this.s[this.i]; }
  expect(c: string) {
    this.ws();
    if (this.s[this.i] !== c) throw new Error(`expected '${c}' at ${this.i} in ${this.s.slice(Math.max(0, this.i - 40), this.i + 40)}`);
    this.i++;
  }

  value(): Value {
    const c = this.peek();
    if (c === '{') return this.object();
    if (c === '[') return this.list();
    if (c === '"') return this.string();
    return this.bare();
  }

  object(): { [k: string]: Value } {
    this.expect('{');
    const out: { [k: string]: Value } = {};
    while (this.peek() !== '}') {
      const key = this.peek() === '"' ? this.string() : String(this.bare());
      this.ws();
      if (this.s[this.i] === '=' || this.s[this.i] === ':') this.i++;
      else throw new Error(`expected = after key ${key} at ${this.i}`);
      out[key] = this.value();
      if (this.peek() === ',') this.i++;
    }
    this.expect('}');
    return out;
  }

  list(): Value[] {
    this.expect('[');
    const out: Value[] = [];
    while (this.peek() !== ']') {
      out.push(this.value());
      if (this.peek() === ',') this.i++;
    }
    this.expect(']');
    return out;
  }

  /** A quoted string; `${...}` interpolations (which may hold quotes) are kept verbatim. */
  string(): string {
    this.expect('"');
    let out = '';
    while (this.i < this.s.length) {
      const ch = this.s[this.i];
      if (ch === '\\') {
        const next = this.s[this.i + 1];
        out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
        this.i += 2;
      } else if (ch === '"') {
        this.i++;
        return out;
      } else if (ch === '$' && this.s[this.i + 1] === '{') {
        const start = this.i;
        this.i += 2;
        this.skipBalanced('}');
        out += this.s.slice(start, this.i);
      } else {
        out += ch;
        this.i++;
      }
    }
    throw new Error('unterminated string');
  }

  /** Skip to the matching closer, honouring nested brackets and strings. */
  private skipBalanced(closer: string) {
    const pairs: Record<string, string> = { '{': '}', '[': ']', '(': ')' };
    const stack = [closer];
    while (this.i < this.s.length && stack.length) {
      const ch = this.s[this.i];
      if (ch === '"') { this.string(); continue; }
      if (pairs[ch]) stack.push(pairs[ch]);
      else if (ch === stack[stack.length - 1]) stack.pop();
      this.i++;
    }
  }

  /** A number, boolean, null, reference or function call, up to the next separator. */
  bare(): Value {
    this.ws();
    const start = this.i;
    const pairs: Record<string, string> = { '{': '}', '[': ']', '(': ')' };
    while (this.i < this.s.length) {
      const ch = this.s[this.i];
      if (ch === '"') { this.string(); continue; }
      if (pairs[ch]) { this.i++; this.skipBalanced(pairs[ch]); continue; }
      // A conditional (`a ? b : c`) is one expression; only a top-level ':' after a key ends it.
      if (ch === ',' || ch === '}' || ch === ']' || ch === '=' || (ch === ':' && !this.s.slice(start, this.i).includes('?'))) break;
      this.i++;
    }
    const text = this.s.slice(start, this.i).trim();
    if (text === '') throw new Error(`unexpected '${this.s[this.i]}' at ${this.i} in ${this.s.slice(Math.max(0, this.i - 60), this.i + 60)}`);
    if (text === 'true' || text === 'false') return text === 'true';
    if (text === 'null') return null;
    if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    return { $expr: text };
  }
}

/**
 * Decode `${jsonencode(<object>)}` (as cdktf renders Fn.jsonencode) or a plain JSON string.
 * Anything else is returned as an Expr.
 */
export function decodeJsonExpression(text: string): Value {
  const m = /^\$\{jsonencode\(([\s\S]*)\)\}$/.exec(text);
  if (m) {
    const r = new Reader(m[1]);
    const v = r.value();
    r.ws();
    if (r.i !== m[1].length) throw new Error(`trailing text after jsonencode argument: ${m[1].slice(r.i, r.i + 60)}`);
    return v;
  }
  try {
    return JSON.parse(text);
  } catch {
    return { $expr: text };
  }
}
