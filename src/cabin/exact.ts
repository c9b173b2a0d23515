// Exact GAP solver: the MILP through HiGHS (npm `highs`, WebAssembly), docs/cabin.md §5.1.
//
//   min Σ c_ij x_ij  s.t.  Σ_i x_ij = 1 ∀j,  Σ_j w_ij x_ij ≤ b_i ∀i,  x_ij ∈ {0,1}
//
// What makes it fast here (HiGHS alone on the plain model needs seconds at 100×82):
// 1. pairs that can never be used (w_ij > b_i, deadline missed) get no column;
// 2. the fast solver runs first: its solution is the incumbent and its Lagrangian
//    multipliers drive reduced-cost fixing — a column whose reduced cost lifts the bound
//    above the incumbent's cost cannot be in a better solution and is dropped;
//    a second, stronger bound (Lagrangian relaxation of the assignment constraints, one 0-1
//    knapsack per agent: kbound.ts) fixes more pairs the same way;
// 3. if the incumbent already meets a bound, that is the proof and HiGHS is not called;
// 4. otherwise HiGHS gets the reduced model, the incumbent as a start solution
//    (setSolution) and the time that is left.
import { lagrangianBound, reduceByReducedCost, removeOversizePairs } from './bound.ts';
import { knapsackBound, knapsackFixing } from './kbound.ts';
import { CabinError } from './errors.ts';
import { solveFast, type FastResult } from './fast.ts';
import { assignmentCost, isFeasible, type Gap } from './gap.ts';

type HighsModule = import('highs').Highs;
let highsPromise: Promise<HighsModule> | undefined;
/** HiGHS is loaded once per process (a few ms of WASM compile). */
export function loadHighs(): Promise<HighsModule> {
  // The package is CommonJS with an ESM build; TypeScript's NodeNext view of its default
  // export is the module object, at runtime (ESM condition) it is the loader function.
  highsPromise ??= import('highs').then((mod) => {
    const m = mod as unknown as { default: (() => Promise<HighsModule>) | { default: () => Promise<HighsModule> } };
    return typeof m.default === 'function' ? m.default() : m.default.default();
  });
  return highsPromise;
}

export type ExactStatus = 'optimal' | 'feasible' | 'infeasible' | 'unknown';

export interface ExactResult {
  assignment: Int32Array | null;
  cost: number;
  /** proven lower bound (= cost when optimal) */
  lowerBound: number;
  status: ExactStatus;
  /** what proved or stopped it: 'lagrangian-bound', 'highs:Optimal', 'highs:Time limit reached', ... */
  proof: string;
  timeMs: number;
  columns: number;
  removedPairs: number;
  /** the fast solver's warm start (absent with `plain`): its cost and when it found it */
  warmStart?: { cost: number; timeToBestMs: number; iterations: number };
}

export interface ExactOptions {
  timeLimitMs?: number;
  seed?: number;
  /** skip the fast warm start and the reductions: HiGHS on the plain model (benchmark baseline) */
  plain?: boolean;
  /** ms for the fast solver's warm start (time-bounded; default: effort-bounded, below) */
  warmStartMs?: number;
  /** a warm start already computed by solveFast on this instance (the hybrid's heuristic
   *  phase); replaces the built-in one */
  warm?: FastResult;
  /** tabu iterations of the warm start when `warmStartMs` is not given (default 300) */
  warmStartIterations?: number;
  /** run the knapsack bound/fixing only if LP fixing leaves more columns (default 1500) */
  knapsackMinColumns?: number;
  /** HiGHS mip_heuristic_effort: more effort finds better incumbents sooner when the run is
   *  time-limited rather than proof-driven. When absent and an incumbent is handed to HiGHS,
   *  its primal heuristics are off (`PROOF_ONLY`); otherwise HiGHS's default (0.05). */
  heuristicEffort?: number;
  /** integer costs only: fix every pair that cannot be in a solution of cost ≤ incumbent − 1
   *  (the incumbent's own pairs may go; it stays the fallback), run the knapsack fixing
   *  whatever the column count, and give HiGHS the cutoff incumbent − 1 (objective_bound).
   *  An infeasible reduced model then proves the incumbent optimal. Default false. */
  strict?: boolean;
}

/**
 * HiGHS options when it starts from our incumbent and only has to prove it (or find the
 * few better plans the bound allows): its primal heuristics off. On the paper-style
 * instances (lab/paper-generator.ts) HiGHS solved 20×16 at the root node in 2–4 s, nearly
 * all of it in feasibility jump and the RINS/RENS sub-MIPs; without them, 25–160 ms
 * (docs/cabin.md §5.1).
 */
const PROOF_ONLY = {
  mip_heuristic_effort: 0,
  mip_heuristic_run_feasibility_jump: false,
  mip_heuristic_run_rins: false,
  mip_heuristic_run_rens: false,
  mip_heuristic_run_root_reduced_cost: false,
  mip_heuristic_run_zi_round: false,
  mip_heuristic_run_shifting: false,
} as const;

/** CPLEX LP text of the GAP over the usable pairs; column k is the k-th usable pair. */
export function gapToLp(g: Gap): { lp: string; pairs: Int32Array } {
  const { m, n, cost, weight, capacity } = g;
  const pairs: number[] = [];
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) if (weight[i * n + j] !== Infinity) pairs.push(i * n + j);
  const name = (k: number): string => `x${Math.floor(k / n)}_${k % n}`;
  const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(15));
  const out: string[] = ['Minimize', ' obj:'];
  let line = '';
  for (const k of pairs) {
    const c = cost[k]!;
    line += ` ${c < 0 ? '-' : '+'} ${fmt(Math.abs(c))} ${name(k)}`;
    if (line.length > 200) { out.push(line); line = ''; }
  }
  if (line) out.push(line);
  out.push('Subject To');
  const byJob: number[][] = Array.from({ length: n }, () => []);
  const byAgent: number[][] = Array.from({ length: m }, () => []);
  for (const k of pairs) { byJob[k % n]!.push(k); byAgent[Math.floor(k / n)]!.push(k); }
  for (let j = 0; j < n; j++) out.push(` a${j}: ${byJob[j]!.map(name).join(' + ')} = 1`);
  for (let i = 0; i < m; i++) {
    if (byAgent[i]!.length === 0) continue;
    out.push(` c${i}: ${byAgent[i]!.map((k) => `${fmt(weight[k]!)} ${name(k)}`).join(' + ')} <= ${fmt(capacity[i]!)}`);
  }
  out.push('Binary');
  for (let q = 0; q < pairs.length; q += 20) out.push(' ' + pairs.slice(q, q + 20).map(name).join(' '));
  out.push('End');
  return { lp: out.join('\n'), pairs: Int32Array.from(pairs) };
}

export async function solveExact(input: Gap, opts: ExactOptions = {}): Promise<ExactResult> {
  const t0 = Date.now();
  const limitMs = opts.timeLimitMs ?? 60_000;
  const highs = await loadHighs();
  let g = removeOversizePairs(input).gap;
  let removed = 0;
  let incumbent: Int32Array | null = null;
  let incCost = Infinity;
  let bound = -Infinity;
  let warm: ExactResult['warmStart'];
  let cutoff = false;
  for (let j = 0; j < g.n; j++) {
    let ok = false;
    for (let i = 0; i < g.m; i++) if (g.weight[i * g.n + j] !== Infinity) { ok = true; break; }
    if (!ok) return { assignment: null, cost: Infinity, lowerBound: Infinity, status: 'infeasible', proof: `job ${j} has no usable agent`, timeMs: Date.now() - t0, columns: 0, removedPairs: 0 };
  }
  if (!opts.plain) {
    // Warm start. By default a fixed effort (tabu iterations, bound iterations), so the
    // incumbent — and with it how many pairs get fixed and how big HiGHS's model is — does
    // not depend on the machine's load; `warmStartMs` (the hybrid) bounds it by time instead.
    const seed = opts.seed ?? 1;
    const fast = opts.warm ?? (opts.warmStartMs !== undefined
      ? solveFast(g, { timeLimitMs: opts.warmStartMs, seed })
      : solveFast(g, { maxIterations: opts.warmStartIterations ?? 300, timeLimitMs: limitMs * 0.5, seed }));
    bound = fast.lowerBound;
    warm = { cost: fast.cost, timeToBestMs: fast.timeToBestMs, iterations: fast.iterations };
    if (fast.assignment) {
      incumbent = fast.assignment;
      incCost = fast.cost;
      if (fast.provenOptimal) {
        return { assignment: incumbent, cost: incCost, lowerBound: bound, status: 'optimal', proof: 'lagrangian-bound', timeMs: Date.now() - t0, columns: 0, removedPairs: 0, ...(warm ? { warmStart: warm } : {}) };
      }
      // The fast solver's last bound passes already used this incumbent as their Polyak
      // target: reuse their multipliers instead of climbing again.
      const mu = fast.mu ?? lagrangianBound(g, { upper: incCost, maxIterations: 300 }).mu;
      const strict = opts.strict === true && g.integerCosts;
      const red = reduceByReducedCost(g, mu, incCost, !strict);
      const w2 = red.gap.weight;
      removed = red.removed;
      // The knapsack bound (relaxing the assignment constraints) is stronger than the LP
      // one and fixes more pairs, but each evaluation is m knapsack DPs: skip it when the
      // LP fixing alone already left a small model (HiGHS is quick on those).
      let left = 0;
      for (let k = 0; k < w2.length; k++) if (w2[k] !== Infinity) left++;
      if (left > (opts.knapsackMinColumns ?? 1500) || (strict && left > 0)) {
        let lambda = fast.lambda;
        if (!lambda) {
          const kb = knapsackBound(g, { upper: incCost, mu, maxIterations: 150 });
          if (kb) { bound = Math.max(bound, kb.bound); lambda = kb.lambda; }
        }
        if (bound >= incCost - 1e-9 * Math.max(1, Math.abs(incCost))) {
          return { assignment: incumbent, cost: incCost, lowerBound: incCost, status: 'optimal', proof: 'knapsack-bound', timeMs: Date.now() - t0, columns: 0, removedPairs: 0, ...(warm ? { warmStart: warm } : {}) };
        }
        if (lambda) {
          const fx = knapsackFixing(g, lambda, incCost, !strict);
          for (let k = 0; k < w2.length; k++) if (fx.mask[k] && w2[k] !== Infinity) { w2[k] = Infinity; removed++; }
        }
      }
      g = red.gap;
      cutoff = strict;
    }
  }
  const w = warm ? { warmStart: warm } : {};
  if (cutoff && incumbent) {
    // Strict fixing may leave a job without any pair: then no solution beats the incumbent.
    for (let j = 0; j < g.n; j++) {
      let ok = false;
      for (let i = 0; i < g.m; i++) if (g.weight[i * g.n + j] !== Infinity) { ok = true; break; }
      if (!ok) return { assignment: incumbent, cost: incCost, lowerBound: incCost, status: 'optimal', proof: 'reduced-cost fixing', timeMs: Date.now() - t0, columns: 0, removedPairs: removed, ...w };
    }
  }
  const { lp, pairs } = gapToLp(g);
  const remaining = Math.max(0.05, (limitMs - (Date.now() - t0)) / 1000);
  const model = highs.createModel({ format: 'lp', data: lp });
  try {
    const heuristics = opts.heuristicEffort !== undefined ? { mip_heuristic_effort: opts.heuristicEffort } : incumbent ? PROOF_ONLY : {};
    model.options.set({ output_flag: false, time_limit: remaining, mip_rel_gap: 0, mip_abs_gap: g.integerCosts ? 0.999 : 1e-6, random_seed: opts.seed ?? 1, ...heuristics, ...(cutoff ? { objective_bound: incCost - 1 + 1e-6 } : {}) } as Parameters<typeof model.options.set>[0]);
    const ncol = model.getDimensions().numCols;
    // The LP reader numbers columns in order of first appearance: the objective lists
    // every pair, so column k is pairs[k]. Checked once below.
    if (ncol !== pairs.length) throw new CabinError('CABIN_SOLVER_FAILED', `HiGHS read ${ncol} columns, expected ${pairs.length}`);
    if (ncol > 0 && model.getColName(ncol - 1) !== `x${Math.floor(pairs[ncol - 1]! / g.n)}_${pairs[ncol - 1]! % g.n}`) {
      throw new CabinError('CABIN_SOLVER_FAILED', 'HiGHS column order differs from the LP objective order');
    }
    let startOk = incumbent !== null;
    if (incumbent) for (let j = 0; j < g.n; j++) if (g.weight[incumbent[j]! * g.n + j] === Infinity) { startOk = false; break; }
    if (incumbent && startOk) {
      const start = new Float64Array(ncol);
      for (let k = 0; k < ncol; k++) { const p = pairs[k]!; if (incumbent[p % g.n] === Math.floor(p / g.n)) start[k] = 1; }
      model.setSolution({ colValue: start });
    }
    const run = model.run();
    const S = highs.constants.modelStatus;
    const st = run.modelStatus;
    const statusText: Record<number, string> = { [S.optimal]: 'Optimal', [S.infeasible]: 'Infeasible', [S.timeLimit]: 'Time limit reached', [S.interrupted]: 'Interrupted' };
    const proof = `highs:${statusText[st] ?? `status ${st}`}`;
    let dual = -Infinity;
    try { dual = Number(model.info.get('mip_dual_bound')); } catch { /* not available */ }
    let assignment: Int32Array | null = null;
    let cost = Infinity;
    if (st === S.optimal || st === S.timeLimit || st === S.interrupted) {
      let hasPrimal = false;
      try { hasPrimal = Number(model.info.get('primal_solution_status')) === 2; } catch { hasPrimal = st === S.optimal; }
      if (hasPrimal) {
        const x = model.getSolution().colValue;
        const a = new Int32Array(g.n).fill(-1);
        for (let k = 0; k < ncol; k++) if (x[k]! > 0.5) { const p = pairs[k]!; a[p % g.n] = Math.floor(p / g.n); }
        if (isFeasible(input, a)) { assignment = a; cost = assignmentCost(input, a); }
      }
    }
    if (incumbent && incCost <= cost) { assignment = incumbent; cost = incCost; }
    if (cutoff && incumbent && (st === S.infeasible || st === (S as { objectiveBound?: number }).objectiveBound)) {
      // Nothing of cost ≤ incumbent − 1 exists (integer costs): the incumbent is optimal.
      if (incCost <= cost) return { assignment: incumbent, cost: incCost, lowerBound: incCost, status: 'optimal', proof: `cutoff: ${proof}`, timeMs: Date.now() - t0, columns: ncol, removedPairs: removed, ...w };
    }
    if (st === S.infeasible) {
      // With the incumbent kept in the reduced model this cannot happen; without one the
      // whole instance is infeasible.
      if (assignment) return { assignment, cost, lowerBound: cost, status: 'optimal', proof: 'reduced model infeasible', timeMs: Date.now() - t0, columns: ncol, removedPairs: removed, ...w };
      return { assignment: null, cost: Infinity, lowerBound: Infinity, status: 'infeasible', proof, timeMs: Date.now() - t0, columns: ncol, removedPairs: removed, ...w };
    }
    if (st === S.optimal && assignment) {
      return { assignment, cost, lowerBound: cost, status: 'optimal', proof, timeMs: Date.now() - t0, columns: ncol, removedPairs: removed, ...w };
    }
    const lb = Math.max(bound, Number.isFinite(dual) ? (g.integerCosts ? Math.ceil(dual - 1e-6) : dual) : -Infinity);
    const status: ExactStatus = assignment ? (cost <= lb + 1e-9 ? 'optimal' : 'feasible') : 'unknown';
    return { assignment, cost, lowerBound: lb, status, proof, timeMs: Date.now() - t0, columns: ncol, removedPairs: removed, ...w };
  } finally {
    model.dispose();
  }
}
