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
import { lagrangianBound, pairBounds, reduceByReducedCost, removeOversizePairs } from './bound.ts';
import { knapsackBound, knapsackFixing } from './kbound.ts';
import { CabinError } from './errors.ts';
import { greedyAssign, relGap, solveFast, type FastResult } from './fast.ts';
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
  /** wall ms per phase: warm start + fixing, core, proof */
  phaseMs?: { warm: number; core: number; proof: number; coreColumns: number };
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
  /** extra HiGHS options, applied last (experiments; e.g. { output_flag: true }) */
  highsOptions?: Record<string, unknown>;
  /** HiGHS's log lines (experiments) */
  onLog?: (line: string) => void;
  /** the core phase (CORE below): pairs within this share of the way from the bound to the
   *  incumbent; 0 = off. Default CORE.share, off when `heuristicEffort` is given. */
  core?: number;
}

/**
 * The core phase (docs/cabin.md §5.1): before the proof, HiGHS (with its primal heuristics)
 * looks for a better plan on the pairs whose forced-in bound lies within `share` of the way
 * from the bound to the incumbent, for at most 20 nodes and `timeShare` of the time left;
 * a better plan fixes more pairs for the proof. Measured on paper-style 100×82 seeds
 * 101–110 (docs/cabin-history.md): the warm start was 0.02–0.7 % above the optimum, the
 * core run found the optimum on all ten, and the proof's model shrank by up to 3.6×.
 * Presolve is off in both runs: its probing took 1–2 s of a 171-row model and cannot be
 * interrupted.
 */
const CORE = { share: 0.1, timeShare: 0.3, highs: { mip_max_nodes: 20, presolve: 'off' } } as const;

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

/**
 * The exact solver's warm start: by default a fixed effort (tabu iterations, bound
 * iterations), so the incumbent — and with it how many pairs get fixed and how big HiGHS's
 * model is — does not depend on the machine's load; the time limit only guards it (40 % of
 * the limit). `warmStartMs` (the hybrid) bounds it by time instead.
 */
export function warmStart(g: Gap, opts: ExactOptions): FastResult {
  const seed = opts.seed ?? 1;
  if (opts.warmStartMs !== undefined) return solveFast(g, { timeLimitMs: opts.warmStartMs, seed });
  const r = solveFast(g, { maxIterations: opts.warmStartIterations ?? 300, timeLimitMs: (opts.timeLimitMs ?? 60_000) * 0.4, seed });
  if (r.assignment || r.unplaceable.length) return r;
  // cut short before the tabu search found a plan (a short limit on a busy machine): the
  // greedy plan, if it is one, so that the limit never leaves the caller without a plan
  const gr = greedyAssign(g, r.mu ?? new Float64Array(g.m));
  return gr.feasible ? { ...r, assignment: gr.assignment, cost: gr.cost, gap: relGap(gr.cost, r.lowerBound) } : r;
}

/** What one HiGHS run on a (reduced) GAP gave. */
interface HighsAnswer {
  /** best feasible assignment of the original GAP HiGHS found, or null */
  assignment: Int32Array | null;
  cost: number;
  /** HiGHS's model status, as 'highs:<text>' */
  proof: string;
  optimal: boolean;
  infeasible: boolean;
  /** the run stopped on the objective bound (cutoff) */
  cutoff: boolean;
  /** HiGHS's dual bound (−Infinity when it has none) */
  dual: number;
  columns: number;
}

interface HighsRun {
  /** the GAP whose costs and feasibility the answer is checked against */
  input: Gap;
  /** the (reduced) GAP HiGHS gets */
  g: Gap;
  /** start solution (used only if every one of its pairs is in `g`) */
  start: Int32Array | null;
  /** Date.now() ms by which run() must have returned (interrupt callbacks + time_limit) */
  deadline: number;
  options: Record<string, unknown>;
  onLog?: ((line: string) => void) | undefined;
}

/**
 * One HiGHS run. The deadline is kept by HiGHS's interrupt callbacks (checked at every
 * simplex iteration and MIP checkpoint), not only by its `time_limit`, which it checks
 * between steps (1.02–2.9 s seen for a 1 s limit under load, docs/cabin.md §5.1).
 */
function runHighs(highs: HighsModule, run: HighsRun): HighsAnswer {
  const { input, g } = run;
  const { lp, pairs } = gapToLp(g);
  const model = highs.createModel({ format: 'lp', data: lp });
  try {
    const remaining = Math.max(0.01, (run.deadline - Date.now()) / 1000);
    model.options.set({ output_flag: run.onLog !== undefined, time_limit: remaining, ...run.options } as Parameters<typeof model.options.set>[0]);
    const ncol = model.getDimensions().numCols;
    // The LP reader numbers columns in order of first appearance: the objective lists
    // every pair, so column k is pairs[k]. Checked once below.
    if (ncol !== pairs.length) throw new CabinError('CABIN_SOLVER_FAILED', `HiGHS read ${ncol} columns, expected ${pairs.length}`);
    if (ncol > 0 && model.getColName(ncol - 1) !== `x${Math.floor(pairs[ncol - 1]! / g.n)}_${pairs[ncol - 1]! % g.n}`) {
      throw new CabinError('CABIN_SOLVER_FAILED', 'HiGHS column order differs from the LP objective order');
    }
    const start = run.start;
    if (start && ncol > 0 && start.every((i, j) => g.weight[i * g.n + j] !== Infinity)) {
      const x = new Float64Array(ncol);
      for (let k = 0; k < ncol; k++) { const p = pairs[k]!; if (start[p % g.n] === Math.floor(p / g.n)) x[k] = 1; }
      model.setSolution({ colValue: x });
    }
    const CB = highs.constants.callbackType;
    const stop = (e: { interrupt(): void }): undefined => { if (Date.now() >= run.deadline) e.interrupt(); return undefined; };
    const result = model.run({
      [CB.simplexInterrupt]: stop,
      [CB.mipInterrupt]: stop,
      ...(run.onLog ? { [CB.logging]: (e: { message: string }): undefined => { run.onLog!(e.message); return undefined; } } : {}),
    });
    const S = highs.constants.modelStatus;
    const st = result.modelStatus;
    const statusText: Record<number, string> = { [S.optimal]: 'Optimal', [S.infeasible]: 'Infeasible', [S.timeLimit]: 'Time limit reached', [S.interrupted]: 'Interrupted', [S.objectiveBound]: 'Objective bound' };
    let dual = -Infinity;
    try { dual = Number(model.info.get('mip_dual_bound')); } catch { /* not available */ }
    let assignment: Int32Array | null = null;
    let cost = Infinity;
    let hasPrimal = false;
    try { hasPrimal = Number(model.info.get('primal_solution_status')) === 2; } catch { hasPrimal = st === S.optimal; }
    if (hasPrimal && ncol > 0) {
      const x = model.getSolution().colValue;
      const a = new Int32Array(g.n).fill(-1);
      for (let k = 0; k < ncol; k++) if (x[k]! > 0.5) { const p = pairs[k]!; a[p % g.n] = Math.floor(p / g.n); }
      if (isFeasible(input, a)) { assignment = a; cost = assignmentCost(input, a); }
    }
    return {
      assignment, cost, proof: `highs:${statusText[st] ?? `status ${st}`}`,
      optimal: st === S.optimal, infeasible: st === S.infeasible, cutoff: st === S.objectiveBound,
      dual: Number.isFinite(dual) ? dual : -Infinity, columns: ncol,
    };
  } finally {
    model.dispose();
  }
}

/** Resolves to null at `deadline` (Date.now() ms); the timer does not hold the process. */
function sleepUntil(deadline: number): Promise<null> {
  return new Promise((resolve) => { setTimeout(() => resolve(null), Math.max(0, deadline - Date.now())).unref(); });
}

/** Jobs left without any usable pair (an empty list: every job can still be placed). */
function jobsWithoutPairs(g: Gap): number[] {
  const out: number[] = [];
  for (let j = 0; j < g.n; j++) {
    let ok = false;
    for (let i = 0; i < g.m; i++) if (g.weight[i * g.n + j] !== Infinity) { ok = true; break; }
    if (!ok) out.push(j);
  }
  return out;
}

/**
 * The core: the pairs whose bound when forced in (`pairBound`) lies within `share` of the
 * way from the lower bound to the incumbent's cost, plus the incumbent's own pairs. Good
 * plans use cheap pairs, so HiGHS finds a better incumbent on this small model quickly.
 */
function coreGap(g: Gap, pairBound: Float64Array, bound: number, incCost: number, incumbent: Int32Array, share: number): Gap {
  const limit = bound + share * (incCost - bound);
  const w = new Float64Array(g.weight.length).fill(Infinity);
  for (let k = 0; k < w.length; k++) if (g.weight[k] !== Infinity && pairBound[k]! <= limit) w[k] = g.weight[k]!;
  for (let j = 0; j < g.n; j++) { const k = incumbent[j]! * g.n + j; w[k] = g.weight[k]!; }
  return { ...g, weight: w };
}

export async function solveExact(input: Gap, opts: ExactOptions = {}): Promise<ExactResult> {
  const t0 = Date.now();
  const limitMs = opts.timeLimitMs ?? 60_000;
  const deadline = t0 + limitMs;
  // HiGHS compiles while the warm start runs; a run that is out of time before it is ready
  // returns without it (a cold start under load can take longer than a short limit)
  const highsReady = loadHighs();
  let g = removeOversizePairs(input).gap;
  let removed = 0;
  let incumbent: Int32Array | null = null;
  let incCost = Infinity;
  let bound = -Infinity;
  let warm: ExactResult['warmStart'];
  let cutoff = false;
  const phaseMs = { warm: 0, core: 0, proof: 0, coreColumns: 0 };
  let tPhase = t0;
  const lap = (k: 'warm' | 'core' | 'proof'): void => { const t = Date.now(); phaseMs[k] += t - tPhase; tPhase = t; };
  const done = (r: Omit<ExactResult, 'timeMs' | 'warmStart'>): ExactResult => ({ ...r, timeMs: Date.now() - t0, ...(warm ? { warmStart: warm } : {}), phaseMs });
  const lost = jobsWithoutPairs(g);
  if (lost.length) return done({ assignment: null, cost: Infinity, lowerBound: Infinity, status: 'infeasible', proof: `job ${lost[0]} has no usable agent`, columns: 0, removedPairs: 0 });
  let mu: Float64Array | undefined;
  let lambda: Float64Array | undefined;
  if (!opts.plain) {
    // Warm start. By default a fixed effort (tabu iterations, bound iterations), so the
    // incumbent — and with it how many pairs get fixed and how big HiGHS's model is — does
    // not depend on the machine's load; `warmStartMs` (the hybrid) bounds it by time instead.
    const fast = opts.warm ?? warmStart(g, opts);
    bound = fast.lowerBound;
    warm = { cost: fast.cost, timeToBestMs: fast.timeToBestMs, iterations: fast.iterations };
    if (fast.assignment) {
      incumbent = fast.assignment;
      incCost = fast.cost;
      if (fast.provenOptimal) return done({ assignment: incumbent, cost: incCost, lowerBound: bound, status: 'optimal', proof: 'lagrangian-bound', columns: 0, removedPairs: 0 });
      // The fast solver's last bound passes already used this incumbent as their Polyak
      // target: reuse their multipliers instead of climbing again.
      mu = fast.mu ?? lagrangianBound(g, { upper: incCost, maxIterations: 300 }).mu;
      lambda = fast.lambda;
    }
  }
  const strict = opts.strict === true && g.integerCosts;
  /** Reduced-cost fixing (LP, then knapsack) of `base` against the incumbent. */
  const fix = (base: Gap): { gap: Gap; removed: number; provenBy?: string } => {
    const red = reduceByReducedCost(base, mu!, incCost, !strict);
    const w2 = red.gap.weight;
    let rem = red.removed;
    // The knapsack bound (relaxing the assignment constraints) is stronger than the LP
    // one and fixes more pairs, but each evaluation is m knapsack DPs: skip it when the
    // LP fixing alone already left a small model (HiGHS is quick on those).
    let left = 0;
    for (let k = 0; k < w2.length; k++) if (w2[k] !== Infinity) left++;
    if (left > (opts.knapsackMinColumns ?? 1500) || (strict && left > 0)) {
      if (!lambda) {
        const kb = knapsackBound(base, { upper: incCost, mu: mu!, maxIterations: 150, deadline });
        if (kb) { bound = Math.max(bound, kb.bound); lambda = kb.lambda; }
      }
      if (bound >= incCost - 1e-9 * Math.max(1, Math.abs(incCost))) return { gap: red.gap, removed: rem, provenBy: 'knapsack-bound' };
      if (lambda) {
        const fx = knapsackFixing(base, lambda, incCost, !strict);
        for (let k = 0; k < w2.length; k++) if (fx.mask[k] && w2[k] !== Infinity) { w2[k] = Infinity; rem++; }
      }
    }
    return { gap: red.gap, removed: rem };
  };
  const full = g;
  if (incumbent) {
    const f = fix(full);
    if (f.provenBy) return done({ assignment: incumbent, cost: incCost, lowerBound: incCost, status: 'optimal', proof: f.provenBy, columns: 0, removedPairs: 0 });
    g = f.gap;
    removed = f.removed;
    cutoff = strict;
  }
  if (cutoff && incumbent && jobsWithoutPairs(g).length) {
    // Strict fixing may leave a job without any pair: then no solution beats the incumbent.
    return done({ assignment: incumbent, cost: incCost, lowerBound: incCost, status: 'optimal', proof: 'reduced-cost fixing', columns: 0, removedPairs: removed });
  }
  const seedOpt = { random_seed: opts.seed ?? 1, mip_rel_gap: 0, mip_abs_gap: g.integerCosts ? 0.999 : 1e-6 };
  lap('warm');
  const highs = await Promise.race([highsReady, sleepUntil(deadline)]);
  if (!highs || Date.now() >= deadline) {
    // out of time before HiGHS could run: the incumbent, with the bound proven so far
    if (!incumbent) return done({ assignment: null, cost: Infinity, lowerBound: bound, status: 'unknown', proof: 'time limit before the proof', columns: 0, removedPairs: removed });
    return done({ assignment: incumbent, cost: incCost, lowerBound: bound, status: incCost <= bound + 1e-9 ? 'optimal' : 'feasible', proof: 'time limit before the proof', columns: 0, removedPairs: removed });
  }
  // the core phase serves proofs: off when the caller asks for HiGHS's heuristics instead
  const coreShare = opts.core ?? (opts.heuristicEffort === undefined ? CORE.share : 0);
  if (incumbent && coreShare > 0 && Date.now() < deadline) {
    // Improve the incumbent on the core first (HiGHS with its heuristics, a share of the
    // time), then fix again against the better plan: the proof's model is smaller.
    const pb = pairBounds(full, mu!, lambda);
    const core = coreGap(g, pb.forced, Math.max(bound, pb.bound), incCost, incumbent, coreShare);
    const c = runHighs(highs, { input, g: core, start: incumbent, deadline: Math.min(deadline, Date.now() + (deadline - Date.now()) * CORE.timeShare), options: { ...seedOpt, ...CORE.highs }, onLog: opts.onLog });
    phaseMs.coreColumns = c.columns;
    if (c.assignment && c.cost < incCost - 1e-9 * Math.max(1, incCost)) {
      incumbent = c.assignment;
      incCost = c.cost;
      const f = fix(full);
      if (f.provenBy) return done({ assignment: incumbent, cost: incCost, lowerBound: incCost, status: 'optimal', proof: f.provenBy, columns: 0, removedPairs: 0 });
      g = f.gap;
      removed = f.removed;
    }
    lap('core');
  }
  if (Date.now() >= deadline && incumbent) {
    return done({ assignment: incumbent, cost: incCost, lowerBound: bound, status: incCost <= bound + 1e-9 ? 'optimal' : 'feasible', proof: 'time limit before the proof', columns: 0, removedPairs: removed });
  }
  const heuristics = opts.heuristicEffort !== undefined ? { mip_heuristic_effort: opts.heuristicEffort } : incumbent ? { ...PROOF_ONLY, presolve: 'off' } : {};
  const h = runHighs(highs, {
    input, g, start: incumbent, deadline,
    options: { ...seedOpt, ...heuristics, ...(cutoff ? { objective_bound: incCost - 1 + 1e-6 } : {}), ...opts.highsOptions },
    onLog: opts.onLog,
  });
  lap('proof');
  let assignment = h.assignment;
  let cost = h.cost;
  const ncol = h.columns;
  if (incumbent && incCost <= cost) { assignment = incumbent; cost = incCost; }
  if (cutoff && incumbent && (h.infeasible || h.cutoff)) {
    // Nothing of cost ≤ incumbent − 1 exists (integer costs): the incumbent is optimal.
    if (incCost <= cost) return done({ assignment: incumbent, cost: incCost, lowerBound: incCost, status: 'optimal', proof: `cutoff: ${h.proof}`, columns: ncol, removedPairs: removed });
  }
  if (h.infeasible) {
    // With the incumbent kept in the reduced model this cannot happen; without one the
    // whole instance is infeasible.
    if (assignment) return done({ assignment, cost, lowerBound: cost, status: 'optimal', proof: 'reduced model infeasible', columns: ncol, removedPairs: removed });
    return done({ assignment: null, cost: Infinity, lowerBound: Infinity, status: 'infeasible', proof: h.proof, columns: ncol, removedPairs: removed });
  }
  if (h.optimal && assignment) return done({ assignment, cost, lowerBound: cost, status: 'optimal', proof: h.proof, columns: ncol, removedPairs: removed });
  const lb = Math.max(bound, Number.isFinite(h.dual) ? (g.integerCosts ? Math.ceil(h.dual - 1e-6) : h.dual) : -Infinity);
  const status: ExactStatus = assignment ? (cost <= lb + 1e-9 ? 'optimal' : 'feasible') : 'unknown';
  return done({ assignment, cost, lowerBound: lb, status, proof: h.proof, columns: ncol, removedPairs: removed });
}
