// h3ToString(cell): an H3 index (UInt64) as the hex text h3-js and map tools use. ClickHouse
// 18.16 has no H3 functions, so the clouds never see it: it is accepted only as a whole SELECT
// item, stripped before planning (the clouds return the number, merged like any UInt64), and
// applied by the federator to the final rows.
import type { Row } from '../store/index.ts';
import { decimalToCell } from '../topology/index.ts';
import { someNode, type Expr, type SelectItem, type SelectStmt } from './ast.ts';
import { FederationError } from './errors.ts';

const isH3ToString = (e: Expr): boolean => e.kind === 'call' && e.name.toLowerCase() === 'h3tostring';

/** Strips `h3ToString(x)` from the SELECT items it wraps whole (returned); refuses it anywhere else. */
export function takeH3ToString(stmt: SelectStmt): Set<SelectItem> {
  const taken = new Set<SelectItem>();
  for (const it of stmt.items) {
    if (it.expr === 'star' || !isH3ToString(it.expr)) continue;
    const call = it.expr as Extract<Expr, { kind: 'call' }>;
    if (call.args.length !== 1 || call.star) throw new FederationError('INVALID_QUERY', 'h3ToString() takes one argument');
    it.expr = call.args[0]!;
    taken.add(it);
  }
  const elsewhere = [
    ...stmt.items.flatMap((it) => (it.expr === 'star' ? [] : [it.expr])),
    ...(stmt.where ? [stmt.where] : []),
    ...stmt.groupBy,
    ...(stmt.having ? [stmt.having] : []),
    ...stmt.orderBy.map((o) => o.expr),
  ];
  if (elsewhere.some((e) => someNode(e, isH3ToString))) {
    throw new FederationError(
      'UNSUPPORTED_SQL',
      'h3ToString() is only supported as a whole SELECT item (the federator applies it to the result)',
    );
  }
  return taken;
}

/** The final rows with the named columns' H3 indexes as hex. */
export function applyH3ToString(rows: Row[], columns: readonly string[]): Row[] {
  if (columns.length === 0) return rows;
  return rows.map((r) => {
    const out = { ...r };
    for (const c of columns) out[c] = decimalToCell(String(r[c]));
    return out;
  });
}
