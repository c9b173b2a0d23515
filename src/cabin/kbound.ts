// Knapsack Lagrangian bound for the GAP (docs/cabin.md §4.2) and the pair fixing it allows.
//
// Relax the assignment constraints Σ_i x_ij = 1 with free multipliers λ_j:
//   L(λ) = Σ_j λ_j + Σ_i min { Σ_j (c_ij − λ_j) x_ij : Σ_j w_ij x_ij ≤ b_i, x ∈ {0,1} }.
// Each agent's subproblem is a 0-1 knapsack (items: jobs with c_ij < λ_j, profit λ_j − c_ij),
// solved exactly by dynamic programming over integer capacities, so max_λ L(λ) is at least
// the LP bound (the capacity relaxation of bound.ts) and on tight instances — few large
// jobs per agent, as in the generated cabin instances — much stronger. Starting point: the
// LP duals λ_j = min_i (c_ij + μ_i w_ij) from the capacity multipliers μ, where L(λ) is
// already ≥ the LP bound; then subgradient steps s_j = 1 − Σ_i x_ij with Polyak steps.
// Needs integer weights (capacities are floored); returns null otherwise.
import type { Gap } from './gap.ts';

export interface KnapsackBoundResult {
  /** best bound (rounded up when costs are integers) */
  bound: number;
  raw: number;
  lambda: Float64Array;
  iterations: number;
}

export interface KnapsackBoundOptions {
  /** cost of a known solution (Polyak steps); required */
  upper: number;
  /** capacity multipliers of the LP bound, for the starting λ */
  mu: Float64Array;
  maxIterations?: number;
  /** Date.now() ms */
  deadline?: number;
  lambda?: Float64Array;
}

export function integerWeights(g: Gap): boolean {
  for (let k = 0; k < g.weight.length; k++) {
    const w = g.weight[k]!;
    if (w !== Infinity && (!Number.isInteger(w) || w < 0)) return false;
  }
  return true;
}

/** Per-agent DP workspace, reused across evaluations. */
export interface Work {
  cap: Int32Array;
  /** dp[c] = best profit with capacity c (per agent, offsets by capOff) */
  dp: Float64Array;
  capOff: Int32Array;
  /** take[item * (cap+1) + c] */
  take: Uint8Array;
  items: Int32Array;
}

export function makeWork(g: Gap): Work {
  const cap = new Int32Array(g.m);
  const capOff = new Int32Array(g.m + 1);
  let maxCap = 0;
  for (let i = 0; i < g.m; i++) {
    cap[i] = Math.max(0, Math.floor(g.capacity[i]! + 1e-9));
    capOff[i + 1] = capOff[i]! + cap[i]! + 1;
    if (cap[i]! > maxCap) maxCap = cap[i]!;
  }
  return { cap, dp: new Float64Array(capOff[g.m]!), capOff, take: new Uint8Array(0), items: new Int32Array(g.n) };
}

/**
 * Solve agent i's knapsack for profits λ_j − c_ij; fills dp (for fixing) and, if `x` is
 * given, marks the chosen jobs (x[j]++). Returns the best profit.
 */
export function knap(g: Gap, i: number, lambda: Float64Array, W: Work, x: Int32Array | null): number {
  const { n, cost, weight } = g;
  const C = W.cap[i]!;
  const off = W.capOff[i]!;
  const dp = W.dp;
  for (let c = 0; c <= C; c++) dp[off + c] = 0;
  let k = 0;
  for (let j = 0; j < n; j++) {
    const w = weight[i * n + j]!;
    if (w > C) continue; // also Infinity
    if (lambda[j]! - cost[i * n + j]! > 1e-12) W.items[k++] = j;
  }
  if (k === 0) return 0;
  const need = k * (C + 1);
  if (W.take.length < need) W.take = new Uint8Array(Math.max(need, W.take.length * 2));
  const take = W.take;
  for (let t = 0; t < k; t++) {
    const j = W.items[t]!;
    const w = weight[i * n + j]!;
    const p = lambda[j]! - cost[i * n + j]!;
    const row = t * (C + 1);
    for (let c = C; c >= w; c--) {
      const v = dp[off + c - w]! + p;
      if (v > dp[off + c]!) { dp[off + c] = v; take[row + c] = 1; } else take[row + c] = 0;
    }
    for (let c = Math.min(w, C + 1) - 1; c >= 0; c--) take[row + c] = 0;
  }
  const best = dp[off + C]!;
  if (x) {
    let c = C;
    for (let t = k - 1; t >= 0; t--) {
      if (take[t * (C + 1) + c]) { const j = W.items[t]!; x[j]!++; c -= weight[i * n + j]!; }
    }
  }
  return best;
}

function evaluate(g: Gap, lambda: Float64Array, W: Work, x: Int32Array): number {
  x.fill(0);
  let v = 0;
  for (let j = 0; j < g.n; j++) v += lambda[j]!;
  for (let i = 0; i < g.m; i++) v -= knap(g, i, lambda, W, x);
  return v;
}

/**
 * Starting job multipliers of the knapsack relaxation: the given ones, else each job's
 * cheapest Lagrangian cost c_ij + mu_i * w_ij over the agents that can take it.
 */
export function startLambda(g: Gap, mu: ArrayLike<number>, given?: ArrayLike<number>): Float64Array {
  const { m, n, cost, weight } = g;
  const lambda = new Float64Array(n);
  if (given) {
    lambda.set(given);
    return lambda;
  }
  for (let j = 0; j < n; j++) {
    let b = Infinity;
    for (let i = 0; i < m; i++) {
      const w = weight[i * n + j]!;
      if (w === Infinity) continue;
      const v = cost[i * n + j]! + mu[i]! * w;
      if (v < b) b = v;
    }
    lambda[j] = b === Infinity ? 0 : b;
  }
  return lambda;
}

export function knapsackBound(g: Gap, opts: KnapsackBoundOptions): KnapsackBoundResult | null {
  if (!integerWeights(g) || !Number.isFinite(opts.upper)) return null;
  const { n } = g;
  const W = makeWork(g);
  const lambda = startLambda(g, opts.mu, opts.lambda);
  const x = new Int32Array(n);
  const bestL = Float64Array.from(lambda);
  let best = -Infinity;
  let theta = 0.5;
  let since = 0;
  const maxIt = opts.maxIterations ?? 300;
  let it = 0;
  for (; it < maxIt; it++) {
    if (opts.deadline !== undefined && Date.now() > opts.deadline) break;
    const val = evaluate(g, lambda, W, x);
    if (best === -Infinity || val > best + 1e-9 * Math.max(1, Math.abs(best))) { best = val; bestL.set(lambda); since = 0; }
    else if (++since >= 10) { theta /= 2; since = 0; lambda.set(bestL); if (theta < 1e-4) break; }
    if ((g.integerCosts ? Math.ceil(best - 1e-6) : best) >= opts.upper - 1e-9) break; // proven
    let norm = 0;
    for (let j = 0; j < n; j++) { const s = 1 - x[j]!; norm += s * s; }
    if (norm === 0) break; // every job exactly once: the relaxed solution is optimal
    const step = (theta * (opts.upper - val)) / norm;
    for (let j = 0; j < n; j++) lambda[j] += step * (1 - x[j]!);
  }
  const bound = best === -Infinity ? -Infinity : g.integerCosts ? Math.ceil(best - 1e-6) : best;
  return { bound, raw: best, lambda: bestL, iterations: it };
}

/**
 * Pairs that the knapsack bound at λ excludes from every solution cheaper than `upper`
 * (or, with keepEqual, costing more than `upper`): forcing x_ij = 1 costs agent i's
 * knapsack at least P_i − (λ_j − c_ij) − P_i(b_i − w_ij), where P_i(c) is the DP's best
 * profit at capacity c (a relaxation: it may reuse j, so the test is safe). Returns the
 * forbidden-pair mask (1 = remove).
 */
export function knapsackFixing(g: Gap, lambda: Float64Array, upper: number, keepEqual: boolean): { mask: Uint8Array; removed: number; bound: number } {
  const { forced, bound, chosen } = knapsackForced(g, lambda);
  const mask = new Uint8Array(g.m * g.n);
  const tol = 1e-6 * Math.max(1, Math.abs(upper));
  const limit = g.integerCosts && !keepEqual ? upper - 1 + 1e-6 : upper + tol;
  let removed = 0;
  for (let k = 0; k < mask.length; k++) {
    if (g.weight[k] === Infinity || chosen[k]) continue;
    if (forced[k]! > limit) { mask[k] = 1; removed++; }
  }
  return { mask, removed, bound };
}

/**
 * For every pair, a lower bound on the cost of any solution that uses it (from the
 * knapsack relaxation at λ): L(λ) for pairs the agent's knapsack chose, else L(λ) + P_i −
 * (λ_j − c_ij) − P_i(b_i − w_ij); Infinity for unusable pairs.
 */
export function knapsackForced(g: Gap, lambda: Float64Array): { forced: Float64Array; bound: number; chosen: Uint8Array } {
  const { m, n, cost, weight } = g;
  const W = makeWork(g);
  const x = new Int32Array(n);
  const forced = new Float64Array(m * n).fill(Infinity);
  let L = 0;
  for (let j = 0; j < n; j++) L += lambda[j]!;
  const P = new Float64Array(m);
  const chosen = new Uint8Array(m * n);
  const dpCopy = new Float64Array(W.dp.length);
  for (let i = 0; i < m; i++) {
    x.fill(0);
    P[i] = knap(g, i, lambda, W, x);
    L -= P[i]!;
    for (let j = 0; j < n; j++) if (x[j]) chosen[i * n + j] = 1;
    const off = W.capOff[i]!;
    for (let c = 0; c <= W.cap[i]!; c++) dpCopy[off + c] = W.dp[off + c]!;
  }
  for (let i = 0; i < m; i++) {
    const C = W.cap[i]!;
    const off = W.capOff[i]!;
    for (let j = 0; j < n; j++) {
      const k = i * n + j;
      const w = weight[k]!;
      if (w === Infinity || w > C) continue;
      forced[k] = chosen[k] ? L : L + P[i]! - (lambda[j]! - cost[k]!) - dpCopy[off + C - w]!;
    }
  }
  return { forced, bound: L, chosen };
}
