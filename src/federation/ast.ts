// The syntax tree of the SQL subset the federator accepts (docs/federation.md §Dialect).
// Every SQL string sent to a cloud is rendered from these nodes (render.ts), never from the
// input text.

export type Expr =
  | { kind: 'col'; name: string; qual?: string }
  | { kind: 'int'; value: bigint }
  | { kind: 'float'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'unary'; op: '-' | 'NOT'; arg: Expr }
  | { kind: 'bin'; op: BinOp; left: Expr; right: Expr }
  | { kind: 'in'; arg: Expr; list: Expr[]; not: boolean }
  | { kind: 'between'; arg: Expr; lo: Expr; hi: Expr; not: boolean }
  | { kind: 'call'; name: string; args: Expr[]; star: boolean }
  /** Planner-only: slot `slot` of a merged row (a group key or a finalised aggregate). */
  | { kind: 'ref'; slot: number };

export type BinOp = '+' | '-' | '*' | '/' | '%' | '=' | '!=' | '<' | '<=' | '>' | '>=' | 'AND' | 'OR' | 'LIKE' | 'NOT LIKE';

export interface SelectItem {
  expr: Expr | 'star';
  alias?: string;
  /** Display text of the expression as written (used as the column name without an alias). */
  text: string;
}

export interface OrderItem {
  expr: Expr;
  desc: boolean;
}

export interface SelectStmt {
  distinct: boolean;
  items: SelectItem[];
  table: string;
  tableAlias?: string;
  where?: Expr;
  groupBy: Expr[];
  having?: Expr;
  orderBy: OrderItem[];
  limit?: bigint;
  offset?: bigint;
}

/** Structural equality of expressions (used to match SELECT expressions to GROUP BY keys). */
export function sameExpr(a: Expr, b: Expr): boolean {
  return exprKey(a) === exprKey(b);
}

export function exprKey(e: Expr): string {
  return JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

export function children(e: Expr): Expr[] {
  switch (e.kind) {
    case 'unary': return [e.arg];
    case 'bin': return [e.left, e.right];
    case 'in': return [e.arg, ...e.list];
    case 'between': return [e.arg, e.lo, e.hi];
    case 'call': return e.args;
    default: return [];
  }
}

export function someNode(e: Expr, pred: (x: Expr) => boolean): boolean {
  if (pred(e)) return true;
  return children(e).some((c) => someNode(c, pred));
}

/** Rebuild an expression bottom-up; `f` may return a replacement for a node (or undefined to recurse). */
export function mapExpr(e: Expr, f: (x: Expr) => Expr | undefined): Expr {
  const r = f(e);
  if (r) return r;
  switch (e.kind) {
    case 'unary': return { ...e, arg: mapExpr(e.arg, f) };
    case 'bin': return { ...e, left: mapExpr(e.left, f), right: mapExpr(e.right, f) };
    case 'in': return { ...e, arg: mapExpr(e.arg, f), list: e.list.map((x) => mapExpr(x, f)) };
    case 'between': return { ...e, arg: mapExpr(e.arg, f), lo: mapExpr(e.lo, f), hi: mapExpr(e.hi, f) };
    case 'call': return { ...e, args: e.args.map((x) => mapExpr(x, f)) };
    default: return e;
  }
}
