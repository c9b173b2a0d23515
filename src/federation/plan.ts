// Planner: checks a parsed SELECT against the allowlists, resolves aliases, types every
// expression, prunes clouds from the WHERE clause, and decides how the query is federated:
//   single-cloud    only one cloud can hold matching rows: the whole query runs there.
//   merge-aggregate each cloud returns partial aggregates per group (avg → sum + count, …);
//                   the federator merges groups, then applies HAVING, ORDER BY, LIMIT.
//   merge-rows      no aggregation: each cloud returns its rows (with ORDER BY + LIMIT
//                   offset+limit pushed down when present); the federator sorts and cuts.
//   none            every cloud was pruned; the answer is computed without any cloud.
import { cellToParent, gridDisk, isValidCell, latLngToCell, polygonToCells } from 'h3-js';
import { decimalToCell, type Topology } from '../topology/index.ts';
import { quoteIdent } from '../store/index.ts';
import { children, exprKey, mapExpr, someNode, type Expr, type SelectStmt } from './ast.ts';
import { AGGREGATES, ALLOWED_TABLES, DENIED_FUNCTIONS, POST_MERGE_FUNCTIONS, SCALAR_FUNCTIONS, isInteger, kindOf, type AggName, type ChType } from './catalog.ts';
import { FederationError } from './errors.ts';
import { takeH3ToString } from './h3.ts';
import { parseSelect } from './parser.ts';
import { displayExpr, renderExpr } from './render.ts';

export type Strategy = 'single-cloud' | 'merge-aggregate' | 'merge-rows' | 'none';

export interface Column { name: string; type: ChType }

/** What EXPLAIN shows: JSON-serialisable. */
export interface Plan {
  strategy: Strategy;
  table: string;
  columns: Column[];
  pruning: { segments: string[] | null; reason: string };
  clouds: { cloud: string; pruned: boolean; sql?: string }[];
  merge?: { groupKeys: string[]; partials: { column: string; merge: 'sum' | 'min' | 'max'; type: ChType }[]; having?: string; orderBy?: string[]; limit?: string; offset?: string };
}

export interface Partial { sql: Expr; merge: 'sum' | 'min' | 'max'; type: ChType }

/** Everything the executor needs (not part of the public plan). */
export interface Exec {
  strategy: Strategy;
  table: string;
  clouds: string[];
  sql: string;
  columns: Column[];
  /** merge-aggregate */
  keyTypes: ChType[];
  partials: Partial[];
  /** Hidden count() partial index (global aggregates only), to ignore empty clouds' min/max. */
  countPartial: number | undefined;
  aggs: { fn: AggName; parts: number[]; type: ChType; argType: ChType }[];
  /** Output, HAVING and ORDER BY expressions over slots (keys then aggregates). */
  outputs: Expr[];
  having: Expr | undefined;
  order: { expr: Expr; desc: boolean }[];
  /** merge-rows: cloud column types, output column count, order column indexes. */
  rowTypes: ChType[];
  /** Output columns the federator turns into H3 hex text (h3.ts). */
  hexColumns: string[];
  limit: bigint | undefined;
  offset: bigint | undefined;
  grouped: boolean;
}

export interface PlannerContext {
  topology: Topology;
  /** Cloud ids that have a store, in topology order. */
  clouds: string[];
}

const isAgg = (e: Expr): boolean => e.kind === 'call' && AGGREGATES.has(e.name.toLowerCase());
const hasAgg = (e: Expr): boolean => someNode(e, isAgg);

function intLiteralType(v: bigint): ChType {
  return v <= 255n ? 'UInt8' : v <= 65535n ? 'UInt16' : v <= 4294967295n ? 'UInt32' : 'UInt64';
}

function arithType(op: string, a: ChType, b: ChType): ChType {
  if (op === '/') return 'Float64';
  if (kindOf(a) === 'float' || kindOf(b) === 'float') return 'Float64';
  if ((kindOf(a) === 'datetime' || kindOf(a) === 'date') && isInteger(b) && (op === '+' || op === '-')) return a;
  if (op === '-') return 'Int64';
  return kindOf(a) === 'uint' && kindOf(b) === 'uint' ? 'UInt64' : 'Int64';
}

class Analyzer {
  readonly columns: ReadonlyMap<string, ChType>;
  constructor(readonly stmt: SelectStmt) {
    const cols = ALLOWED_TABLES.get(stmt.table);
    if (!cols) {
      const t = stmt.table;
      throw new FederationError('TABLE_NOT_ALLOWED', /^system$/i.test(t) || t.startsWith('system') ? `${t} (system tables are not queryable)` : `${t} (allowed: ${[...ALLOWED_TABLES.keys()].join(', ')})`);
    }
    this.columns = cols;
  }

  /** Check functions (allowlist, arity), canonicalise their names, strip table qualifiers. */
  normalise(e: Expr, inAgg = false): Expr {
    return mapExpr(e, (x) => {
      if (x.kind === 'col' && x.qual !== undefined) {
        if (x.qual !== this.stmt.table && x.qual !== this.stmt.tableAlias) {
          throw new FederationError(/^system$/i.test(x.qual) ? 'TABLE_NOT_ALLOWED' : 'UNKNOWN_COLUMN', `${x.qual}.${x.name}`);
        }
        return { kind: 'col', name: x.name };
      }
      if (x.kind !== 'call') return undefined;
      const lower = x.name.toLowerCase();
      const agg = AGGREGATES.get(lower);
      if (agg) {
        if (inAgg) throw new FederationError('INVALID_QUERY', `aggregate function ${agg.name}() cannot be nested inside another aggregate`);
        if (x.star && agg.name !== 'count') throw new FederationError('SQL_PARSE_ERROR', `${agg.name}(*) is not valid`);
        const n = x.star ? 0 : x.args.length;
        if (n < agg.arity[0] || n > agg.arity[1]) throw new FederationError('INVALID_QUERY', `${agg.name}() takes ${agg.arity[0] === agg.arity[1] ? agg.arity[0] : `${agg.arity[0]}–${agg.arity[1]}`} argument(s)`);
        return { kind: 'call', name: agg.name, star: false, args: x.args.map((a) => this.normalise(a, true)) };
      }
      const fn = SCALAR_FUNCTIONS.get(lower);
      if (!fn) {
        if (DENIED_FUNCTIONS.has(lower)) throw new FederationError('FUNCTION_NOT_ALLOWED', `${x.name}()`);
        throw new FederationError('FUNCTION_NOT_ALLOWED', `${x.name}() is not on the allowlist`);
      }
      if (x.star) throw new FederationError('SQL_PARSE_ERROR', `${fn.name}(*) is not valid`);
      if (x.args.length < fn.arity[0] || x.args.length > fn.arity[1]) throw new FederationError('INVALID_QUERY', `${fn.name}() takes ${fn.arity[0] === fn.arity[1] ? fn.arity[0] : `${fn.arity[0]}–${fn.arity[1]}`} argument(s)`);
      return { kind: 'call', name: fn.name, star: false, args: x.args.map((a) => this.normalise(a, inAgg)) };
    });
  }

  checkColumns(e: Expr): void {
    someNode(e, (x) => {
      if (x.kind === 'col' && !this.columns.has(x.name)) throw new FederationError('UNKNOWN_COLUMN', `${x.name} (table ${this.stmt.table} has: ${[...this.columns.keys()].join(', ')})`);
      return false;
    });
  }

  typeOf(e: Expr, slotTypes?: ChType[]): ChType {
    switch (e.kind) {
      case 'col': return this.columns.get(e.name)!;
      case 'int': return intLiteralType(e.value);
      case 'float': return 'Float64';
      case 'str': return 'String';
      case 'ref': return slotTypes?.[e.slot] ?? 'Float64';
      case 'unary': {
        if (e.op === 'NOT') return 'UInt8';
        // ClickHouse keeps the float's width (-Float32 is Float32); integers become signed.
        const t = this.typeOf(e.arg, slotTypes);
        return kindOf(t) === 'float' ? t : 'Int64';
      }
      case 'in': case 'between': return 'UInt8';
      case 'bin':
        if (['+', '-', '*', '/', '%'].includes(e.op)) return arithType(e.op, this.typeOf(e.left, slotTypes), this.typeOf(e.right, slotTypes));
        return 'UInt8';
      case 'call': {
        const args = e.args.map((a) => this.typeOf(a, slotTypes));
        switch (e.name) {
          case 'count': case 'countIf': return 'UInt64';
          case 'avg': case 'avgIf': return 'Float64';
          case 'min': case 'max': return args[0]!;
          case 'sum': case 'sumIf': return sumType(args[0]!);
        }
        return SCALAR_FUNCTIONS.get(e.name.toLowerCase())!.type(args);
      }
    }
  }
}

function sumType(t: ChType): ChType {
  const k = kindOf(t);
  if (k === 'uint') return 'UInt64';
  if (k === 'int') return 'Int64';
  if (k === 'float') return 'Float64';
  throw new FederationError('INVALID_QUERY', `sum() needs a numeric argument, not ${t}`);
}

// ---------- pruning ----------

type SegSet = Set<string> | null; // null = any segment

function intersect(a: SegSet, b: SegSet): SegSet {
  if (a === null) return b;
  if (b === null) return a;
  return new Set([...a].filter((x) => b.has(x)));
}
function union(a: SegSet, b: SegSet): SegSet {
  if (a === null || b === null) return null;
  return new Set([...a, ...b]);
}

/**
 * Segments that can hold rows matching `where`. Only `segment = 's'`, `segment IN (…)`,
 * `cell = n`, `cell IN (…)` combined with AND / OR narrow it; everything else means "any".
 */
export function segmentsOf(where: Expr | undefined, topo: Topology, segOfCell: (hex: string) => string | undefined): SegSet {
  if (!where) return null;
  const lit = (col: 'segment' | 'cell', v: Expr): SegSet => {
    if (col === 'segment') return v.kind === 'str' ? new Set([v.value]) : null;
    if (v.kind !== 'int') return null;
    const hex = decimalToCell(v.value);
    // Conservative: a number that is no H3 cell, or a cell outside every segment, prunes nothing.
    if (!isValidCell(hex)) return null;
    let s: string | undefined;
    try {
      s = segOfCell(hex);
    } catch {
      return null; // coarser than the segment resolution
    }
    return s === undefined ? null : new Set([s]);
  };
  const colName = (e: Expr): 'segment' | 'cell' | undefined => (e.kind === 'col' && (e.name === 'segment' || e.name === 'cell') ? e.name : undefined);
  switch (where.kind) {
    case 'bin':
      if (where.op === 'AND') return intersect(segmentsOf(where.left, topo, segOfCell), segmentsOf(where.right, topo, segOfCell));
      if (where.op === 'OR') return union(segmentsOf(where.left, topo, segOfCell), segmentsOf(where.right, topo, segOfCell));
      if (where.op === '=') {
        const l = colName(where.left);
        if (l) return lit(l, where.right);
        const r = colName(where.right);
        if (r) return lit(r, where.left);
      }
      return null;
    case 'in': {
      const c = colName(where.arg);
      if (!c || where.not) return null;
      let acc: SegSet = new Set();
      for (const v of where.list) acc = union(acc, lit(c, v));
      return acc;
    }
    default:
      return null;
  }
}

// ---------- region pruning ----------

function numLit(e: Expr): number | undefined {
  if (e.kind === 'int') return Number(e.value);
  if (e.kind === 'float') return e.value;
  if (e.kind === 'unary' && e.op === '-') {
    const v = numLit(e.arg);
    return v === undefined ? undefined : -v;
  }
  return undefined;
}

/**
 * A region: the bounding box that top-level AND-ed conditions on `lat` and `lng` (BETWEEN,
 * <, <=, >, >= against numbers) put on the rows, e.g. `lat BETWEEN 31.3 AND 31.4 AND lng >
 * 121.2 AND lng < 121.5`. Both coordinates must be bounded on both sides, else null.
 */
export function regionOf(where: Expr | undefined): { s: number; w: number; n: number; e: number } | null {
  if (!where) return null;
  const conj: Expr[] = [];
  const flat = (x: Expr): void => {
    if (x.kind === 'bin' && x.op === 'AND') {
      flat(x.left);
      flat(x.right);
    } else conj.push(x);
  };
  flat(where);
  const b: Record<'lat' | 'lng', { lo: number; hi: number }> = { lat: { lo: -Infinity, hi: Infinity }, lng: { lo: -Infinity, hi: Infinity } };
  const coord = (x: Expr): 'lat' | 'lng' | undefined => (x.kind === 'col' && (x.name === 'lat' || x.name === 'lng') ? x.name : undefined);
  for (const c of conj) {
    if (c.kind === 'between' && !c.not) {
      const k = coord(c.arg);
      const lo = numLit(c.lo);
      const hi = numLit(c.hi);
      if (k && lo !== undefined && hi !== undefined) {
        b[k].lo = Math.max(b[k].lo, lo);
        b[k].hi = Math.min(b[k].hi, hi);
      }
    } else if (c.kind === 'bin' && ['<', '<=', '>', '>='].includes(c.op)) {
      let k = coord(c.left);
      let v = numLit(c.right);
      let op = c.op;
      if (!k) {
        k = coord(c.right);
        v = numLit(c.left);
        op = ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as Record<string, typeof op>)[op]!;
      }
      if (!k || v === undefined) continue;
      if (op === '<' || op === '<=') b[k].hi = Math.min(b[k].hi, v);
      else b[k].lo = Math.max(b[k].lo, v);
    }
  }
  if (![b.lat.lo, b.lat.hi, b.lng.lo, b.lng.hi].every(Number.isFinite)) return null;
  return { s: b.lat.lo, n: b.lat.hi, w: b.lng.lo, e: b.lng.hi };
}

/**
 * Segments whose packets can lie in a region. Conservative by construction: it takes the
 * segment-resolution cells with centres in the box, the cells of points sampled along its
 * edges, and a ring of neighbours around all of them (a fine cell's parent need not contain
 * the point geometrically), so a segment is dropped only when no packet of it can match.
 */
export function segmentsInRegion(r: { s: number; w: number; n: number; e: number }, topo: Topology): SegSet {
  if (r.s > r.n || r.w > r.e) return new Set();
  const res = topo.h3.segmentResolution;
  const cells = new Set<string>();
  if (r.s < r.n && r.w < r.e) for (const c of polygonToCells([[r.s, r.w], [r.s, r.e], [r.n, r.e], [r.n, r.w]], res)) cells.add(c);
  const steps = 64;
  for (let i = 0; i <= steps; i++) {
    const lat = r.s + ((r.n - r.s) * i) / steps;
    const lng = r.w + ((r.e - r.w) * i) / steps;
    for (const [a, o] of [[lat, r.w], [lat, r.e], [r.s, lng], [r.n, lng]] as const) cells.add(latLngToCell(a, o, res));
  }
  if (cells.size > 50_000) return null; // a continent-sized box prunes nothing worth the work
  const ring = new Set<string>();
  for (const c of cells) for (const d of gridDisk(c, 1)) ring.add(d);
  const owner = new Map<string, string>();
  for (const seg of topo.segments) for (const c of seg.cells) owner.set(cellToParent(c, res), seg.id);
  const out = new Set<string>();
  let outside = false;
  for (const c of ring) {
    const s = owner.get(c);
    if (s) out.add(s);
    else outside = true;
  }
  if (outside && topo.defaultSegment) out.add(topo.defaultSegment);
  return out;
}

// ---------- planning ----------

export function planQuery(sql: string, ctx: PlannerContext, segOfCell: (hex: string) => string | undefined): { plan: Plan; exec: Exec } {
  const stmt = parseSelect(sql);
  const hexItems = takeH3ToString(stmt);
  const an = new Analyzer(stmt);

  // SELECT items: expand *, normalise, name.
  const items: { name: string; expr: Expr; alias?: string; hex?: boolean }[] = [];
  for (const it of stmt.items) {
    if (it.expr === 'star') {
      for (const c of an.columns.keys()) items.push({ name: c, expr: { kind: 'col', name: c } });
      continue;
    }
    items.push({ name: it.alias ?? it.text, expr: an.normalise(it.expr), alias: it.alias, hex: hexItems.has(it) });
  }
  // Aliases are visible everywhere, as in ClickHouse; inside an alias's own definition the
  // name means the column (SELECT toStartOfHour(ts) AS ts … GROUP BY ts works).
  const aliases = new Map<string, Expr>();
  for (const it of items) if (it.alias !== undefined) aliases.set(it.alias, it.expr);
  const resolve = (e: Expr, expanding: ReadonlySet<string> = new Set()): Expr =>
    mapExpr(e, (x) => {
      if (x.kind === 'col' && aliases.has(x.name) && !expanding.has(x.name)) return resolve(aliases.get(x.name)!, new Set([...expanding, x.name]));
      return undefined;
    });
  for (const it of items) {
    it.expr = resolve(it.expr, it.alias ? new Set([it.alias]) : new Set());
    an.checkColumns(it.expr);
  }
  const prep = (e: Expr): Expr => {
    const r = resolve(an.normalise(e));
    an.checkColumns(r);
    return r;
  };
  const where = stmt.where ? prep(stmt.where) : undefined;
  if (where && hasAgg(where)) throw new FederationError('INVALID_QUERY', 'aggregate functions are not allowed in WHERE (use HAVING)');
  let groupBy = stmt.groupBy.map(prep);
  for (const g of groupBy) {
    if (hasAgg(g)) throw new FederationError('INVALID_QUERY', 'aggregate functions are not allowed in GROUP BY');
    if (g.kind === 'int' || g.kind === 'float' || g.kind === 'str') throw new FederationError('UNSUPPORTED_SQL', 'GROUP BY a constant or a column position is not supported (name the expression)');
  }
  const having = stmt.having ? prep(stmt.having) : undefined;
  const orderBy = stmt.orderBy.map((o) => {
    const e = prep(o.expr);
    if (e.kind === 'int' || e.kind === 'float' || e.kind === 'str') throw new FederationError('UNSUPPORTED_SQL', 'ORDER BY a constant or a column position is not supported (name the expression)');
    return { expr: e, desc: o.desc };
  });
  // Type-check every expression once (throws on sum(String) and the like).
  for (const e of [...items.map((i) => i.expr), ...(where ? [where] : []), ...groupBy, ...(having ? [having] : []), ...orderBy.map((o) => o.expr)]) an.typeOf(e);

  const anyAgg = items.some((i) => hasAgg(i.expr)) || (having !== undefined && hasAgg(having)) || orderBy.some((o) => hasAgg(o.expr));
  if (stmt.distinct) {
    if (anyAgg || groupBy.length > 0) throw new FederationError('UNSUPPORTED_SQL', 'DISTINCT together with GROUP BY or aggregates is not supported');
    groupBy = items.map((i) => i.expr);
  }
  const aggregate = anyAgg || groupBy.length > 0;
  if (having && !aggregate) throw new FederationError('INVALID_QUERY', 'HAVING needs GROUP BY or aggregate functions');

  // Pruning.
  const region = regionOf(where);
  const segs = intersect(segmentsOf(where, ctx.topology, segOfCell), region ? segmentsInRegion(region, ctx.topology) : null);
  const ownerOf = new Map(ctx.topology.segments.map((s) => [s.id, s.cloud]));
  let targets: string[];
  let reason: string;
  if (segs === null) {
    targets = [...ctx.clouds];
    reason = 'WHERE does not restrict segment, cell or region: every cloud';
  } else {
    const cl = new Set([...segs].map((s) => ownerOf.get(s)).filter((c): c is string => c !== undefined));
    targets = ctx.clouds.filter((c) => cl.has(c));
    reason = `WHERE restricts to segment(s) ${[...segs].sort().join(', ') || '(none)'}${region ? ` (region lat ${region.s}..${region.n}, lng ${region.w}..${region.e})` : ''}: ${targets.length ? targets.join(', ') : 'no cloud'}`;
  }

  const columns: Column[] = [];
  const hexColumns: string[] = [];
  const seen = new Map<string, number>();
  for (const it of items) {
    let name = it.name;
    const k = seen.get(name) ?? 0;
    seen.set(it.name, k + 1);
    if (k > 0) name = `${name}_${k + 1}`;
    const type = an.typeOf(it.expr);
    if (it.hex && type !== 'UInt64') throw new FederationError('INVALID_QUERY', `h3ToString() takes a UInt64 H3 index, got ${type}`);
    if (it.hex) hexColumns.push(name);
    columns.push({ name, type });
  }

  const from = quoteIdent(stmt.table);
  const whereSql = where ? ` WHERE ${renderExpr(where)}` : '';
  const base: Exec = {
    strategy: 'none', table: stmt.table, clouds: targets, sql: '', columns, keyTypes: [], partials: [], countPartial: undefined, aggs: [],
    outputs: [], having: undefined, order: [], rowTypes: [], hexColumns, limit: stmt.limit, offset: stmt.offset, grouped: groupBy.length > 0,
  };
  const limitSql = (lim: bigint | undefined, off: bigint | undefined): string =>
    lim === undefined ? '' : off !== undefined && off > 0n ? ` LIMIT ${off}, ${lim}` : ` LIMIT ${lim}`;

  let exec: Exec;
  let mergeInfo: Plan['merge'];
  if (targets.length === 1) {
    // The whole query runs in one cloud: it is exactly the oracle's query on that cloud's rows.
    const sel = items.map((it, i) => `${renderExpr(it.expr)} AS ${quoteIdent(`__c${i}`)}`).join(', ');
    let s = `SELECT ${sel} FROM ${from}${whereSql}`;
    if (groupBy.length) s += ` GROUP BY ${groupBy.map(renderExpr).join(', ')}`;
    if (having) s += ` HAVING ${renderExpr(having)}`;
    if (orderBy.length) s += ` ORDER BY ${orderBy.map((o) => `${renderExpr(o.expr)}${o.desc ? ' DESC' : ' ASC'}`).join(', ')}`;
    if (stmt.limit !== undefined) s += limitSql(stmt.limit, stmt.offset);
    else if (stmt.offset !== undefined && stmt.offset > 0n) s += ` LIMIT ${stmt.offset}, 18446744073709551615`;
    exec = { ...base, strategy: 'single-cloud', sql: s, rowTypes: columns.map((c) => c.type) };
  } else if (aggregate) {
    exec = planAggregate(an, items.map((i) => i.expr), groupBy, having, orderBy, base, from, whereSql);
    mergeInfo = {
      groupKeys: exec.keyTypes.map((_t, i) => `__k${i}`),
      partials: exec.partials.map((p, i) => ({ column: `__p${i}`, merge: p.merge, type: p.type })),
      having: exec.having ? displayExpr(exec.having) : undefined,
      orderBy: exec.order.map((o) => `${displayExpr(o.expr)}${o.desc ? ' DESC' : ''}`),
      limit: stmt.limit?.toString(),
      offset: stmt.offset?.toString(),
    };
  } else {
    // Rows: each cloud returns its rows plus hidden sort keys; with LIMIT, ORDER BY + LIMIT
    // (offset+limit) is pushed down — the global top-N is within the union of local top-Ns.
    const exprs = items.map((i) => i.expr);
    const order: { expr: Expr; desc: boolean }[] = [];
    for (const o of orderBy) {
      let idx = exprs.findIndex((x) => exprKey(x) === exprKey(o.expr));
      if (idx < 0) { exprs.push(o.expr); idx = exprs.length - 1; }
      order.push({ expr: { kind: 'ref', slot: idx }, desc: o.desc });
    }
    const sel = exprs.map((x, i) => `${renderExpr(x)} AS ${quoteIdent(`__c${i}`)}`).join(', ');
    let s = `SELECT ${sel} FROM ${from}${whereSql}`;
    if (stmt.limit !== undefined) {
      if (orderBy.length) s += ` ORDER BY ${orderBy.map((o) => `${renderExpr(o.expr)}${o.desc ? ' DESC' : ' ASC'}`).join(', ')}`;
      s += ` LIMIT ${stmt.limit + (stmt.offset ?? 0n)}`;
    }
    exec = { ...base, strategy: 'merge-rows', sql: s, rowTypes: exprs.map((x) => an.typeOf(x)), order };
    mergeInfo = { groupKeys: [], partials: [], orderBy: orderBy.map((o) => `${displayExpr(o.expr)}${o.desc ? ' DESC' : ''}`), limit: stmt.limit?.toString(), offset: stmt.offset?.toString() };
  }
  if (targets.length === 0) exec.strategy = 'none';

  const plan: Plan = {
    strategy: exec.strategy,
    table: stmt.table,
    columns: columns.map((c) => (hexColumns.includes(c.name) ? { ...c, type: 'String' } : c)),
    pruning: { segments: segs === null ? null : [...segs].sort(), reason },
    clouds: ctx.clouds.map((c) => (targets.includes(c) ? { cloud: c, pruned: false, sql: exec.sql } : { cloud: c, pruned: true })),
    ...(mergeInfo && exec.strategy !== 'single-cloud' ? { merge: mergeInfo } : {}),
  };
  return { plan, exec };
}

function planAggregate(
  an: Analyzer, outputs: Expr[], groupBy: Expr[], having: Expr | undefined, orderBy: { expr: Expr; desc: boolean }[],
  base: Exec, from: string, whereSql: string,
): Exec {
  const keys: Expr[] = [];
  const keyIdx = new Map<string, number>();
  const addKey = (e: Expr): number => {
    const k = exprKey(e);
    let i = keyIdx.get(k);
    if (i === undefined) { i = keys.length; keys.push(e); keyIdx.set(k, i); }
    return i;
  };
  for (const g of groupBy) addKey(g);
  const nGroupKeys = keys.length;

  const partials: Partial[] = [];
  const partIdx = new Map<string, number>();
  const addPartial = (sqlExpr: Expr, merge: Partial['merge']): number => {
    const k = `${merge}:${exprKey(sqlExpr)}`;
    let i = partIdx.get(k);
    if (i === undefined) { i = partials.length; partials.push({ sql: sqlExpr, merge, type: an.typeOf(sqlExpr) }); partIdx.set(k, i); }
    return i;
  };
  const aggs: Exec['aggs'] = [];
  const aggIdx = new Map<string, number>();
  const call = (name: string, args: Expr[]): Expr => ({ kind: 'call', name, args, star: false });
  const addAgg = (e: Extract<Expr, { kind: 'call' }>): number => {
    const k = exprKey(e);
    const known = aggIdx.get(k);
    if (known !== undefined) return known;
    const fn = e.name as AggName;
    const arg = e.args[0];
    let parts: number[];
    switch (fn) {
      case 'count': parts = [addPartial(arg ? call('count', [arg]) : call('count', []), 'sum')]; break;
      case 'sum': parts = [addPartial(call('sum', [arg!]), 'sum')]; break;
      case 'min': parts = [addPartial(call('min', [arg!]), 'min')]; break;
      case 'max': parts = [addPartial(call('max', [arg!]), 'max')]; break;
      case 'avg': parts = [addPartial(call('sum', [arg!]), 'sum'), addPartial(call('count', [arg!]), 'sum')]; break;
      case 'countIf': parts = [addPartial(call('countIf', [arg!]), 'sum')]; break;
      case 'sumIf': parts = [addPartial(call('sumIf', e.args), 'sum')]; break;
      case 'avgIf': parts = [addPartial(call('sumIf', e.args), 'sum'), addPartial(call('countIf', [e.args[1]!]), 'sum')]; break;
    }
    const i = aggs.length;
    aggs.push({ fn, parts, type: an.typeOf(e), argType: arg ? an.typeOf(arg) : 'UInt64' });
    aggIdx.set(k, i);
    return i;
  };

  // Key slots come first, aggregate slots after them; aggregates are numbered as found and
  // shifted once every key (including derived ones) is known.
  const AGG_BASE = 1_000_000;
  const covered = (e: Expr): boolean => {
    if (keyIdx.has(exprKey(e))) return true;
    if (e.kind === 'col' || isAgg(e)) return false;
    return children(e).every(covered);
  };
  const lower = (e: Expr): Expr => {
    const ki = keyIdx.get(exprKey(e));
    if (ki !== undefined) return { kind: 'ref', slot: ki };
    if (isAgg(e)) return { kind: 'ref', slot: AGG_BASE + addAgg(e as Extract<Expr, { kind: 'call' }>) };
    if (e.kind === 'int' || e.kind === 'float' || e.kind === 'str') return e;
    if (!hasAgg(e) && nGroupKeys > 0 && covered(e)) {
      // A function of the group keys: computed in the clouds as one more key (same groups).
      return { kind: 'ref', slot: addKey(e) };
    }
    if (e.kind === 'col') throw new FederationError('INVALID_QUERY', `column ${e.name} must be in GROUP BY or inside an aggregate function`);
    if (e.kind === 'call' && !POST_MERGE_FUNCTIONS.has(e.name)) {
      throw new FederationError('UNSUPPORTED_SQL', `function ${e.name}() over aggregates is not supported (it can only be applied to columns or GROUP BY keys)`);
    }
    return mapExpr(e, (x) => (x === e ? undefined : lower(x)));
  };
  const outs = outputs.map(lower);
  const hv = having ? lower(having) : undefined;
  const ord = orderBy.map((o) => ({ expr: lower(o.expr), desc: o.desc }));
  const nk = keys.length;
  const shift = (e: Expr): Expr => mapExpr(e, (x) => (x.kind === 'ref' && x.slot >= AGG_BASE ? { kind: 'ref', slot: x.slot - AGG_BASE + nk } : undefined));

  let countPartial: number | undefined;
  if (groupBy.length === 0) countPartial = addPartial(call('count', []), 'sum');

  const sel = [
    ...keys.map((k, i) => `${renderExpr(k)} AS ${quoteIdent(`__k${i}`)}`),
    ...partials.map((p, i) => `${renderExpr(p.sql)} AS ${quoteIdent(`__p${i}`)}`),
  ].join(', ');
  let sql = `SELECT ${sel} FROM ${from}${whereSql}`;
  if (keys.length) sql += ` GROUP BY ${keys.map(renderExpr).join(', ')}`;
  return {
    ...base,
    strategy: 'merge-aggregate',
    sql,
    keyTypes: keys.map((k) => an.typeOf(k)),
    partials,
    countPartial,
    aggs,
    outputs: outs.map(shift),
    having: hv ? shift(hv) : undefined,
    order: ord.map((o) => ({ expr: shift(o.expr), desc: o.desc })),
  };
}
