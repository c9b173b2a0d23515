// A small hand-written parser for exactly the SQL subset the federator serves: a tokenizer
// plus a Pratt (precedence-climbing) expression parser. Why not an npm SQL parser: see
// docs/federation.md §Parser. Anything outside the subset fails here with a message naming
// the feature, so the planner only ever sees shapes it knows how to federate.
import type { BinOp, Expr, OrderItem, SelectItem, SelectStmt } from './ast.ts';
import { FederationError } from './errors.ts';

type TokKind = 'ident' | 'qident' | 'num' | 'str' | 'op' | 'eof';
interface Tok {
  kind: TokKind;
  text: string; // identifiers: the name; strings: the decoded value; ops: the operator
  upper: string; // keyword matching (bare identifiers only)
  pos: number;
  end: number;
}

const OPS = ['<=', '>=', '!=', '<>', '==', '||', '->', '=', '<', '>', '+', '-', '*', '/', '%', '(', ')', ',', '.', ';', '[', ']', '{', '}', '?', ':'];

function parseError(msg: string, pos: number): FederationError {
  return new FederationError('SQL_PARSE_ERROR', `${msg} at position ${pos + 1}`);
}

export function tokenize(sql: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '-' && sql[i + 1] === '-') { while (i < n && sql[i] !== '\n') i++; continue; }
    if (c === '/' && sql[i + 1] === '*') {
      const e = sql.indexOf('*/', i + 2);
      if (e < 0) throw parseError('unterminated comment', i);
      i = e + 2;
      continue;
    }
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < n && /[A-Za-z0-9_]/.test(sql[i]!)) i++;
      const text = sql.slice(start, i);
      out.push({ kind: 'ident', text, upper: text.toUpperCase(), pos: start, end: i });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(sql.slice(i))!;
      i += m[0].length;
      if (/[A-Za-z_]/.test(sql[i] ?? '')) throw parseError('malformed number', start);
      out.push({ kind: 'num', text: m[0], upper: '', pos: start, end: i });
      continue;
    }
    if (c === "'" || c === '`' || c === '"') {
      const q = c;
      let v = '';
      i++;
      for (;;) {
        if (i >= n) throw parseError(q === "'" ? 'unterminated string' : 'unterminated quoted identifier', start);
        const d = sql[i]!;
        if (d === '\\') {
          const e = sql[i + 1];
          if (e === undefined) throw parseError('unterminated string', start);
          v += ({ n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f' } as Record<string, string>)[e] ?? e;
          i += 2;
          continue;
        }
        if (d === q) {
          if (sql[i + 1] === q) { v += q; i += 2; continue; }
          i++;
          break;
        }
        v += d;
        i++;
      }
      out.push({ kind: q === "'" ? 'str' : 'qident', text: v, upper: '', pos: start, end: i });
      continue;
    }
    const op = OPS.find((o) => sql.startsWith(o, i));
    if (!op) throw parseError(`unexpected character ${JSON.stringify(c)}`, i);
    i += op.length;
    out.push({ kind: 'op', text: op, upper: op, pos: start, end: i });
  }
  out.push({ kind: 'eof', text: '', upper: '', pos: n, end: n });
  return out;
}

const WRITE_KEYWORDS = new Set([
  'INSERT', 'ALTER', 'DROP', 'CREATE', 'TRUNCATE', 'RENAME', 'ATTACH', 'DETACH', 'OPTIMIZE', 'SET', 'KILL', 'SYSTEM',
  'GRANT', 'REVOKE', 'DELETE', 'UPDATE', 'USE', 'SHOW', 'DESCRIBE', 'DESC', 'EXISTS', 'CHECK', 'EXCHANGE', 'UNDROP', 'REPLACE', 'WATCH', 'MOVE', 'BACKUP', 'RESTORE',
]);

// Clause keywords that end an expression or a select item (never taken as implicit aliases).
const RESERVED = new Set([
  'SELECT', 'FROM', 'WHERE', 'GROUP', 'BY', 'HAVING', 'ORDER', 'LIMIT', 'OFFSET', 'AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'AS', 'ASC', 'DESC',
  'LIKE', 'IS', 'NULL', 'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'ARRAY', 'GLOBAL', 'ANY', 'ALL', 'ON', 'USING', 'UNION', 'EXCEPT',
  'INTERSECT', 'FORMAT', 'SETTINGS', 'INTO', 'FINAL', 'SAMPLE', 'PREWHERE', 'WITH', 'OVER', 'WINDOW', 'QUALIFY', 'CASE', 'WHEN', 'THEN', 'ELSE',
  'END', 'DISTINCT', 'NULLS', 'COLLATE', 'INTERVAL', 'ASOF', 'SEMI', 'ANTI', 'OUTER', 'PASTE',
]);

const CLAUSE_UNSUPPORTED: Record<string, string> = {
  JOIN: 'JOIN is not supported', INNER: 'JOIN is not supported', LEFT: 'JOIN is not supported', RIGHT: 'JOIN is not supported',
  FULL: 'JOIN is not supported', CROSS: 'JOIN is not supported', ARRAY: 'ARRAY JOIN is not supported', GLOBAL: 'JOIN is not supported',
  ANY: 'JOIN is not supported', ALL: 'JOIN is not supported', ASOF: 'JOIN is not supported', SEMI: 'JOIN is not supported', ANTI: 'JOIN is not supported',
  PASTE: 'JOIN is not supported', OUTER: 'JOIN is not supported',
  UNION: 'UNION is not supported', EXCEPT: 'EXCEPT is not supported', INTERSECT: 'INTERSECT is not supported',
  FORMAT: 'FORMAT is not supported (choose the output format of the API instead)', SETTINGS: 'SETTINGS is not supported',
  INTO: 'INTO OUTFILE is not supported', FINAL: 'FINAL is not supported', SAMPLE: 'SAMPLE is not supported', PREWHERE: 'PREWHERE is not supported',
  WINDOW: 'window functions are not supported', QUALIFY: 'QUALIFY is not supported', WITH: 'WITH is not supported',
};

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[], private readonly sql: string) {}

  private peek(k = 0): Tok { return this.toks[Math.min(this.i + k, this.toks.length - 1)]!; }
  private next(): Tok { return this.toks[this.i++]!; }
  private isKw(kw: string, k = 0): boolean { const t = this.peek(k); return t.kind === 'ident' && t.upper === kw; }
  private isOp(op: string, k = 0): boolean { const t = this.peek(k); return t.kind === 'op' && t.text === op; }
  private acceptKw(kw: string): boolean { if (this.isKw(kw)) { this.i++; return true; } return false; }
  private acceptOp(op: string): boolean { if (this.isOp(op)) { this.i++; return true; } return false; }
  private expectKw(kw: string): void { if (!this.acceptKw(kw)) throw this.unexpected(`expected ${kw}`); }
  private expectOp(op: string): void { if (!this.acceptOp(op)) throw this.unexpected(`expected "${op}"`); }
  private unexpected(what: string): FederationError {
    const t = this.peek();
    return parseError(`${what}, found ${t.kind === 'eof' ? 'end of input' : JSON.stringify(this.sql.slice(t.pos, t.end))}`, t.pos);
  }
  private unsupported(msg: string): FederationError { return new FederationError('UNSUPPORTED_SQL', msg); }

  parseStatement(): SelectStmt {
    const first = this.peek();
    if (first.kind === 'ident' && WRITE_KEYWORDS.has(first.upper)) throw new FederationError('NOT_READ_ONLY', `${first.upper} statements are refused`);
    if (this.isKw('WITH')) throw this.unsupported('WITH is not supported');
    if (this.isKw('EXPLAIN')) throw this.unsupported('EXPLAIN in SQL is not supported (use the explain option)');
    if (this.isOp('(')) throw this.unsupported('subqueries are not supported');
    this.expectKw('SELECT');
    const distinct = this.acceptKw('DISTINCT');
    if (this.isKw('ALL')) this.i++;
    const items: SelectItem[] = [];
    do items.push(this.selectItem()); while (this.acceptOp(','));
    if (!this.acceptKw('FROM')) {
      if (this.peek().kind === 'eof' || this.isOp(';')) throw this.unsupported('a SELECT without FROM is not supported (query packets or traffic_flow)');
      throw this.unexpected('expected FROM');
    }
    const { table, alias } = this.tableRef();
    const stmt: SelectStmt = { distinct, items, table, tableAlias: alias, groupBy: [], orderBy: [] };
    this.checkClauseUnsupported();
    if (this.acceptKw('WHERE')) stmt.where = this.expr(0);
    this.checkClauseUnsupported();
    if (this.acceptKw('GROUP')) {
      this.expectKw('BY');
      do stmt.groupBy.push(this.expr(0)); while (this.acceptOp(','));
      if (this.isKw('WITH')) throw this.unsupported('GROUP BY … WITH ROLLUP/CUBE/TOTALS is not supported');
    }
    if (this.acceptKw('HAVING')) stmt.having = this.expr(0);
    this.checkClauseUnsupported();
    if (this.acceptKw('ORDER')) {
      this.expectKw('BY');
      do stmt.orderBy.push(this.orderItem()); while (this.acceptOp(','));
    }
    this.checkClauseUnsupported();
    if (this.acceptKw('LIMIT')) {
      let a = this.intLiteral('LIMIT');
      if (this.acceptOp(',')) {
        stmt.offset = a;
        a = this.intLiteral('LIMIT');
      }
      stmt.limit = a;
      if (this.isKw('BY')) throw this.unsupported('LIMIT BY is not supported');
      if (this.acceptKw('OFFSET')) stmt.offset = this.intLiteral('OFFSET');
    } else if (this.acceptKw('OFFSET')) {
      stmt.offset = this.intLiteral('OFFSET');
    }
    this.checkClauseUnsupported();
    while (this.acceptOp(';')) { /* a trailing semicolon is fine */ }
    if (this.peek().kind !== 'eof') throw this.unexpected('unexpected input after the query');
    return stmt;
  }

  private checkClauseUnsupported(): void {
    const t = this.peek();
    if (t.kind === 'ident' && CLAUSE_UNSUPPORTED[t.upper]) throw this.unsupported(CLAUSE_UNSUPPORTED[t.upper]!);
    if (t.kind === 'op' && t.text === ',') throw this.unsupported('JOIN is not supported (several tables in FROM)');
  }

  private intLiteral(clause: string): bigint {
    const t = this.next();
    if (t.kind !== 'num' || !/^\d+$/.test(t.text)) {
      this.i--;
      throw this.unexpected(`${clause} takes a non-negative integer literal`);
    }
    return BigInt(t.text);
  }

  private tableRef(): { table: string; alias?: string } {
    if (this.isOp('(')) throw this.unsupported('subqueries are not supported');
    const t = this.next();
    if (t.kind !== 'ident' && t.kind !== 'qident') { this.i--; throw this.unexpected('expected a table name'); }
    if (this.isOp('(')) throw new FederationError('FUNCTION_NOT_ALLOWED', `table functions are not allowed: ${t.text}()`);
    if (this.isOp('.')) {
      this.i++;
      const n2 = this.next();
      throw new FederationError('TABLE_NOT_ALLOWED', `database-qualified names are not allowed: ${t.text}.${n2.text}`);
    }
    let alias: string | undefined;
    if (this.acceptKw('AS')) alias = this.identName();
    else if ((this.peek().kind === 'ident' && !RESERVED.has(this.peek().upper)) || this.peek().kind === 'qident') alias = this.identName();
    return { table: t.text, alias };
  }

  private identName(): string {
    const t = this.next();
    if (t.kind !== 'ident' && t.kind !== 'qident') { this.i--; throw this.unexpected('expected a name'); }
    return t.text;
  }

  private selectItem(): SelectItem {
    const start = this.peek().pos;
    if (this.isOp('*')) {
      this.i++;
      return { expr: 'star', text: '*' };
    }
    const expr = this.expr(0);
    const text = this.sql.slice(start, this.toks[this.i - 1]!.end).replace(/\s+/g, ' ').trim();
    let alias: string | undefined;
    if (this.acceptKw('AS')) alias = this.identName();
    else if ((this.peek().kind === 'ident' && !RESERVED.has(this.peek().upper)) || this.peek().kind === 'qident') alias = this.identName();
    return { expr, alias, text };
  }

  private orderItem(): OrderItem {
    const expr = this.expr(0);
    let desc = false;
    if (this.acceptKw('DESC') || this.acceptKw('DESCENDING')) desc = true;
    else if (this.acceptKw('ASC') || this.acceptKw('ASCENDING')) desc = false;
    if (this.isKw('NULLS')) throw this.unsupported('NULLS FIRST/LAST is not supported (columns are not nullable)');
    if (this.isKw('COLLATE')) throw this.unsupported('COLLATE is not supported');
    if (this.isKw('WITH')) throw this.unsupported('ORDER BY … WITH FILL is not supported');
    return { expr, desc };
  }

  // Binding powers, loosest first: OR < AND < NOT < comparison/IN/BETWEEN/LIKE < + - < * / % < unary minus.
  private expr(minBp: number): Expr {
    let left = this.prefix();
    for (;;) {
      const t = this.peek();
      let op: BinOp | undefined;
      let bp = 0;
      if (t.kind === 'ident') {
        if (t.upper === 'OR') { op = 'OR'; bp = 1; }
        else if (t.upper === 'AND') { op = 'AND'; bp = 2; }
        else if (t.upper === 'IS') throw this.unsupported('IS [NOT] NULL is not supported (columns are not nullable)');
        else if (t.upper === 'IN' || t.upper === 'BETWEEN' || t.upper === 'LIKE' || t.upper === 'ILIKE' ||
          (t.upper === 'NOT' && ['IN', 'BETWEEN', 'LIKE', 'ILIKE'].includes(this.peek(1).upper))) {
          if (4 <= minBp) return left;
          left = this.postfixPredicate(left);
          continue;
        } else if (t.upper === 'GLOBAL') throw this.unsupported('GLOBAL IN is not supported');
        else if (t.upper === 'OVER') throw this.unsupported('window functions are not supported');
      } else if (t.kind === 'op') {
        switch (t.text) {
          case '=': case '==': op = '='; bp = 4; break;
          case '!=': case '<>': op = '!='; bp = 4; break;
          case '<': case '<=': case '>': case '>=': op = t.text as BinOp; bp = 4; break;
          case '+': case '-': op = t.text as BinOp; bp = 5; break;
          case '*': case '/': case '%': op = t.text as BinOp; bp = 6; break;
          case '||': throw this.unsupported('the || operator is not supported');
          case '[': throw this.unsupported('array subscripts are not supported');
          case '->': throw this.unsupported('lambda expressions are not supported');
          case '?': throw this.unsupported('the ternary operator is not supported (use if())');
          case '.': throw this.unsupported('tuple element access is not supported');
        }
      }
      if (!op || bp <= minBp) return left;
      this.i++;
      // Comparisons do not chain (a = b = c is a parse error, as in ClickHouse's strict mode).
      const right = this.expr(bp === 4 ? 4 : bp);
      left = { kind: 'bin', op, left, right };
    }
  }

  private postfixPredicate(left: Expr): Expr {
    const not = this.acceptKw('NOT');
    const kw = this.next().upper;
    if (kw === 'ILIKE') throw this.unsupported('ILIKE is not supported');
    if (kw === 'LIKE') {
      const right = this.expr(4);
      return { kind: 'bin', op: not ? 'NOT LIKE' : 'LIKE', left, right };
    }
    if (kw === 'BETWEEN') {
      const lo = this.expr(4);
      this.expectKw('AND');
      const hi = this.expr(4);
      return { kind: 'between', arg: left, lo, hi, not };
    }
    // IN
    if (!this.isOp('(')) throw this.unsupported('IN takes a parenthesised list of values (IN with a table or column is not supported)');
    this.i++;
    if (this.isKw('SELECT')) throw this.unsupported('subqueries are not supported');
    const list: Expr[] = [];
    if (!this.isOp(')')) do list.push(this.expr(0)); while (this.acceptOp(','));
    this.expectOp(')');
    if (list.length === 0) throw parseError('IN needs at least one value', this.peek().pos);
    return { kind: 'in', arg: left, list, not };
  }

  private prefix(): Expr {
    const t = this.next();
    if (t.kind === 'num') {
      if (/^\d+$/.test(t.text)) {
        const v = BigInt(t.text);
        if (v > 0xffffffffffffffffn) throw parseError('integer literal out of the UInt64 range', t.pos);
        return { kind: 'int', value: v };
      }
      const f = Number(t.text);
      if (!Number.isFinite(f)) throw parseError('number literal out of range', t.pos);
      return { kind: 'float', value: f };
    }
    if (t.kind === 'str') return { kind: 'str', value: t.text };
    if (t.kind === 'op') {
      if (t.text === '(') {
        if (this.isKw('SELECT') || this.isKw('WITH')) throw this.unsupported('subqueries are not supported');
        const e = this.expr(0);
        if (this.isOp(',')) throw this.unsupported('tuples are not supported');
        this.expectOp(')');
        return e;
      }
      if (t.text === '-') return { kind: 'unary', op: '-', arg: this.expr(6) };
      if (t.text === '+') return this.expr(6);
      if (t.text === '[') throw this.unsupported('array literals are not supported');
      if (t.text === '*') throw this.unsupported('* is only allowed as a whole select item or in count(*)');
      if (t.text === '{' || t.text === '?') throw this.unsupported('query parameters are not supported (write literal values)');
      this.i--;
      throw this.unexpected('expected an expression');
    }
    if (t.kind === 'ident') {
      switch (t.upper) {
        case 'NOT': return { kind: 'unary', op: 'NOT', arg: this.expr(3) };
        case 'NULL': throw this.unsupported('NULL is not supported (columns are not nullable)');
        case 'CASE': throw this.unsupported('CASE is not supported (use if())');
        case 'SELECT': throw this.unsupported('subqueries are not supported');
        case 'INTERVAL': throw this.unsupported('INTERVAL is not supported');
        case 'TRUE': return { kind: 'int', value: 1n };
        case 'FALSE': return { kind: 'int', value: 0n };
      }
      if (RESERVED.has(t.upper) && !this.isOp('(')) { this.i--; throw this.unexpected('expected an expression'); }
    }
    if (t.kind === 'ident' || t.kind === 'qident') {
      if (t.kind === 'ident' && this.isOp('(')) return this.call(t.text);
      if (this.isOp('.')) {
        // table.column (the table's own name or alias; checked by the analyser)
        this.i++;
        const col = this.identName();
        return { kind: 'col', name: col, qual: t.text };
      }
      return { kind: 'col', name: t.text };
    }
    this.i--;
    throw this.unexpected('expected an expression');
  }

  private call(name: string): Expr {
    this.expectOp('(');
    const args: Expr[] = [];
    let star = false;
    if (this.isKw('DISTINCT')) throw this.unsupported(`${name}(DISTINCT …) is not supported across clouds`);
    if (this.isOp('*')) {
      this.i++;
      star = true;
    } else if (!this.isOp(')')) {
      if (this.isKw('SELECT')) throw this.unsupported('subqueries are not supported');
      do args.push(this.expr(0)); while (this.acceptOp(','));
    }
    this.expectOp(')');
    if (this.isOp('(')) throw this.unsupported(`parametric functions are not supported: ${name}(…)(…)`);
    if (this.isKw('OVER')) throw this.unsupported('window functions are not supported');
    return { kind: 'call', name, args, star };
  }
}

/** Parse one SELECT statement of the supported subset. */
export function parseSelect(sql: string): SelectStmt {
  if (typeof sql !== 'string' || sql.trim() === '') throw new FederationError('SQL_PARSE_ERROR', 'empty query');
  const toks = tokenize(sql);
  // More than one statement: refuse before looking at what the others are.
  const semi = toks.findIndex((t) => t.kind === 'op' && t.text === ';');
  if (semi >= 0 && toks.slice(semi).some((t) => t.kind !== 'eof' && !(t.kind === 'op' && t.text === ';'))) {
    throw new FederationError('MULTIPLE_STATEMENTS', '');
  }
  return new Parser(toks, sql).parseStatement();
}
