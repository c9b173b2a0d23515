// The federator: plan (plan.ts) → run the per-cloud SQL in parallel, each with its own
// timeout → merge (merge.ts) → HAVING / ORDER BY / LIMIT. It talks to clouds only through
// Store.query, so the embedded mode's chDB stores work exactly like ClickHouse servers.
import { createSegmentLookup, storageClouds, type Topology } from '../topology/index.ts';
import type { Row, Store } from '../store/index.ts';
import { FederationError } from './errors.ts';
import { applyH3ToString } from './h3.ts';
import { mergeAggregate, mergeRows, renameSingle } from './merge.ts';
import { planQuery, type Column, type Plan } from './plan.ts';

export interface FederatorLimits {
  /** Most rows a final result may have (TOO_MANY_ROWS beyond). Default 100 000. */
  maxRows: number;
  /** Per-query time limit, ms; each cloud query gets it as its timeout. Default 30 000. */
  timeoutMs: number;
  /** Most partial rows (groups) one cloud may return for a merge. Default 1 000 000. */
  maxCloudRows: number;
}

export interface FederatorOptions {
  topology: Topology;
  /** One store per cloud (store.cloud = cloud id). */
  stores: Store[];
  limits?: Partial<FederatorLimits>;
  /** Close the stores in close() (default false: the caller owns them). */
  closeStores?: boolean;
}

export interface QueryOpts {
  /** Return the clouds that answered when some fail (default false: fail naming them). */
  partial?: boolean;
  timeoutMs?: number;
}

export type CloudStatus = 'ok' | 'pruned' | 'error' | 'timeout';

export interface CloudReport {
  cloud: string;
  status: CloudStatus;
  ms: number;
  rows: number;
  error?: string;
}

export interface FederatedResult {
  columns: Column[];
  rows: Record<string, unknown>[];
  partial: boolean;
  clouds: CloudReport[];
  plan: Plan;
  /** Wall time of the whole query, ms. */
  ms: number;
}

export interface Federator {
  query(sql: string, opts?: QueryOpts): Promise<FederatedResult>;
  explain(sql: string): Plan;
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: FederatorLimits = { maxRows: 100_000, timeoutMs: 30_000, maxCloudRows: 1_000_000 };

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new TypeError(`options.limits.${name} must be a positive integer`);
  return v;
}

export function createFederator(opts: FederatorOptions): Federator {
  if (!opts || typeof opts !== 'object') throw new TypeError('options must be an object');
  const { topology } = opts;
  if (!topology || !Array.isArray(topology.segments)) throw new TypeError('options.topology must be a loaded Topology');
  if (!Array.isArray(opts.stores) || opts.stores.length === 0) throw new TypeError('options.stores must be a non-empty array of stores');
  const limits: FederatorLimits = { ...DEFAULT_LIMITS };
  for (const k of Object.keys(opts.limits ?? {}) as (keyof FederatorLimits)[]) {
    if (!(k in DEFAULT_LIMITS)) throw new TypeError(`options.limits.${k} is not a known limit`);
    limits[k] = positiveInt(opts.limits![k], k);
  }
  const byCloud = new Map<string, Store>();
  for (const s of opts.stores) {
    if (byCloud.has(s.cloud)) throw new TypeError(`options.stores has two stores for cloud ${s.cloud}`);
    byCloud.set(s.cloud, s);
  }
  for (const seg of topology.segments) {
    if (!byCloud.has(seg.cloud)) throw new TypeError(`options.stores has no store for cloud ${seg.cloud} (owner of segment ${seg.id})`);
  }
  const order = [...storageClouds(topology), ...byCloud.keys()];
  const clouds = order.filter((c, i) => byCloud.has(c) && order.indexOf(c) === i);
  const lookup = createSegmentLookup(topology);
  const ctx = { topology, clouds };
  let closed = false;

  const plan = (sql: string) => planQuery(sql, ctx, (hex) => lookup.segmentOfCell(hex));

  async function runCloud(cloud: string, sql: string, timeoutMs: number, maxRows: number): Promise<{ report: CloudReport; rows: Row[]; tooMany?: boolean }> {
    const store = byCloud.get(cloud)!;
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    // A store that ignores its timeout still cannot hold the query up past this.
    const guard = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`${cloud}: no answer within ${timeoutMs} ms`), { code: 'STORE_TIMEOUT' })), timeoutMs + 1_000);
    });
    try {
      const rows = await Promise.race([store.query(sql, { timeoutMs, maxRows, readonly: true }), guard]);
      return { report: { cloud, status: 'ok', ms: Math.round(performance.now() - t0), rows: rows.length }, rows };
    } catch (err) {
      const e = err as Error & { code?: string };
      const ms = Math.round(performance.now() - t0);
      const msg = e.message.startsWith(`${cloud}:`) ? e.message : `${cloud}: ${e.message}`;
      if (e.code === 'STORE_TOO_MANY_ROWS') return { report: { cloud, status: 'error', ms, rows: 0, error: msg }, rows: [], tooMany: true };
      return { report: { cloud, status: e.code === 'STORE_TIMEOUT' ? 'timeout' : 'error', ms, rows: 0, error: msg }, rows: [] };
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    explain(sql) {
      return plan(sql).plan;
    },
    async query(sql, q = {}) {
      if (closed) throw new FederationError('CLOUD_FAILED', 'the federator is closed');
      const t0 = performance.now();
      const timeoutMs = q.timeoutMs === undefined ? limits.timeoutMs : positiveInt(q.timeoutMs, 'timeoutMs');
      const { plan: p, exec } = plan(sql);
      const limitRows = exec.limit !== undefined ? Number(exec.limit + (exec.offset ?? 0n)) : Infinity;
      const cloudMax =
        exec.strategy === 'merge-aggregate' ? limits.maxCloudRows
        : exec.strategy === 'merge-rows' ? Math.min(limits.maxRows + Number(exec.offset ?? 0n), limitRows) + 1
        : limits.maxRows + 1;
      const results = await Promise.all(exec.clouds.map((c) => runCloud(c, exec.sql, timeoutMs, cloudMax)));
      const tooMany = results.find((r) => r.tooMany);
      if (tooMany) throw new FederationError('TOO_MANY_ROWS', exec.strategy === 'merge-aggregate' ? `${tooMany.report.cloud} returned more than ${limits.maxCloudRows} groups` : `more than ${limits.maxRows} rows`);
      const failed = results.filter((r) => r.report.status !== 'ok');
      // Partial results need at least one answer: a query no asked cloud answered is an
      // error even when partial results are allowed (an empty answer would look like "no data").
      if (failed.length > 0 && (!q.partial || failed.length === results.length)) {
        const allTimeouts = failed.every((f) => f.report.status === 'timeout');
        throw new FederationError(allTimeouts ? 'CLOUD_TIMEOUT' : 'CLOUD_FAILED', failed.map((f) => f.report.error!).join('; '), { clouds: failed.map((f) => f.report.cloud) });
      }
      const ok = results.filter((r) => r.report.status === 'ok');
      let rows: Record<string, unknown>[];
      if (exec.strategy === 'single-cloud') rows = ok.length ? renameSingle(exec, ok[0]!.rows) : [];
      else if (exec.strategy === 'merge-rows') rows = mergeRows(exec, ok.map((r) => r.rows));
      else if (exec.strategy === 'merge-aggregate') rows = mergeAggregate(exec, ok.map((r) => r.rows));
      else rows = mergeAggregateOrEmpty(exec);
      if (rows.length > limits.maxRows) throw new FederationError('TOO_MANY_ROWS', `more than ${limits.maxRows} rows`);
      const reports = new Map(results.map((r) => [r.report.cloud, r.report]));
      return {
        columns: p.columns,
        rows: applyH3ToString(rows, exec.hexColumns),
        partial: failed.length > 0,
        clouds: clouds.map((c) => reports.get(c) ?? { cloud: c, status: 'pruned', ms: 0, rows: 0 }),
        plan: p,
        ms: Math.round(performance.now() - t0),
      };
    },
    async close() {
      closed = true;
      if (opts.closeStores) await Promise.all(opts.stores.map((s) => s.close()));
    },
  };
}

// Every cloud pruned: a global aggregate still answers one row (count 0 …), anything else is empty.
function mergeAggregateOrEmpty(exec: Parameters<typeof mergeAggregate>[0]): Record<string, unknown>[] {
  if (exec.partials.length > 0 && !exec.grouped) return mergeAggregate(exec, []);
  return [];
}
