// Set-partitioning recombination for the GAP (docs/cabin.md §5.2, "column pool").
//
// A column is one agent's set of jobs that fits its capacity. Every solution the heuristics
// see contributes m columns, and every iterate of the knapsack-Lagrangian heuristic (klh.ts)
// contributes each agent's optimal knapsack set (exactly the columns a Dantzig–Wolfe
// decomposition would price out). The restricted master
//     min Σ_k cost_k y_k   s.t.  Σ_{k ∋ j} y_k = 1  ∀ job j,   Σ_{k of agent i} y_k ≤ 1  ∀ agent i,
//     y ∈ {0,1}
// picks one column per agent so that every job is covered once: the best combination of
// agent packings taken from different solutions (an optimal multi-parent crossover). Its LP
// relaxation is as strong as the knapsack bound, far stronger than the compact model's, so
// HiGHS closes it quickly; the incumbent's own columns are in the pool, so it never loses.
import { loadHighs } from './exact.ts';
import type { Gap } from './gap.ts';

export class ColumnPool {
  readonly agent: number[] = [];
  readonly jobs: Int32Array[] = [];
  readonly cost: number[] = [];
  private readonly seen = new Set<string>();
  constructor(private readonly g: Gap, readonly limit = 30_000) {}
  get size(): number { return this.jobs.length; }
  /** agent i's column from a 0/1 (or count) mask over the jobs */
  addFromMask(i: number, mask: ArrayLike<number>): void {
    const js: number[] = [];
    for (let j = 0; j < this.g.n; j++) if (mask[j]) js.push(j);
    this.add(i, js);
  }
  /** the m columns of a complete assignment (feasible agents only) */
  addSolution(a: ArrayLike<number>): void {
    const by: number[][] = Array.from({ length: this.g.m }, () => []);
    for (let j = 0; j < this.g.n; j++) by[a[j]!]!.push(j);
    for (let i = 0; i < this.g.m; i++) this.add(i, by[i]!);
  }
  add(i: number, js: number[]): void {
    if (js.length === 0 || this.jobs.length >= this.limit) return;
    const { n, cost, weight, capacity } = this.g;
    let w = 0, c = 0;
    for (const j of js) { w += weight[i * n + j]!; c += cost[i * n + j]!; }
    if (!(w <= capacity[i]! + 1e-9)) return;
    const key = `${i}:${js.join(',')}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.agent.push(i); this.jobs.push(Int32Array.from(js)); this.cost.push(c);
  }
}

export interface MasterResult { assignment: Int32Array | null; cost: number; status: string; columns: number; timeMs: number }

/** Solve the restricted master by HiGHS within timeLimitMs; `start` (optional) seeds it. */
export async function solveMaster(g: Gap, pool: ColumnPool, timeLimitMs: number, start?: Int32Array): Promise<MasterResult> {
  const t0 = Date.now();
  const highs = await loadHighs();
  const K = pool.size;
  const { m, n } = g;
  const byJob: number[][] = Array.from({ length: n }, () => []);
  const byAgent: number[][] = Array.from({ length: m }, () => []);
  for (let k = 0; k < K; k++) { byAgent[pool.agent[k]!]!.push(k); for (const j of pool.jobs[k]!) byJob[j]!.push(k); }
  for (let j = 0; j < n; j++) if (byJob[j]!.length === 0) return { assignment: null, cost: Infinity, status: 'job uncovered', columns: K, timeMs: Date.now() - t0 };
  const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(15));
  const out: string[] = ['Minimize', ' obj:'];
  let line = '';
  for (let k = 0; k < K; k++) {
    line += ` + ${fmt(pool.cost[k]!)} y${k}`;
    if (line.length > 200) { out.push(line); line = ''; }
  }
  if (line) out.push(line);
  out.push('Subject To');
  const row = (ks: number[]): string => { const parts: string[] = []; for (let q = 0; q < ks.length; q++) parts.push(`y${ks[q]}`); return parts.join(' + '); };
  for (let j = 0; j < n; j++) out.push(` j${j}: ${row(byJob[j]!)} = 1`);
  for (let i = 0; i < m; i++) if (byAgent[i]!.length) out.push(` a${i}: ${row(byAgent[i]!)} <= 1`);
  out.push('Binary');
  for (let q = 0; q < K; q += 20) { const parts: string[] = []; for (let k = q; k < Math.min(K, q + 20); k++) parts.push(`y${k}`); out.push(' ' + parts.join(' ')); }
  out.push('End');
  const model = highs.createModel({ format: 'lp', data: out.join('\n') });
  try {
    model.options.set({ output_flag: false, time_limit: Math.max(0.05, (timeLimitMs - (Date.now() - t0)) / 1000), mip_rel_gap: 0, mip_abs_gap: g.integerCosts ? 0.999 : 1e-6 });
    const ncol = model.getDimensions().numCols;
    if (ncol !== K) return { assignment: null, cost: Infinity, status: `column count ${ncol} ≠ ${K}`, columns: K, timeMs: Date.now() - t0 };
    if (start) {
      // the start's columns (present when it was added with addSolution)
      const by: number[][] = Array.from({ length: m }, () => []);
      for (let j = 0; j < n; j++) by[start[j]!]!.push(j);
      const want = new Set(by.map((js, i) => `${i}:${js.join(',')}`));
      const x = new Float64Array(K);
      let hit = 0;
      for (let k = 0; k < K; k++) if (want.has(`${pool.agent[k]}:${Array.from(pool.jobs[k]!).join(',')}`)) { x[k] = 1; hit++; }
      if (hit > 0) model.setSolution({ colValue: x });
    }
    const run = model.run();
    const x = model.getSolution().colValue;
    const a = new Int32Array(n).fill(-1);
    let cost = 0;
    for (let k = 0; k < K; k++) if (x[k]! > 0.5) { for (const j of pool.jobs[k]!) a[j] = pool.agent[k]!; cost += pool.cost[k]!; }
    for (let j = 0; j < n; j++) if (a[j]! < 0) return { assignment: null, cost: Infinity, status: `status ${run.modelStatus}, no solution`, columns: K, timeMs: Date.now() - t0 };
    return { assignment: a, cost, status: String(run.modelStatus), columns: K, timeMs: Date.now() - t0 };
  } catch (e) {
    return { assignment: null, cost: Infinity, status: `error: ${(e as Error).message}`, columns: K, timeMs: Date.now() - t0 };
  } finally {
    model.dispose();
  }
}
