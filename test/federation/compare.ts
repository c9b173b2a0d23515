// Row comparison for differential tests: positional columns (the oracle names columns its
// own way), integers exactly (as bigint), floats within 1e-9 relative, order-sensitive only
// when the query orders by a unique key.
import { expect } from 'vitest';

type Row = Record<string, unknown>;

const INT = /^-?\d+$/;

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  const sa = String(a);
  const sb = String(b);
  if (INT.test(sa) && INT.test(sb)) return BigInt(sa) === BigInt(sb);
  const na = Number(a);
  const nb = Number(b);
  if (typeof a !== 'string' || typeof b !== 'string' || (!Number.isNaN(na) && !Number.isNaN(nb) && sa.trim() !== '' && sb.trim() !== '')) {
    if (Number.isFinite(na) && Number.isFinite(nb)) return na === nb || Math.abs(na - nb) <= 1e-9 * Math.max(Math.abs(na), Math.abs(nb));
  }
  return sa === sb;
}

function sortKey(r: unknown[]): string {
  return JSON.stringify(r.map((v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(8)) : v)));
}

export function expectSameRows(actual: Row[], expected: Row[], ordered: boolean, sql: string): void {
  let a = actual.map((r) => Object.values(r));
  let e = expected.map((r) => Object.values(r));
  if (!ordered) {
    a = [...a].sort((x, y) => (sortKey(x) < sortKey(y) ? -1 : 1));
    e = [...e].sort((x, y) => (sortKey(x) < sortKey(y) ? -1 : 1));
  }
  expect(a.length, `row count for: ${sql}`).toBe(e.length);
  for (let i = 0; i < a.length; i++) {
    expect(a[i]!.length, `column count for: ${sql}`).toBe(e[i]!.length);
    for (let j = 0; j < a[i]!.length; j++) {
      if (!sameValue(a[i]![j], e[i]![j])) {
        throw new Error(`${sql}\n row ${i} column ${j}: federated ${JSON.stringify(a[i])} vs oracle ${JSON.stringify(e[i])}`);
      }
    }
  }
}
