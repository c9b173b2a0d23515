// Lower bounds and reductions for the GAP (docs/cabin.md §4).
//
// Lagrangian relaxation of the capacity constraints with multipliers μ_i ≥ 0:
//   L(μ) = Σ_j min_i (c_ij + μ_i w_ij) − Σ_i μ_i b_i  ≤  optimum, for every μ ≥ 0.
// The inner problem splits by job, so one evaluation is O(m·n); max over μ equals the LP
// relaxation bound (the subproblem has the integrality property). We climb it by
// subgradient with Polyak steps. The same μ gives reduced costs r_ij ≥ 0 used to guide the
// heuristics and to remove pairs that cannot be in any solution better than a known one.
import type { Gap } from './gap.ts';
import { integerWeights, knapsackForced } from './kbound.ts';

export interface LagrangianResult {
  /** best bound found (rounded up when costs are integers) */
  bound: number;
  /** raw (unrounded) best L(μ) */
  raw: number;
  mu: Float64Array;
  iterations: number;
}

export interface LagrangianOptions {
  /** an upper bound (cost of a known solution) for Polyak steps; estimated if absent */
  upper?: number;
  maxIterations?: number;
  /** stop when the wall clock passes this (Date.now() ms) */
  deadline?: number;
  /** warm start */
  mu?: Float64Array;
}

/** Σ_j max_i c_ij over usable pairs: no assignment costs more. */
export function worstAssignmentCost(g: Gap): number {
  const { m, n, cost, weight } = g;
  let s = 0;
  for (let j = 0; j < n; j++) {
    let w = -Infinity;
    for (let i = 0; i < m; i++) if (weight[i * n + j] !== Infinity && cost[i * n + j]! > w) w = cost[i * n + j]!;
    if (w > -Infinity) s += w;
  }
  return s;
}

/** L(μ) and its subgradient g_i = load_i − b_i of the relaxed assignment. */
export function lagrangianValue(g: Gap, mu: Float64Array, choice?: Int32Array, grad?: Float64Array): number {
  const { m, n, cost, weight, capacity } = g;
  let val = 0;
  if (grad) for (let i = 0; i < m; i++) grad[i] = -capacity[i]!;
  for (let j = 0; j < n; j++) {
    let best = Infinity;
    let bi = -1;
    for (let i = 0; i < m; i++) {
      const w = weight[i * n + j]!;
      if (w === Infinity) continue;
      const v = cost[i * n + j]! + mu[i]! * w;
      if (v < best) { best = v; bi = i; }
    }
    if (bi < 0) return -Infinity; // a job with no usable agent: the GAP is infeasible
    val += best;
    if (choice) choice[j] = bi;
    if (grad) grad[bi] += weight[bi * n + j]!;
  }
  for (let i = 0; i < m; i++) val -= mu[i]! * capacity[i]!;
  return val;
}

export function lagrangianBound(g: Gap, opts: LagrangianOptions = {}): LagrangianResult {
  const { m } = g;
  const mu = opts.mu ? Float64Array.from(opts.mu) : new Float64Array(m);
  const grad = new Float64Array(m);
  const bestMu = Float64Array.from(mu);
  const maxIt = opts.maxIterations ?? 400;
  let best = -Infinity;
  let theta = 1.0;
  let sinceImprove = 0;
  let it = 0;
  // Without a known solution, aim at Σ_j max_i c_ij, which no assignment exceeds. (Aiming
  // just above the current bound, as before, makes the steps so short on instances where
  // greedy finds nothing feasible — yagiura e801600 — that the climb stalls at 13 % of the
  // optimum; a target even 2× too high still converges, to within 0.01 % there.)
  let upper = opts.upper ?? worstAssignmentCost(g);
  for (; it < maxIt; it++) {
    if (opts.deadline !== undefined && (it & 7) === 0 && Date.now() > opts.deadline) break;
    const val = lagrangianValue(g, mu, undefined, grad);
    if (val === -Infinity) { best = -Infinity; break; }
    if (best === -Infinity || val > best + 1e-12 * Math.max(1, Math.abs(best))) {
      best = val;
      bestMu.set(mu);
      sinceImprove = 0;
    } else if (++sinceImprove >= 20) {
      theta /= 2;
      sinceImprove = 0;
      mu.set(bestMu);
      if (theta < 1e-5) break;
    }
    if (!Number.isFinite(upper) || upper <= best) upper = Math.abs(best) * 1.02 + 1;
    let norm = 0;
    for (let i = 0; i < m; i++) {
      // projected subgradient: a component pushing μ_i below 0 does not count
      if (mu[i] === 0 && grad[i]! < 0) grad[i] = 0;
      norm += grad[i]! * grad[i]!;
    }
    if (norm === 0) break; // the relaxed assignment is feasible and complementary: optimal
    const step = (theta * (upper - val)) / norm;
    for (let i = 0; i < m; i++) mu[i] = Math.max(0, mu[i]! + step * grad[i]!);
  }
  const bound = best === -Infinity ? -Infinity : g.integerCosts ? Math.ceil(best - 1e-6) : best;
  return { bound, raw: best, mu: bestMu, iterations: it };
}

/**
 * Reduced-cost fixing: a pair whose Lagrangian reduced cost lifts the bound above `upper`
 * cannot be in a solution cheaper than `upper`, so it is forbidden (weight = Infinity) in a
 * copy. With integer costs "cheaper" means ≤ upper − 1. Returns the copy and how many pairs
 * were removed. The caller keeps the solution of cost `upper` as the fallback.
 */
export function reduceByReducedCost(g: Gap, mu: Float64Array, upper: number, keepEqual = false): { gap: Gap; removed: number } {
  const { m, n, cost, weight } = g;
  const w2 = Float64Array.from(weight);
  const minRc = new Float64Array(n).fill(Infinity);
  let L = 0;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) {
      const w = weight[i * n + j]!;
      if (w === Infinity) continue;
      const v = cost[i * n + j]! + mu[i]! * w;
      if (v < minRc[j]!) minRc[j] = v;
    }
    L += minRc[j]!;
  }
  for (let i = 0; i < m; i++) L -= mu[i]! * g.capacity[i]!;
  // keepEqual keeps every pair of the solution of cost `upper` (each of its pairs has
  // L + r_ij ≤ upper), so that solution stays a valid warm start for the MILP.
  const tol = 1e-6 * Math.max(1, Math.abs(upper));
  const limit = g.integerCosts && !keepEqual ? upper - 1 + 1e-6 : upper + tol;
  let removed = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const k = i * n + j;
      const w = weight[k]!;
      if (w === Infinity) continue;
      const r = cost[k]! + mu[i]! * w - minRc[j]!;
      if (L + r > limit) { w2[k] = Infinity; removed++; }
    }
  }
  return { gap: { ...g, weight: w2 }, removed };
}

/**
 * For every pair, a lower bound on the cost of any solution using it: L(μ) + r_ij from the
 * LP bound and, with knapsack multipliers λ and integer weights, the knapsack relaxation's
 * (kbound.ts), whichever is higher; Infinity for unusable pairs. `bound` is the better of
 * the two relaxations' values.
 */
export function pairBounds(g: Gap, mu: Float64Array, lambda?: Float64Array): { forced: Float64Array; bound: number } {
  const { m, n, cost, weight } = g;
  const minRc = new Float64Array(n).fill(Infinity);
  let L = 0;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) {
      const w = weight[i * n + j]!;
      if (w !== Infinity) minRc[j] = Math.min(minRc[j]!, cost[i * n + j]! + mu[i]! * w);
    }
    L += minRc[j]!;
  }
  for (let i = 0; i < m; i++) L -= mu[i]! * g.capacity[i]!;
  const forced = new Float64Array(m * n).fill(Infinity);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const k = i * n + j;
      if (weight[k] !== Infinity) forced[k] = L + cost[k]! + mu[i]! * weight[k]! - minRc[j]!;
    }
  }
  let bound = L;
  if (lambda && integerWeights(g)) {
    const kf = knapsackForced(g, lambda);
    bound = Math.max(bound, kf.bound);
    for (let k = 0; k < forced.length; k++) if (forced[k] !== Infinity) forced[k] = Math.max(forced[k]!, kf.forced[k]!);
  }
  return { forced, bound };
}

/** Pairs that can never be used: weight above the agent's whole capacity. */
export function removeOversizePairs(g: Gap): { gap: Gap; removed: number } {
  const w2 = Float64Array.from(g.weight);
  let removed = 0;
  for (let i = 0; i < g.m; i++) {
    for (let j = 0; j < g.n; j++) {
      const k = i * g.n + j;
      if (w2[k] !== Infinity && w2[k]! > g.capacity[i]! + 1e-9) { w2[k] = Infinity; removed++; }
    }
  }
  return { gap: { ...g, weight: w2 }, removed };
}
