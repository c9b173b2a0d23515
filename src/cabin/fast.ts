// Fast GAP solver (docs/cabin.md §5.2): Lagrangian bound + penalised iterated local search.
//
// 1. Lagrangian relaxation of the capacities (bound.ts) gives a lower bound and reduced
//    costs r_ij; each job keeps a candidate list of its K agents with the lowest r_ij (the
//    only agents moves consider: the others are almost never in good solutions).
// 2. Start from the relaxed assignment (each job to its best reduced-cost agent), which is
//    cheap but may overload agents.
// 3. Penalised local search: f = Σ c + Σ_i α_i·max(0, load_i − b_i). Neighbourhoods: shift
//    (one job to another agent) and a two-step ejection chain (j1 a→b, then j2 b→c; c = a
//    is the swap). Descent to a local optimum of f.
// 4. Strategic oscillation: after each descent the weights α_i of overloaded agents grow and
//    the others shrink, so the search crosses the feasibility boundary in both directions;
//    a small random kick (a few shifts) restarts the descent; every so often the search
//    goes back to the best feasible solution.
// Time-bounded and seeded; returns the best feasible assignment, the bound and the gap.
import { lagrangianBound, removeOversizePairs, worstAssignmentCost } from './bound.ts';
import { CabinError, badOption } from './errors.ts';
import { knapsackBound } from './kbound.ts';
import { assignmentCost, isFeasible, type Gap } from './gap.ts';
import { createRng } from './rng.ts';

export interface FastOptions {
  /** wall-clock budget for the whole solve (default 1000 ms) */
  timeLimitMs?: number;
  seed?: number;
  /** candidate agents per job (default min(m, 12)) */
  candidates?: number;
  /** stop as soon as a solution with cost ≤ target is found (benchmarks: time to target) */
  target?: number;
  /** a known feasible assignment to start from */
  start?: Int32Array;
  /**
   * Effort mode: stop the search after this many tabu iterations and run every bound pass
   * for a fixed number of iterations, so the result depends only on the seed, not on the
   * machine's load (the exact solver's warm start uses this). `timeLimitMs` then only
   * guards against runaway runs (default: no wall-clock limit).
   */
  maxIterations?: number;
  /** tabu: moves without a new best before going back to the best (default 20·n) */
  restartEvery?: number;
  /** a start heuristic run after the LP bound (the laboratory's knapsack-Lagrangian
   *  heuristic, src/cabin/lab/klh.ts, plugs in here); its best solution starts the search,
   *  its bound and multipliers are kept */
  prelude?: (g: Gap, ctx: PreludeContext) => PreludeResult | null;
  /** the bound passes after the search (default true); false when only the plan is wanted
   *  now — in effort mode they are fixed iteration counts that take seconds on wide
   *  capacities (87 knapsack evaluations over 2.3 M cells at 10×240) */
  finalBounds?: boolean;
}

export interface PreludeContext {
  /** the LP bound's capacity multipliers */
  mu: Float64Array;
  /** a known solution's cost, or the worst assignment's */
  upper: number;
  /** Date.now() ms at which the solve started, and its budget (Infinity in effort mode) */
  startedAt: number;
  budgetMs: number;
  /** false in effort mode */
  timed: boolean;
  target?: number;
}

export interface PreludeResult {
  best: Int32Array | null;
  cost: number;
  bound: number;
  lambda: Float64Array;
}

export interface FastResult {
  assignment: Int32Array | null;
  cost: number;
  lowerBound: number;
  /** (cost − bound)/bound; 0 = proven optimal */
  gap: number;
  provenOptimal: boolean;
  timeMs: number;
  timeToBestMs: number;
  iterations: number;
  /** jobs with no usable agent at all (the instance is infeasible) */
  unplaceable: number[];
  /** the best capacity multipliers of the LP bound (for reduced-cost fixing) */
  mu?: Float64Array;
  /** the knapsack bound's multipliers, when it ran (for knapsack fixing) */
  lambda?: Float64Array;
  /** solveFastHybrid: where its MILP phase ran ('thread': a worker thread, concurrently
   *  with the heuristic, also when cut off at its deadline — its answer is then the
   *  incumbent it started from; 'main': after it, on the calling thread; 'none': not run) */
  milpPhase?: 'thread' | 'main' | 'none';
  /** solveFastHybrid: 'lagrangian-bb' when the answer came from the Lagrangian
   *  branch-and-bound (lbb.ts), with its node count; absent otherwise */
  method?: 'lagrangian-bb';
  nodes?: number;
  /** what proved optimality, when something did ('lagrangian-bb': the tree was exhausted) */
  proof?: string;
  /** solveFastHybrid: its agent-subset LNS phase (lns.ts), when it ran: sub-GAPs solved,
   *  how many improved the plan, and why it stopped */
  lns?: { moves: number; improvements: number; stop: 'deadline' | 'moves' | 'stall' | 'exhausted' };
}

export function solveFast(input: Gap, opts: FastOptions = {}): FastResult {
  const t0 = Date.now();
  const effort = opts.maxIterations;
  if (effort !== undefined && !(Number.isInteger(effort) && effort >= 0)) throw badOption('options.maxIterations must be a non-negative integer');
  const budget = opts.timeLimitMs ?? (effort !== undefined ? Infinity : 1000);
  // The search stops early enough to leave a slice of the budget for the final bound
  // passes, so the whole solve stays within the limit. In effort mode every phase stops on
  // its iteration count; the deadline is only a guard.
  const deadline = t0 + budget * 0.9;
  // nothing runs past the budget: the bound passes below stop there too (a guard in effort mode)
  const end = t0 + budget;
  const timed = effort === undefined;
  const rng = createRng(opts.seed ?? 1);
  const g = removeOversizePairs(input).gap;
  const { m, n, cost, weight, capacity } = g;

  const unplaceable: number[] = [];
  for (let j = 0; j < n; j++) {
    let ok = false;
    for (let i = 0; i < m; i++) if (weight[i * n + j] !== Infinity) { ok = true; break; }
    if (!ok) unplaceable.push(j);
  }
  const done = (assignment: Int32Array | null, c: number, lb: number, it: number, tBest: number): FastResult => {
    const gap = assignment ? relGap(c, lb) : Infinity;
    return {
      assignment, cost: c, lowerBound: lb, gap, provenOptimal: assignment !== null && gap <= 1e-9,
      timeMs: Date.now() - t0, timeToBestMs: tBest, iterations: it, unplaceable,
    };
  };
  if (unplaceable.length) return done(null, Infinity, Infinity, 0, 0);

  // 1. a greedy solution for the Polyak steps, then the bound + reduced costs
  const greedy = greedyAssign(g, new Float64Array(m));
  const gCost = greedy.feasible ? greedy.cost : undefined;
  const lag = lagrangianBound(g, { maxIterations: timed ? 1500 : 600, deadline: timed ? t0 + budget * 0.15 : t0 + budget * 0.5, ...(gCost !== undefined ? { upper: gCost } : {}) });
  const mu = lag.mu;
  let lb = lag.bound;
  const klh = opts.prelude?.(g, {
    mu, upper: gCost ?? worstAssignmentCost(g), startedAt: t0, budgetMs: budget, timed,
    ...(opts.target !== undefined ? { target: opts.target } : {}),
  }) ?? null;
  if (klh && klh.bound > lb) lb = klh.bound;
  if (Date.now() > end) {
    // out of time already (a busy machine): the start or the greedy plan, with the bound
    const a0 = opts.start ?? (greedy.feasible ? greedy.assignment : null);
    const res = done(a0 && isFeasible(g, a0) ? Int32Array.from(a0) : null, a0 && isFeasible(g, a0) ? assignmentCost(g, a0) : Infinity, lb, 0, Date.now() - t0);
    res.mu = mu;
    return res;
  }

  const K = Math.max(1, Math.min(m, opts.candidates ?? 12));
  const cand = new Int32Array(n * K).fill(-1);
  const candN = new Int32Array(n);
  {
    const idx: number[] = [];
    const rc = new Float64Array(m);
    for (let j = 0; j < n; j++) {
      idx.length = 0;
      for (let i = 0; i < m; i++) {
        const w = weight[i * n + j]!;
        if (w === Infinity) continue;
        rc[i] = cost[i * n + j]! + mu[i]! * w;
        idx.push(i);
      }
      idx.sort((x, y) => rc[x]! - rc[y]!);
      const k = Math.min(K, idx.length);
      for (let t = 0; t < k; t++) cand[j * K + t] = idx[t]!;
      candN[j] = k;
    }
  }

  // 2. state
  const a = new Int32Array(n);
  const load = new Float64Array(m);
  const list = new Int32Array(m * n); // jobs of agent i at list[i*n .. i*n+cnt[i])
  const cnt = new Int32Array(m);
  const pos = new Int32Array(n);
  let curCost = 0;
  const setAll = (src: Int32Array): void => {
    a.set(src);
    load.fill(0);
    cnt.fill(0);
    curCost = 0;
    for (let j = 0; j < n; j++) {
      const i = a[j]!;
      load[i] += weight[i * n + j]!;
      curCost += cost[i * n + j]!;
      pos[j] = cnt[i]!;
      list[i * n + cnt[i]!] = j;
      cnt[i]++;
    }
  };
  const move = (j: number, to: number): void => {
    const from = a[j]!;
    // remove from list of `from` (swap with last)
    const p = pos[j]!;
    const last = list[from * n + cnt[from]! - 1]!;
    list[from * n + p] = last;
    pos[last] = p;
    cnt[from]--;
    pos[j] = cnt[to]!;
    list[to * n + cnt[to]!] = j;
    cnt[to]++;
    load[from] -= weight[from * n + j]!;
    load[to] += weight[to * n + j]!;
    curCost += cost[to * n + j]! - cost[from * n + j]!;
    a[j] = to;
  };

  // penalty weights
  let sumC = 0, sumW = 0, cntP = 0;
  for (let k = 0; k < m * n; k++) if (weight[k] !== Infinity) { sumC += Math.abs(cost[k]!); sumW += weight[k]!; cntP++; }
  const base = cntP && sumW > 0 ? sumC / sumW : 1;
  const alpha = new Float64Array(m);
  for (let i = 0; i < m; i++) alpha[i] = Math.max(base, 2 * mu[i]!);
  const alphaMin = base * 0.05;
  const alphaMax = base * 1e4;

  const ex = (i: number, l: number): number => { const e = l - capacity[i]!; return e > 0 ? e : 0; };
  const pd = (i: number, nl: number): number => alpha[i]! * (ex(i, nl) - ex(i, load[i]!));
  const totalExcess = (): number => { let s = 0; for (let i = 0; i < m; i++) s += ex(i, load[i]!); return s; };

  const order = new Int32Array(n);
  for (let j = 0; j < n; j++) order[j] = j;
  const shuffleOrder = (): void => {
    for (let q = n - 1; q > 0; q--) { const r = Math.floor(rng() * (q + 1)); const t = order[q]!; order[q] = order[r]!; order[r] = t; }
  };
  const EPS = 1e-9;

  const shiftPass = (): boolean => {
    let improved = false;
    shuffleOrder();
    for (let q = 0; q < n; q++) {
      const j = order[q]!;
      const from = a[j]!;
      const cf = cost[from * n + j]!;
      const pf = pd(from, load[from]! - weight[from * n + j]!);
      let bestD = -EPS, bestI = -1;
      for (let t = 0; t < candN[j]!; t++) {
        const i = cand[j * K + t]!;
        if (i === from) continue;
        const d = cost[i * n + j]! - cf + pf + pd(i, load[i]! + weight[i * n + j]!);
        if (d < bestD) { bestD = d; bestI = i; }
      }
      if (bestI >= 0) { move(j, bestI); improved = true; }
    }
    return improved;
  };

  // Ejection chain of length two: j1 from a to b, j2 from b to c (c may be a: a swap).
  const K2 = Math.min(K, 6);
  const chainPass = (): boolean => {
    let improved = false;
    shuffleOrder();
    for (let q = 0; q < n; q++) {
      if ((q & 7) === 0 && Date.now() > deadline) break;
      const j1 = order[q]!;
      const ag = a[j1]!;
      const c1 = cost[ag * n + j1]!;
      const wa1 = weight[ag * n + j1]!;
      let bestD = -EPS, bB = -1, bJ2 = -1, bC = -1;
      for (let t = 0; t < candN[j1]!; t++) {
        const b = cand[j1 * K + t]!;
        if (b === ag) continue;
        const d1 = cost[b * n + j1]! - c1;
        const wb1 = weight[b * n + j1]!;
        const lb1 = load[b]! + wb1;
        const cb = cnt[b]!;
        for (let r = 0; r < cb; r++) {
          const j2 = list[b * n + r]!;
          const wb2 = weight[b * n + j2]!;
          const cb2 = cost[b * n + j2]!;
          const pB = pd(b, lb1 - wb2);
          const k2 = Math.min(K2, candN[j2]!);
          for (let u = 0; u < k2; u++) {
            const c = cand[j2 * K + u]!;
            if (c === b) continue;
            let d = d1 + cost[c * n + j2]! - cb2 + pB;
            if (c === ag) d += pd(ag, load[ag]! - wa1 + weight[ag * n + j2]!);
            else d += pd(ag, load[ag]! - wa1) + pd(c, load[c]! + weight[c * n + j2]!);
            if (d < bestD) { bestD = d; bB = b; bJ2 = j2; bC = c; }
          }
          // plain swap with an agent outside j2's short list
          const wa2 = weight[ag * n + j2]!;
          if (wa2 !== Infinity) {
            const d = d1 + cost[ag * n + j2]! - cb2 + pB + pd(ag, load[ag]! - wa1 + wa2);
            if (d < bestD) { bestD = d; bB = b; bJ2 = j2; bC = ag; }
          }
        }
      }
      if (bB >= 0) { move(j1, bB); move(bJ2, bC); improved = true; }
    }
    return improved;
  };

  const descend = (): void => {
    for (let round = 0; round < 50; round++) {
      let imp = shiftPass();
      if (Date.now() > deadline) return;
      imp = chainPass() || imp;
      if (!imp || Date.now() > deadline) return;
    }
  };

  // initial: the relaxed assignment, or the given start
  const init = new Int32Array(n);
  if (opts.start) init.set(opts.start);
  else if (klh?.best) init.set(klh.best);
  else {
    const gr = greedyAssign(g, mu);
    if (gr.feasible) init.set(gr.assignment);
    else if (greedy.feasible) init.set(greedy.assignment);
    else for (let j = 0; j < n; j++) init[j] = cand[j * K]!;
  }
  setAll(init);

  const best = new Int32Array(n);
  let bestCost = Infinity;
  let tBest = 0;
  const record = (): void => {
    if (curCost < bestCost - EPS && totalExcess() <= 1e-9) {
      bestCost = curCost;
      best.set(a);
      tBest = Date.now() - t0;
    }
  };
  const provenAt = (): boolean => bestCost <= lb + (g.integerCosts ? 1e-6 : 1e-9 * Math.max(1, Math.abs(lb)));
  if (klh?.best) { bestCost = klh.cost; best.set(klh.best); tBest = Date.now() - t0; }

  let it = 0;
  descend();
  record();
  // Tabu search with strategic oscillation (best move over shifts + a sample of swaps).
  const tabu = new Int32Array(m * n); // iteration until which job j may not return to agent i
  const tMin = Math.max(3, Math.round(n / 40));
  const tSpan = Math.max(3, Math.round(n / 20));
  const perAgent = n / m;
  const swapSample = Math.max(8, Math.min(n, Math.round(40000 / Math.max(1, K * perAgent))));
  let sinceBest = 0;
  let exSum = totalExcess();
  const exAfter2 = (i1: number, l1: number, i2: number, l2: number): number =>
    exSum - ex(i1, load[i1]!) - ex(i2, load[i2]!) + ex(i1, l1) + ex(i2, l2);
  const isTabu = (i: number, j: number): boolean => tabu[i * n + j]! > it;
  // Restart from the best after this many moves without a new best. 20·n alone never fires
  // within seconds on large instances (32 000 moves at 1600 jobs, ~1 ms each).
  const restartEvery = Math.max(200, Math.min(20 * n, opts.restartEvery ?? 20 * n));
  while (!provenAt() && !(opts.target !== undefined && bestCost <= opts.target + 1e-9)) {
    // every iteration: one costs up to a few ms at 1 000 jobs, and on a busy machine each ms
    // of CPU can take ten of wall clock (the time limit is a promise: anytime.ts)
    if (Date.now() > deadline) break;
    if (effort !== undefined && it >= effort) break;
    it++;
    let bestD = Infinity, mJ = -1, mI = -1, mJ2 = -1, mI2 = -1;
    for (let j = 0; j < n; j++) {
      const from = a[j]!;
      const cf = cost[from * n + j]!;
      const lf = load[from]! - weight[from * n + j]!;
      const pf = pd(from, lf);
      // a job on an overloaded agent may go anywhere (its short list may be full)
      const wide = load[from]! > capacity[from]! + 1e-9;
      const tn = wide ? m : candN[j]!;
      for (let t = 0; t < tn; t++) {
        const i = wide ? t : cand[j * K + t]!;
        if (i === from || weight[i * n + j] === Infinity) continue;
        const li = load[i]! + weight[i * n + j]!;
        const d = cost[i * n + j]! - cf + pf + pd(i, li);
        if (d >= bestD) continue;
        if (isTabu(i, j) && !(curCost + cost[i * n + j]! - cf < bestCost - EPS && exAfter2(from, lf, i, li) <= 1e-9)) continue;
        bestD = d; mJ = j; mI = i; mJ2 = -1;
      }
    }
    for (let q = 0; q < swapSample; q++) {
      const j1 = swapSample >= n ? q : Math.floor(rng() * n);
      const ag = a[j1]!;
      const c1 = cost[ag * n + j1]!;
      const wa1 = weight[ag * n + j1]!;
      for (let t = 0; t < candN[j1]!; t++) {
        const b = cand[j1 * K + t]!;
        if (b === ag) continue;
        const d1 = cost[b * n + j1]! - c1;
        const lb1 = load[b]! + weight[b * n + j1]!;
        const t1 = isTabu(b, j1);
        for (let r = 0; r < cnt[b]!; r++) {
          const j2 = list[b * n + r]!;
          const wa2 = weight[ag * n + j2]!;
          if (wa2 === Infinity) continue;
          const lb = lb1 - weight[b * n + j2]!;
          const la = load[ag]! - wa1 + wa2;
          const dc = d1 + cost[ag * n + j2]! - cost[b * n + j2]!;
          const d = dc + pd(b, lb) + pd(ag, la);
          if (d >= bestD) continue;
          if ((t1 || isTabu(ag, j2)) && !(curCost + dc < bestCost - EPS && exAfter2(ag, la, b, lb) <= 1e-9)) continue;
          bestD = d; mJ = j1; mI = b; mJ2 = j2; mI2 = ag;
        }
      }
    }
    if (mJ < 0) { setAll(bestCost < Infinity ? best : init); exSum = totalExcess(); continue; }
    const from1 = a[mJ]!;
    move(mJ, mI);
    tabu[from1 * n + mJ] = it + tMin + Math.floor(rng() * tSpan);
    if (mJ2 >= 0) {
      move(mJ2, mI2);
      tabu[mI * n + mJ2] = it + tMin + Math.floor(rng() * tSpan);
    }
    exSum = totalExcess();
    const before = bestCost;
    if (exSum <= 1e-9) record();
    if (bestCost < before) sinceBest = 0; else sinceBest++;
    // strategic oscillation: overloaded agents get dearer, feasible phases relax the weights
    if (exSum > 1e-9) {
      for (let i = 0; i < m; i++) if (load[i]! > capacity[i]! + 1e-9) alpha[i] = Math.min(alphaMax, alpha[i]! * 1.05);
    } else {
      for (let i = 0; i < m; i++) alpha[i] = Math.max(alphaMin, alpha[i]! * 0.98);
    }
    if (sinceBest > 0 && sinceBest % restartEvery === 0 && bestCost < Infinity) {
      setAll(best);
      descend();
      exSum = totalExcess();
    }
  }
  // A final bound pass with the true upper bound (better Polyak steps) if time is left.
  let lagMu = mu;
  const bounds = opts.finalBounds !== false;
  if (bounds && bestCost < Infinity && !provenAt() && Date.now() < end) {
    const lag2 = lagrangianBound(g, { upper: bestCost, mu, maxIterations: timed ? 1000 : 300, deadline: timed ? Math.min(end, Date.now() + Math.max(20, budget * 0.05)) : end });
    if (lag2.bound > lb) { lb = lag2.bound; lagMu = lag2.mu; }
  }
  // Then the knapsack bound (kbound.ts), at least as strong as the LP bound from its first
  // evaluation on (it starts at the LP duals) and much stronger on tight instances.
  let lambda: Float64Array | undefined;
  if (bounds && bestCost < Infinity && !provenAt() && Date.now() < end) {
    // Effort mode: an evaluation is m DPs over up to n·Σ b_i cells (64 ms at yagiura
    // e801600, 1.5 ms at 100×82), so the iteration count scales with that size.
    let cells = 0;
    for (let i = 0; i < m; i++) cells += Math.max(0, Math.floor(capacity[i]!)) * n;
    const kbIts = timed ? 500 : Math.max(5, Math.min(150, Math.round(2e8 / Math.max(1, cells))));
    const kb = knapsackBound(g, { upper: bestCost, mu: lagMu, maxIterations: kbIts, ...(klh ? { lambda: klh.lambda } : {}), deadline: timed ? Math.min(end, Date.now() + Math.max(20, budget * 0.04)) : end });
    if (kb) lambda = kb.lambda;
    if (kb && kb.bound > lb) lb = kb.bound;
  }
  // defensive: never hand out an assignment that breaks the model
  if (bestCost < Infinity && !isFeasible(g, best)) throw new CabinError('CABIN_SOLVER_FAILED', 'fast solver produced an infeasible assignment (bug)');
  const res = done(bestCost < Infinity ? best : null, bestCost, lb, it, tBest);
  res.mu = lagMu;
  if (lambda) res.lambda = lambda;
  return res;
}

export function relGap(cost: number, bound: number): number {
  if (!Number.isFinite(cost) || !Number.isFinite(bound)) return Infinity;
  if (cost <= bound) return 0;
  return (cost - bound) / Math.max(Math.abs(bound), 1e-9);
}

/**
 * Greedy construction (Martello–Toth style): jobs in order of regret (how much they lose
 * if they miss their best agent, with costs c_ij + μ_i w_ij), each to its best agent with
 * room left; a job that fits nowhere goes to the agent with the most room (infeasible).
 */
export function greedyAssign(g: Gap, mu: Float64Array): { assignment: Int32Array; cost: number; feasible: boolean } {
  const { m, n, cost, weight, capacity } = g;
  const rest = Float64Array.from(capacity);
  const a = new Int32Array(n).fill(-1);
  const regret = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let b1 = Infinity, b2 = Infinity;
    for (let i = 0; i < m; i++) {
      const w = weight[i * n + j]!;
      if (w === Infinity) continue;
      const v = cost[i * n + j]! + mu[i]! * w;
      if (v < b1) { b2 = b1; b1 = v; } else if (v < b2) b2 = v;
    }
    regret[j] = b2 === Infinity ? Infinity : b2 - b1;
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => regret[y]! - regret[x]!);
  let feasible = true;
  let total = 0;
  for (const j of order) {
    let best = -1, bv = Infinity, roomy = -1, room = -Infinity;
    for (let i = 0; i < m; i++) {
      const w = weight[i * n + j]!;
      if (w === Infinity) continue;
      if (rest[i]! - w > room) { room = rest[i]! - w; roomy = i; }
      if (w > rest[i]! + 1e-9) continue;
      const v = cost[i * n + j]! + mu[i]! * w;
      if (v < bv) { bv = v; best = i; }
    }
    if (best < 0) { feasible = false; best = roomy; }
    a[j] = best;
    rest[best] -= weight[best * n + j]!;
    total += cost[best * n + j]!;
  }
  return { assignment: a, cost: total, feasible };
}
