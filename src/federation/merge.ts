// Merging what the clouds returned. Group keys are matched on their JSON text (every cloud
// prints a value of one type the same way); partial aggregates merge exactly: integer sums
// and counts as bigint, float sums as doubles, min/max with ClickHouse's ordering.
import type { Row } from '../store/index.ts';
import { kindOf, type ChType } from './catalog.ts';
import type { Exec } from './plan.ts';
import { compareForOrder, compareVals, evalExpr, parseVal, toJsonValue, wrap64, type Val } from './values.ts';

type OutRow = Record<string, unknown>;

export function renameSingle(exec: Exec, rows: Row[]): OutRow[] {
  const names = exec.columns.map((c) => c.name);
  return rows.map((r) => {
    const o: OutRow = {};
    for (let i = 0; i < names.length; i++) o[names[i]!] = r[`__c${i}`];
    return o;
  });
}

function sortSlots(rows: Val[][], order: Exec['order']): void {
  if (order.length === 0) return;
  const keyed = rows.map((slots) => ({ slots, keys: order.map((o) => evalExpr(o.expr, slots)) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < order.length; i++) {
      const c = compareForOrder(a.keys[i]!, b.keys[i]!, order[i]!.desc);
      if (c !== 0) return c;
    }
    return 0;
  });
  for (let i = 0; i < rows.length; i++) rows[i] = keyed[i]!.slots;
}

function cut<T>(rows: T[], exec: Exec): T[] {
  const off = Number(exec.offset ?? 0n);
  const end = exec.limit === undefined ? rows.length : off + Number(exec.limit);
  return off === 0 && end >= rows.length ? rows : rows.slice(off, end);
}

export function mergeRows(exec: Exec, perCloud: Row[][]): OutRow[] {
  const names = exec.columns.map((c) => c.name);
  const all = perCloud.flat();
  let rows: Row[] = all;
  if (exec.order.length > 0) {
    const slots = all.map((r) => exec.rowTypes.map((t, i) => parseVal(r[`__c${i}`], t)));
    const idx = new Map(slots.map((s, i) => [s, i]));
    sortSlots(slots, exec.order);
    rows = slots.map((s) => all[idx.get(s)!]!);
  }
  return cut(rows, exec).map((r) => {
    const o: OutRow = {};
    for (let i = 0; i < names.length; i++) o[names[i]!] = r[`__c${i}`];
    return o;
  });
}

function defaultOf(t: ChType): Val {
  switch (kindOf(t)) {
    case 'int': case 'uint': return 0n;
    case 'float': return 0;
    case 'datetime': return '1970-01-01 00:00:00';
    case 'date': return '1970-01-01';
    default: return '';
  }
}

interface Group { keys: Val[]; parts: Val[]; hasData: boolean }

export function mergeAggregate(exec: Exec, perCloud: Row[][]): OutRow[] {
  const { partials, keyTypes, countPartial } = exec;
  const nk = keyTypes.length;
  const groups = new Map<string, Group>();
  const keyCols = keyTypes.map((_t, i) => `__k${i}`);
  const partCols = partials.map((_p, i) => `__p${i}`);
  for (const rows of perCloud) {
    for (const r of rows) {
      const raw = keyCols.map((c) => r[c]);
      const id = nk === 0 ? '' : JSON.stringify(raw);
      const parts = partials.map((p, i) => parseVal(r[partCols[i]!], p.type));
      // A global aggregate over an empty cloud still returns one row; its min/max are
      // defaults, not data, and must not take part in the merge.
      const hasData = countPartial === undefined || parts[countPartial] !== 0n;
      const g = groups.get(id);
      if (!g) {
        groups.set(id, { keys: raw.map((v, i) => parseVal(v, keyTypes[i]!)), parts, hasData });
        continue;
      }
      for (let i = 0; i < partials.length; i++) {
        const m = partials[i]!.merge;
        const a = g.parts[i]!;
        const b = parts[i]!;
        // NULL partials (a Nullable column with no value in that cloud) take no part.
        if (b === null) continue;
        if (a === null) g.parts[i] = b;
        else if (m === 'sum') g.parts[i] = typeof a === 'bigint' && typeof b === 'bigint' ? wrap64(a + b, partials[i]!.type) : Number(a) + Number(b);
        else if (!hasData) continue;
        else if (!g.hasData) g.parts[i] = b;
        else if (m === 'min') g.parts[i] = compareVals(b, a) < 0 ? b : a;
        else g.parts[i] = compareVals(b, a) > 0 ? b : a;
      }
      g.hasData ||= hasData;
    }
  }
  if (nk === 0 && groups.size === 0) {
    groups.set('', { keys: [], parts: partials.map((p) => (p.merge === 'sum' ? (kindOf(p.type) === 'float' ? 0 : 0n) : defaultOf(p.type))), hasData: false });
  }
  let rows: Val[][] = [];
  for (const g of groups.values()) {
    const slots: Val[] = [...g.keys];
    for (const a of exec.aggs) {
      const v = g.parts[a.parts[0]!]!;
      if (a.fn === 'avg' || a.fn === 'avgIf') slots.push(v === null ? null : Number(v) / Number(g.parts[a.parts[1]!]!));
      else slots.push(v);
    }
    rows.push(slots);
  }
  if (exec.having) {
    const h = exec.having;
    rows = rows.filter((s) => {
      const v = evalExpr(h, s);
      return v === null ? false : typeof v === 'bigint' ? v !== 0n : typeof v === 'number' ? v !== 0 && !Number.isNaN(v) : v !== '';
    });
  }
  sortSlots(rows, exec.order);
  const names = exec.columns.map((c) => c.name);
  return cut(rows, exec).map((s) => {
    const o: OutRow = {};
    for (let i = 0; i < names.length; i++) o[names[i]!] = toJsonValue(evalExpr(exec.outputs[i]!, s), exec.columns[i]!.type);
    return o;
  });
}
