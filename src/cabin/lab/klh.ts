// Knapsack-Lagrangian heuristic for the GAP (docs/cabin-history.md §2.1).
//
// The knapsack relaxation (kbound.ts: relax "each job exactly once" with multipliers λ_j,
// one exact 0-1 knapsack per agent) is tight on the hard OR-Library instances: near the best
// λ most jobs are chosen by exactly one agent's knapsack and the chosen sets already respect
// every capacity. Each subgradient iterate is therefore turned into a solution: a job chosen
// once stays, a job chosen by several agents stays with the cheapest of them, an unchosen job
// goes (regret order) to the cheapest agent with room, then a penalised descent (shift and
// swap, feasibility first) repairs and polishes it. Different iterates give different,
// near-optimal solutions: good starts for the tabu search, far apart in the search space.
import type { Gap } from '../gap.ts';
import { integerWeights, knap, makeWork, startLambda } from '../kbound.ts';

export interface KlhOptions {
  /** capacity multipliers of the LP bound (starting λ_j = min_i c_ij + μ_i w_ij) */
  mu: Float64Array;
  /** cost of a known solution, or an estimate, for the Polyak steps */
  upper: number;
  lambda?: Float64Array;
  maxIterations?: number;
  /** Date.now() ms */
  deadline?: number;
  /** stop when a solution of cost ≤ this is found */
  stopAt?: number;
}

export interface KlhResult {
  /** best feasible solution found (null if none) */
  best: Int32Array | null;
  cost: number;
  /** the knapsack bound reached (rounded up for integer costs) */
  bound: number;
  lambda: Float64Array;
  iterations: number;
  /** the best few distinct solutions, best first */
  pool: { a: Int32Array; cost: number }[];
}

export function knapsackHeuristic(g: Gap, opts: KlhOptions): KlhResult | null {
  if (!integerWeights(g) || !Number.isFinite(opts.upper)) return null;
  const { m, n, cost } = g;
  const Wk = makeWork(g);
  const lambda = startLambda(g, opts.mu, opts.lambda);
  const x = new Int32Array(n);
  const xi = new Int32Array(n);
  const owner = new Int32Array(n);
  const bestL = Float64Array.from(lambda);
  let bestVal = -Infinity;
  let theta = 0.5, since = 0;
  let upper = opts.upper;
  const maxIt = opts.maxIterations ?? 300;
  const stopAt = opts.stopAt ?? -Infinity;
  const pol = makePolisher(g);
  const pool: { a: Int32Array; cost: number }[] = [];
  const P = 8;
  const offer = (a: Int32Array, c: number): void => {
    for (const e of pool) if (e.cost === c) return;
    if (pool.length < P) pool.push({ a: Int32Array.from(a), cost: c });
    else if (c < pool[pool.length - 1]!.cost) pool[pool.length - 1] = { a: Int32Array.from(a), cost: c };
    else return;
    pool.sort((p, q) => p.cost - q.cost);
  };
  const cand = new Int32Array(n);
  let it = 0;
  for (; it < maxIt; it++) {
    if (opts.deadline !== undefined && Date.now() > opts.deadline) break;
    // evaluate L(λ), remembering which agents chose each job (the cheapest one is kept)
    x.fill(0);
    owner.fill(-1);
    let val = 0;
    for (let j = 0; j < n; j++) val += lambda[j]!;
    for (let i = 0; i < m; i++) {
      xi.fill(0);
      val -= knap(g, i, lambda, Wk, xi);
      for (let j = 0; j < n; j++) {
        if (!xi[j]) continue;
        x[j]++;
        const o = owner[j]!;
        if (o < 0 || cost[i * n + j]! < cost[o * n + j]!) owner[j] = i;
      }
    }
    if (bestVal === -Infinity || val > bestVal + 1e-9 * Math.max(1, Math.abs(bestVal))) { bestVal = val; bestL.set(lambda); since = 0; }
    else if (++since >= 10) { theta /= 2; since = 0; lambda.set(bestL); if (theta < 1e-4) theta = 0.1; }
    // a solution from this iterate
    cand.set(owner);
    const c = pol.build(cand, lambda);
    if (c < Infinity) {
      offer(cand, c);
      if (c < upper) upper = c;
      if (c <= stopAt + 1e-9) { it++; break; }
    }
    const lbNow = g.integerCosts ? Math.ceil(bestVal - 1e-6) : bestVal;
    if (pool.length && lbNow >= pool[0]!.cost - 1e-9) { it++; break; } // proven
    let norm = 0;
    for (let j = 0; j < n; j++) { const s = 1 - x[j]!; norm += s * s; }
    if (norm === 0) { it++; break; }
    // aim a little below the best solution so the steps do not vanish at the bound
    const target = Math.max(upper, val + 1e-3 * Math.abs(val) + 1e-6);
    const step = (theta * (target - val)) / norm;
    for (let j = 0; j < n; j++) lambda[j] += step * (1 - x[j]!);
  }
  const bound = bestVal === -Infinity ? -Infinity : g.integerCosts ? Math.ceil(bestVal - 1e-6) : bestVal;
  const best = pool[0] ?? null;
  return { best: best ? best.a : null, cost: best ? best.cost : Infinity, bound, lambda: bestL, iterations: it, pool };
}

/**
 * Repair + penalised descent. `build(a, lambda)` completes a partial assignment (−1 =
 * unassigned) and returns its cost if the descent ends feasible (a is then the solution),
 * Infinity otherwise.
 */
export function makePolisher(g: Gap): { build: (a: Int32Array, lambda: Float64Array) => number; descend: (a: Int32Array) => number } {
  const { m, n, capacity: cap } = g;
  const C = new Float64Array(n * m), W = new Float64Array(n * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) { C[j * m + i] = g.cost[i * n + j]!; W[j * m + i] = g.weight[i * n + j]!; }
  let maxC = 0, minW = Infinity;
  for (let k = 0; k < n * m; k++) if (W[k] !== Infinity) { maxC = Math.max(maxC, Math.abs(C[k]!)); if (W[k]! > 0) minW = Math.min(minW, W[k]!); }
  // feasibility first: one unit of overflow outweighs any cost change of a move
  const A = (4 * maxC + 1) / (minW === Infinity ? 1 : minW);
  const load = new Float64Array(m);
  const list = new Int32Array(m * n), cnt = new Int32Array(m), pos = new Int32Array(n);
  const order: number[] = [];
  const ex = (i: number, l: number): number => { const e = l - cap[i]!; return e > 1e-9 ? e : 0; };

  const descend = (a: Int32Array): number => {
    load.fill(0); cnt.fill(0);
    let cur = 0;
    for (let j = 0; j < n; j++) { const i = a[j]!; load[i] += W[j * m + i]!; cur += C[j * m + i]!; pos[j] = cnt[i]!; list[i * n + cnt[i]!] = j; cnt[i]++; }
    const move = (j: number, to: number): void => {
      const f = a[j]!, q = pos[j]!, last = list[f * n + cnt[f]! - 1]!;
      list[f * n + q] = last; pos[last] = q; cnt[f]--;
      pos[j] = cnt[to]!; list[to * n + cnt[to]!] = j; cnt[to]++;
      load[f] -= W[j * m + f]!; load[to] += W[j * m + to]!; cur += C[j * m + to]! - C[j * m + f]!; a[j] = to;
    };
    for (let round = 0; round < 100; round++) {
      let improved = false;
      for (let j = 0; j < n; j++) {
        const f = a[j]!, row = j * m;
        const pf = A * (ex(f, load[f]! - W[row + f]!) - ex(f, load[f]!)) - C[row + f]!;
        let bd = -1e-9, bi = -1;
        for (let i = 0; i < m; i++) {
          const w = W[row + i]!;
          if (i === f || w === Infinity) continue;
          const d = C[row + i]! + pf + A * (ex(i, load[i]! + w) - ex(i, load[i]!));
          if (d < bd) { bd = d; bi = i; }
        }
        if (bi >= 0) { move(j, bi); improved = true; }
      }
      for (let p = 0; p < m; p++) {
        for (let q = p + 1; q < m; q++) {
          for (let r = 0; r < cnt[p]!; r++) {
            const j1 = list[p * n + r]!, r1 = j1 * m;
            const wq1 = W[r1 + q]!;
            if (wq1 === Infinity) continue;
            for (let s = 0; s < cnt[q]!; s++) {
              const j2 = list[q * n + s]!, r2 = j2 * m;
              const wp2 = W[r2 + p]!;
              if (wp2 === Infinity) continue;
              const lp = load[p]! - W[r1 + p]! + wp2, lq = load[q]! - W[r2 + q]! + wq1;
              const d = C[r1 + q]! + C[r2 + p]! - C[r1 + p]! - C[r2 + q]! + A * (ex(p, lp) + ex(q, lq) - ex(p, load[p]!) - ex(q, load[q]!));
              if (d < -1e-9) { move(j1, q); move(j2, p); improved = true; break; }
            }
          }
        }
      }
      if (!improved) break;
    }
    for (let i = 0; i < m; i++) if (load[i]! > cap[i]! + 1e-9) return Infinity;
    return cur;
  };

  const build = (a: Int32Array, lambda: Float64Array): number => {
    load.fill(0);
    order.length = 0;
    for (let j = 0; j < n; j++) { const i = a[j]!; if (i >= 0) load[i] += W[j * m + i]!; else order.push(j); }
    // unassigned jobs: highest λ first (the relaxation values them most), cheapest agent with room
    order.sort((x, y) => lambda[y]! - lambda[x]!);
    for (const j of order) {
      let bi = -1, bc = Infinity, ri = -1, rr = -Infinity;
      for (let i = 0; i < m; i++) {
        const w = W[j * m + i]!;
        if (w === Infinity) continue;
        const room = cap[i]! - load[i]! - w;
        if (room > rr) { rr = room; ri = i; }
        if (room >= -1e-9 && C[j * m + i]! < bc) { bc = C[j * m + i]!; bi = i; }
      }
      const i = bi >= 0 ? bi : ri;
      a[j] = i;
      load[i] += W[j * m + i]!;
    }
    return descend(a);
  };
  return { build, descend };
}
