// Values in the federator, typed as ClickHouse types them, so that arithmetic after the merge
// gives ClickHouse's numbers value for value:
// - integers as bigint (UInt64 arrives as decimal strings and must stay exact; 64-bit results
//   wrap around like ClickHouse's),
// - floats as number; a Float32 arrives as its shortest decimal text ("103.7") and is made a
//   Float32 again (Math.fround), so Float32 arithmetic in doubles equals ClickHouse's
//   (Float32 − Float32 is Float64 there: 103.69999694824219, not 103.7), and a Float32
//   result is printed as ClickHouse prints it (shortest text that reads back as that Float32),
// - strings, DateTime and Date as string,
// - NULL (Nullable types only) as null; a JSON null of a non-Nullable float is NaN or ±Inf,
//   which ClickHouse's JSON prints as null.
// Ordering: NaN after every number and NULL after NaN, for ASC and DESC alike (ClickHouse's
// rule; compareForOrder). The evaluator for expressions over merged aggregates (HAVING,
// ORDER BY, final projections) follows ClickHouse for the operators and functions the
// planner lets through; NULL propagates through them.
import type { Expr } from './ast.ts';
import { baseType, is64, isFloat32, isNullable, kindOf, type ChType } from './catalog.ts';
import { FederationError } from './errors.ts';

export type Val = bigint | number | string | null;

export function parseVal(raw: unknown, type: ChType): Val {
  if ((raw === null || raw === undefined) && isNullable(type)) return null;
  switch (kindOf(type)) {
    case 'int':
    case 'uint':
      if (typeof raw === 'bigint') return raw;
      if (typeof raw === 'number' && Number.isInteger(raw)) return BigInt(raw);
      if (typeof raw === 'string' && /^-?\d+$/.test(raw)) return BigInt(raw);
      return raw === null || raw === undefined ? Number.NaN : Number(raw);
    case 'float': {
      const x = raw === null || raw === undefined ? Number.NaN : Number(raw);
      return isFloat32(type) ? Math.fround(x) : x;
    }
    default:
      return raw === null || raw === undefined ? '' : String(raw);
  }
}

/** The shortest decimal that reads back as the same Float32 (how ClickHouse prints one). */
export function float32Text(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const f = Math.fround(x);
  for (let p = 1; p < 9; p++) {
    const y = Number(f.toPrecision(p));
    if (Math.fround(y) === f) return y;
  }
  return Number(f.toPrecision(9));
}

/** A 64-bit integer result as ClickHouse computes it: modulo 2^64, in the type's range. */
export function wrap64(v: bigint, type: ChType): bigint {
  const b = baseType(type);
  return b === 'UInt64' ? BigInt.asUintN(64, v) : b === 'Int64' ? BigInt.asIntN(64, v) : v;
}

/** The JSON value ClickHouse would print for `v` of type `type` (64-bit integers quoted, NaN/Inf as null). */
export function toJsonValue(v: Val, type: ChType): unknown {
  if (v === null) return null;
  if (typeof v === 'bigint') return is64(type) ? wrap64(v, type).toString() : kindOf(type) === 'string' ? v.toString() : Number(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return null;
    if (isFloat32(type)) return float32Text(v);
    return is64(type) && Number.isInteger(v) ? String(v) : v;
  }
  return v;
}

/** Where a value sorts regardless of direction: 0 values, 1 NaN, 2 NULL (ClickHouse: NaN and NULL last for ASC and DESC). */
function tail(v: Val): number {
  return v === null ? 2 : typeof v === 'number' && Number.isNaN(v) ? 1 : 0;
}

/** ORDER BY comparison of one key: NaN and NULL go last in both directions. */
export function compareForOrder(a: Val, b: Val, desc: boolean): number {
  const ta = tail(a);
  const tb = tail(b);
  if (ta !== 0 || tb !== 0) return ta - tb;
  const c = compareVals(a, b);
  return desc ? -c : c;
}

export function compareVals(a: Val, b: Val): number {
  if (a === null || b === null) return a === null ? (b === null ? 0 : 1) : -1;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' || typeof b === 'string') {
    const x = String(a);
    const y = String(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = Number(a);
  const y = Number(b);
  // ClickHouse sorts NaN after every number in ascending order.
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : 1) : -1;
  return x < y ? -1 : x > y ? 1 : 0;
}

function truthy(v: Val): boolean {
  if (v === null) return false;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  throw new FederationError('INVALID_QUERY', 'a string cannot be used as a condition');
}

const bool = (b: boolean): Val => (b ? 1n : 0n);

function num(v: Val): number {
  if (v === null) return Number.NaN;
  if (typeof v === 'string') throw new FederationError('INVALID_QUERY', `arithmetic on a string value (${JSON.stringify(v)}) is not supported`);
  return Number(v);
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; ClickHouse rounds floats half to even.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function scaleRound(v: Val, digits: Val, f: (x: number) => number): Val {
  const n = digits === undefined ? 0 : Number(digits);
  if (typeof v === 'bigint') {
    if (n >= 0) return v;
    const p = 10n ** BigInt(-n);
    const q = v / p;
    return q * p; // integers: only non-negative digits are used in practice
  }
  const x = num(v);
  if (n === 0) return f(x);
  const p = 10 ** n;
  return f(x * p) / p;
}

function likeToRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) { re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); continue; }
    if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Evaluate a planner expression over one merged row's slots. */
export function evalExpr(e: Expr, slots: Val[]): Val {
  switch (e.kind) {
    case 'ref': return slots[e.slot]!;
    case 'int': return e.value;
    case 'float': return e.value;
    case 'str': return e.value;
    case 'col': throw new Error(`internal: unresolved column ${e.name} after the merge`);
    case 'unary': {
      const v = evalExpr(e.arg, slots);
      if (v === null) return null;
      if (e.op === 'NOT') return bool(!truthy(v));
      return typeof v === 'bigint' ? -v : -num(v);
    }
    case 'in': {
      const v = evalExpr(e.arg, slots);
      const hit = e.list.some((x) => compareVals(v, evalExpr(x, slots)) === 0);
      return bool(hit !== e.not);
    }
    case 'between': {
      const v = evalExpr(e.arg, slots);
      const inside = compareVals(v, evalExpr(e.lo, slots)) >= 0 && compareVals(v, evalExpr(e.hi, slots)) <= 0;
      return bool(inside !== e.not);
    }
    case 'bin': {
      if (e.op === 'AND') return bool(truthy(evalExpr(e.left, slots)) && truthy(evalExpr(e.right, slots)));
      if (e.op === 'OR') return bool(truthy(evalExpr(e.left, slots)) || truthy(evalExpr(e.right, slots)));
      const a = evalExpr(e.left, slots);
      const b = evalExpr(e.right, slots);
      if (a === null || b === null) return null;
      switch (e.op) {
        case '=': return bool(compareVals(a, b) === 0);
        case '!=': return bool(compareVals(a, b) !== 0);
        case '<': return bool(compareVals(a, b) < 0);
        case '<=': return bool(compareVals(a, b) <= 0);
        case '>': return bool(compareVals(a, b) > 0);
        case '>=': return bool(compareVals(a, b) >= 0);
        case 'LIKE': return bool(likeToRegex(String(b)).test(String(a)));
        case 'NOT LIKE': return bool(!likeToRegex(String(b)).test(String(a)));
        case '/': return num(a) / num(b);
        case '+': return typeof a === 'bigint' && typeof b === 'bigint' ? a + b : num(a) + num(b);
        case '-': return typeof a === 'bigint' && typeof b === 'bigint' ? a - b : num(a) - num(b);
        case '*': return typeof a === 'bigint' && typeof b === 'bigint' ? a * b : num(a) * num(b);
        case '%':
          if (typeof a === 'bigint' && typeof b === 'bigint') {
            if (b === 0n) throw new FederationError('INVALID_QUERY', 'division by zero');
            return a % b;
          }
          return num(a) % num(b);
      }
      throw new Error(`internal: operator ${e.op}`);
    }
    case 'call': {
      const args = e.args.map((x) => evalExpr(x, slots));
      if (e.name !== 'if' && args.some((a) => a === null)) return null;
      switch (e.name) {
        case 'abs': { const v = args[0]!; return typeof v === 'bigint' ? (v < 0n ? -v : v) : Math.abs(num(v)); }
        case 'round': return scaleRound(args[0]!, args[1]!, roundHalfEven);
        case 'floor': return scaleRound(args[0]!, args[1]!, Math.floor);
        case 'ceil': return scaleRound(args[0]!, args[1]!, Math.ceil);
        case 'toFloat64': return num(args[0]!);
        case 'intDiv': {
          const [a, b] = args as [Val, Val];
          if (typeof a === 'bigint' && typeof b === 'bigint') {
            if (b === 0n) throw new FederationError('INVALID_QUERY', 'division by zero');
            return a / b;
          }
          const d = num(b);
          if (d === 0) throw new FederationError('INVALID_QUERY', 'division by zero');
          return BigInt(Math.trunc(num(a) / d));
        }
        case 'greatest': return compareVals(args[0]!, args[1]!) >= 0 ? args[0]! : args[1]!;
        case 'least': return compareVals(args[0]!, args[1]!) <= 0 ? args[0]! : args[1]!;
        case 'if': return truthy(args[0]!) ? args[1]! : args[2]!;
      }
      throw new Error(`internal: function ${e.name} cannot run after the merge`);
    }
  }
}
