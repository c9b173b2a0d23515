// Renders planner expressions as ClickHouse SQL valid on 18.16 and current versions.
// Identifiers go through quoteIdent, strings through quoteString, numbers are printed from
// parsed values, function names come from the allowlist's canonical spelling: no byte of
// the user's query text reaches a cloud unparsed.
import { quoteIdent, quoteString } from '../store/index.ts';
import type { Expr } from './ast.ts';

export function renderExpr(e: Expr): string {
  switch (e.kind) {
    case 'col': return quoteIdent(e.name);
    case 'int': return e.value.toString();
    case 'float': return renderFloat(e.value);
    case 'str': return quoteString(e.value);
    case 'unary': return e.op === '-' ? `(-${renderExpr(e.arg)})` : `(NOT ${renderExpr(e.arg)})`;
    case 'bin': return `(${renderExpr(e.left)} ${e.op} ${renderExpr(e.right)})`;
    case 'in': return `(${renderExpr(e.arg)} ${e.not ? 'NOT IN' : 'IN'} (${e.list.map(renderExpr).join(', ')}))`;
    case 'between': {
      // Spelled as two comparisons: same meaning everywhere, no BETWEEN precedence questions.
      const a = renderExpr(e.arg);
      return e.not
        ? `((${a} < ${renderExpr(e.lo)}) OR (${a} > ${renderExpr(e.hi)}))`
        : `((${a} >= ${renderExpr(e.lo)}) AND (${a} <= ${renderExpr(e.hi)}))`;
    }
    case 'call': return `${e.name}(${e.star ? '' : e.args.map(renderExpr).join(', ')})`;
    case 'ref': throw new Error('internal: a merged-row reference cannot be rendered as cloud SQL');
  }
}

function renderFloat(v: number): string {
  const s = String(v);
  // Keep it a float literal in ClickHouse (1 would be an integer).
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** A readable rendering for column names and EXPLAIN (not sent to any cloud). */
export function displayExpr(e: Expr): string {
  switch (e.kind) {
    case 'col': return e.name;
    case 'int': return e.value.toString();
    case 'float': return String(e.value);
    case 'str': return quoteString(e.value);
    case 'unary': return e.op === '-' ? `-${displayExpr(e.arg)}` : `NOT ${displayExpr(e.arg)}`;
    case 'bin': return `(${displayExpr(e.left)} ${e.op} ${displayExpr(e.right)})`;
    case 'in': return `${displayExpr(e.arg)} ${e.not ? 'NOT IN' : 'IN'} (${e.list.map(displayExpr).join(', ')})`;
    case 'between': return `${displayExpr(e.arg)} ${e.not ? 'NOT BETWEEN' : 'BETWEEN'} ${displayExpr(e.lo)} AND ${displayExpr(e.hi)}`;
    case 'call': return `${e.name}(${e.star ? '*' : e.args.map(displayExpr).join(', ')})`;
    case 'ref': return `$${e.slot}`;
  }
}
