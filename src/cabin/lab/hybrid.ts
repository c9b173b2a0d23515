// Hybrid fast solver (docs/cabin-history.md §2.1): the fast heuristic, then — on small instances —
// HiGHS on the reduced MILP inside the same time budget, warm-started with the heuristic's
// incumbent. Returns the better of the two, in the fast solver's result shape.
//
// Why: on instances up to a few hundred jobs HiGHS's branch-and-cut (with its own cuts and
// heuristics) improves a good incumbent faster than our local search does, while on large
// instances (≥ ~900 jobs, or tens of thousands of pairs) it rarely even finds a feasible
// point in seconds (bench results, issue 6). The reduced model keeps only pairs whose Lagrangian reduced cost still allows a
// solution better than the incumbent, so the MILP is much smaller than the plain one.
import { lagrangianBound } from '../bound.ts';
import { badOption } from '../errors.ts';
import { solveExact, type ExactResult } from '../exact.ts';
import { relGap, type FastResult } from '../fast.ts';
import { FIRST_PLAN_ITERATIONS } from '../anytime.ts';
import { solveTabu } from './tabu.ts';
import type { Gap } from '../gap.ts';
import { integerWeights } from '../kbound.ts';
import { lagrangianBB } from './lbb.ts';
import { lnsImprove, type LnsResult } from './lns.ts';
import { solveExactInThread, startExactThread } from '../exact-thread.ts';

export interface HybridOptions {
  /** wall-clock budget for the whole solve (default 1000 ms) */
  timeLimitMs?: number;
  seed?: number;
  /** run the MILP phase only when the instance has at most this many usable pairs
   *  (default 20 000; docs/cabin-history.md §2.1 has the measurements) */
  milpMaxPairs?: number;
  /** share of the budget the heuristic gets before the LNS / MILP phases (default 0.4; 0.2
   *  when an LNS phase follows and no MILP phase does) */
  heuristicShare?: number;
  /** strict fixing + cutoff in the MILP phase (ExactOptions.strict; default: budgets up to
   *  3 s — longer runs keep the incumbent as HiGHS's start, which its improvement
   *  heuristics need) */
  strict?: boolean;
  /** 1 (default): one thread, heuristic then MILP phase; 2: the MILP phase runs on a worker
   *  thread while the heuristic keeps searching on the calling thread (best answer wins) */
  threads?: 1 | 2;
  /** with two threads: the heuristic's share before the MILP phase starts (default 0.3 up
   *  to 3 s, else 0.15) */
  threadedShare?: number;
  /** passed to the heuristic phase (FastOptions.knapsackShare) */
  knapsackShare?: number;
  /** Lagrangian branch-and-bound (lbb.ts) as a first phase. Default: on instances with
   *  integer costs and weights whose knapsack tables stay small (n · Σ_i (b_i + 1) ≤ 4·10⁶),
   *  for budgets up to 3 s, and for longer ones up to 200 jobs. A proof ends the run.
   *  Otherwise, up to 3 s its answer is the MILP phase's start; longer runs continue with
   *  the heuristic and MILP phases in the time left and keep the better answer; with no
   *  solution at all the usual path runs. */
  lagrangianBB?: boolean;
  /** the B&B phase's share of the budget (default: up to 3 s 0.85 on instances within
   *  milpMaxPairs, else 0.95; longer budgets 0.2, leaving the heuristic its time) */
  lbbShare?: number;
  /** stop the B&B phase after this many nodes as well (effort-bounded runs and tests) */
  lbbMaxNodes?: number;
  /** most of the time after the heuristic phase the agent-subset LNS (lns.ts) may take
   *  before the MILP phase (default 1 on budgets over 3 s where lnsApplies; 0 = off) */
  lnsShare?: number;
  /** the LNS hands over to the MILP phase after this long without an improvement (and a
   *  quarter of its time so far; default 1 000 ms) */
  lnsStallMs?: number;
  /** …and only once its plan is within this of the bound (default 0.005) */
  lnsStallGap?: number;
  /** where the MILP phase applies, the LNS runs only if the heuristic's gap to its bound
   *  exceeds this (default 0.003: below, HiGHS on the reduced model does better) */
  lnsMinGap?: number;
  /** where the LNS applies but its phase did not run (a close bound), the share of the time
   *  after the heuristic it gets after HiGHS, from HiGHS's answer (default 0.3; 0 = off) */
  lnsTailShare?: number;
  /** effort mode for that LNS tail (LnsOptions.maxMoves): it makes this many moves from
   *  HiGHS's answer whatever time HiGHS left it (tests: HiGHS's wall-clock phase overran into
   *  the tail's time on a loaded machine and the tail never ran) */
  lnsTailMoves?: number;
  /** effort mode for the one-thread heuristic phase (FastOptions.maxIterations): it stops
   *  after this many iterations, not at its share of the budget, so its answer depends only
   *  on the seed (tests). The later phases still get the rest of the budget after the
   *  phase's share, so such a run may take longer than timeLimitMs on a loaded machine. */
  heuristicMaxIterations?: number;
}

/** `r` as the run's answer: its time so far, and when it found its best. */
function total(r: FastResult, t0: number, timeToBestMs: number): FastResult {
  return { ...r, timeMs: Date.now() - t0, timeToBestMs };
}

/** `r` improved by an LNS run that started at `tl` (ms since the epoch; `t0` the run's start). */
function withLns(r: FastResult, ln: LnsResult, t0: number, tl: number): FastResult {
  const lns = { moves: ln.moves, improvements: ln.improvements, stop: ln.stop };
  if (!(ln.cost < r.cost)) return { ...r, lns };
  const gap = relGap(ln.cost, r.lowerBound);
  return { ...r, assignment: ln.assignment, cost: ln.cost, gap, provenOptimal: gap <= 1e-9, timeToBestMs: tl - t0 + ln.timeToBestMs, lns };
}

/** Integer data, and sub-GAPs of a few agents whose knapsack tables stay small. */
export function lnsApplies(g: Gap): boolean {
  if (!g.integerCosts || !integerWeights(g)) return false;
  let maxCap = 0;
  for (let i = 0; i < g.m; i++) maxCap = Math.max(maxCap, Math.floor(g.capacity[i]! + 1e-9));
  return (g.n / g.m) * maxCap <= 300_000;
}

/** Integer data and knapsack DP tables of a sane size: the B&B's preconditions. */
export function lbbApplies(g: Gap): boolean {
  if (!g.integerCosts || !integerWeights(g)) return false;
  let cells = 0;
  for (let i = 0; i < g.m; i++) cells += (Math.max(0, Math.floor(g.capacity[i]! + 1e-9)) + 1) * g.n;
  return cells <= 4e6;
}

/**
 * The B&B path: the LP bound's multipliers (capacity relaxation, a few ms) start the
 * knapsack multipliers; the tree runs until it proves its answer or 95 % of the budget.
 */
function lbbPath(g: Gap, t0: number, budget: number, share: number, maxNodes?: number): FastResult | null {
  const lp = lagrangianBound(g, { maxIterations: 300, deadline: t0 + budget * 0.1 });
  if (lp.bound === -Infinity) return null; // a job with no usable agent: the heuristic path says which
  const r = lagrangianBB(g, { mu: lp.mu, deadline: t0 + budget * share, ...(maxNodes !== undefined ? { maxNodes } : {}) });
  if (!r || !r.assignment) return null;
  const timeMs = Date.now() - t0;
  const lowerBound = Math.max(lp.bound, r.lowerBound);
  return {
    assignment: r.assignment,
    cost: r.cost,
    lowerBound,
    gap: relGap(r.cost, lowerBound),
    provenOptimal: r.provenOptimal,
    timeMs,
    timeToBestMs: r.stats.bestAtMs + (timeMs - r.timeMs),
    iterations: r.nodes,
    unplaceable: [],
    mu: lp.mu,
    lambda: r.lambda,
    milpPhase: 'none',
    method: 'lagrangian-bb',
    nodes: r.nodes,
    ...(r.provenOptimal ? { proof: 'lagrangian-bb' } : {}),
  };
}

export async function solveFastHybrid(g: Gap, opts: HybridOptions = {}): Promise<FastResult> {
  const t0 = Date.now();
  const budget = opts.timeLimitMs ?? 1000;
  const short = budget <= 3000;
  if (opts.lnsShare !== undefined && !(opts.lnsShare >= 0 && opts.lnsShare <= 1)) throw badOption('options.lnsShare must be in [0, 1]');
  // (0 where the LNS does not apply, whatever was asked: every LNS phase below keys on it)
  const lnsShare = lnsApplies(g) ? (opts.lnsShare ?? (short ? 0 : 1)) : 0;
  if (opts.lnsTailShare !== undefined && !(opts.lnsTailShare >= 0 && opts.lnsTailShare < 1))
    throw badOption('options.lnsTailShare must be in [0, 1)');
  if (opts.heuristicShare !== undefined && !(opts.heuristicShare > 0 && opts.heuristicShare <= 1))
    throw badOption('options.heuristicShare must be in (0, 1]');
  if (opts.lbbShare !== undefined && !(opts.lbbShare > 0 && opts.lbbShare <= 1)) throw badOption('options.lbbShare must be in (0, 1]');
  if (opts.lnsTailMoves !== undefined && !(Number.isInteger(opts.lnsTailMoves) && opts.lnsTailMoves > 0))
    throw badOption('options.lnsTailMoves must be a positive integer');
  if (opts.lbbMaxNodes !== undefined && !(Number.isInteger(opts.lbbMaxNodes) && opts.lbbMaxNodes >= 0))
    throw badOption('options.lbbMaxNodes must be an integer ≥ 0');
  const seed = opts.seed ?? 1;
  let pairs = 0;
  for (let i = 0; i < g.m; i++) for (let j = 0; j < g.n; j++) if (g.weight[i * g.n + j]! <= g.capacity[i]! + 1e-9) pairs++;
  const milp = pairs <= (opts.milpMaxPairs ?? 20_000) && (opts.heuristicShare ?? 0.4) < 1;
  // (no MILP phase but an LNS one: the heuristic only has to hand it a good start — on the
  // 900–1600-job instances it finds its best in well under a second)
  const share = opts.heuristicShare ?? (lnsShare > 0 && !milp ? 0.2 : 0.4);
  if (opts.threads !== undefined && opts.threads !== 1 && opts.threads !== 2) throw badOption('options.threads must be 1 or 2');
  // (A 40 000-pair limit on two threads, to cover yagiura's 900×30 and 1600×20 instances,
  // made c201600 18 822 → 18 871 and c30900 10 009 → 10 029 at load ≈ 4.6: the worker took
  // CPU from the heuristic that does the work on those; not kept.)
  // (the clock the phases share out; an effort-bounded heuristic phase that overran its
  // share moves it on by the overrun: heuristicMaxIterations)
  let clock = t0;
  const left = (): number => budget - (Date.now() - clock);
  let h: FastResult | null = null;
  let bb: FastResult | null = null;
  // (not below 0.5 s: on tight instances the B&B's root needs ~0.1–0.3 s before it has any
  // solution, where the heuristic finds one in a few ms — yagiura e10100 at 150 ms)
  const lbbTried = opts.lagrangianBB ?? (lbbApplies(g) && budget >= 500 && (short || g.n <= 200));
  if (lbbTried) {
    // Phase 0 (B&B): proven → done. Unproven, short budgets: its incumbent and multipliers go
    // straight to the MILP phase; longer ones: the heuristic and MILP phases run as usual in
    // the time left and the B&B's incumbent is kept if it is better. No solution at all →
    // the heuristic phase as usual.
    bb = lbbPath(g, t0, budget, opts.lbbShare ?? (short ? (milp ? 0.85 : 0.95) : 0.2), opts.lbbMaxNodes);
    if (bb?.provenOptimal) return bb;
    if (short) h = bb;
  }
  if (!h) {
    const threaded = milp && opts.threads === 2 && !bb && startExactThread();
    if (threaded) return portfolio(g, t0, budget, seed, opts);
    // Phase 1: the heuristic. If it found nothing feasible (a short phase on a loaded machine
    // can miss, issue 6), keep searching with fresh seeds rather than hand HiGHS an empty
    // start: on the instances where this happens HiGHS alone finds poor points or none.
    const rem = left();
    // (the knapsack-Lagrangian phase keys on the heuristic's own budget: keep it on when the
    // whole run is long enough, as without the B&B phase)
    const klh = opts.knapsackShare ?? (bb && g.n <= 200 && budget >= 3000 ? 0.2 : undefined);
    // (after a B&B phase that found nothing, a short run has no time for a MILP phase: the
    // heuristic gets all that is left)
    const heurOnly = lbbTried && short;
    const effort = opts.heuristicMaxIterations;
    const phaseMs = Math.max(1, (milp || lnsShare > 0) && !heurOnly ? rem * share : rem);
    const th = Date.now();
    h = solveTabu(g, { ...(effort !== undefined ? { maxIterations: effort } : { timeLimitMs: phaseMs }), seed, ...(klh !== undefined ? { knapsackShare: klh } : {}) });
    if (effort !== undefined) clock += Math.max(0, Date.now() - th - phaseMs);
    // A time-sliced phase on a loaded machine may end after a few iterations without a plan
    // (tight instances need tens: typeD 10×240 at load 30, issue 19). Then an effort-bounded
    // run gives one whatever the clock — FIRST_PLAN_ITERATIONS tabu iterations, no bound
    // passes, its bound kept — and the phases' clock moves on by its time.
    if (!h.assignment && !h.unplaceable.length) {
      const tf = Date.now();
      const f = solveTabu(g, { maxIterations: FIRST_PLAN_ITERATIONS, seed, finalBounds: false });
      clock += Date.now() - tf;
      if (f.assignment) {
        const lowerBound = Math.max(h.lowerBound, f.lowerBound);
        h = { ...f, lowerBound, gap: relGap(f.cost, lowerBound), timeToBestMs: Date.now() - th };
      }
    }
    for (let s = seed + 1; !h.assignment && !h.unplaceable.length && left() > rem * (milp ? 0.3 : 0.05); s++) {
      const h2 = solveTabu(g, { timeLimitMs: milp ? Math.max(left() - rem * 0.3, rem * 0.1) : left(), seed: s });
      if (h2.assignment || h2.lowerBound > h.lowerBound) h = { ...h2, lowerBound: Math.max(h.lowerBound, h2.lowerBound) };
    }
    // the heuristic started after the B&B phase: its time to best counts from the run's start
    if (rem < budget - 1) h = { ...h, timeToBestMs: h.timeToBestMs + (budget - rem) };
    if (bb) {
      // the B&B's incumbent if better (its bound anyway), as the MILP phase's start
      const lowerBound = Math.max(h.lowerBound, bb.lowerBound);
      const b = bb.assignment && (!h.assignment || bb.cost < h.cost) ? bb : h;
      h = { ...b, lowerBound, gap: relGap(b.cost, lowerBound), provenOptimal: b.assignment !== null && relGap(b.cost, lowerBound) <= 1e-9 };
    }
  }
  // Phase 1b: agent-subset LNS (lns.ts) from the best so far, on integer instances whose
  // sub-GAPs stay cheap to solve exactly
  if (lnsShare > 0 && h.assignment && !h.provenOptimal && !h.unplaceable.length) {
    // a close bound: HiGHS on the reduced model is the better second phase (yagiura c/e
    // 400–900 jobs: the LNS first cost it 1–50 units)
    if (!milp || h.gap > (opts.lnsMinGap ?? 0.003)) {
      const tl = Date.now();
      const r = lnsImprove(g, h.assignment, {
        deadline: tl + left() * (milp ? lnsShare : 1),
        seed,
        ...(h.lambda ? { lambda: h.lambda } : {}),
        // (hand over only near the bound: far from it HiGHS finds nothing in the time left,
        // and the LNS's next improvement may come after a long idle spell — chu d20100)
        ...(milp ? { stallMs: opts.lnsStallMs ?? 1000, stallBelow: h.lowerBound * (1 + (opts.lnsStallGap ?? 0.005)) } : {}),
      });
      if (r) h = withLns(h, r, t0, tl);
    }
  }
  if (!milp || h.unplaceable.length || left() < 20) return { ...total(h, t0, h.timeToBestMs), milpPhase: 'none' };
  // Phase 2: HiGHS on the model reduced with this incumbent and its multipliers; where the
  // LNS applies but did not run (a close bound), it gets the last part of the time from
  // HiGHS's answer (phase 3, below).
  const tail = lnsShare > 0 && !h.lns ? (opts.lnsTailShare ?? 0.3) : 0;
  const ex = await solveExact(g, {
    timeLimitMs: left() * (1 - tail),
    seed,
    heuristicEffort: 0.3,
    warm: h,
    strict: opts.strict ?? budget <= 3000,
  });
  const r2 = afterMilp(h, ex, t0);
  const tailMoves = opts.lnsTailMoves;
  if (tail === 0 || r2.provenOptimal || !r2.assignment || (tailMoves === undefined && left() < 50)) return r2;
  // Phase 3: the LNS from the better answer (HiGHS's time to best is not known: the run's)
  const tl = Date.now();
  const ln = lnsImprove(g, r2.assignment, {
    ...(tailMoves === undefined ? { deadline: tl + left() } : { deadline: Number.MAX_SAFE_INTEGER, maxMoves: tailMoves }),
    seed,
    ...(h.lambda ? { lambda: h.lambda } : {}),
  });
  return ln ? { ...withLns(r2, ln, t0, tl), timeMs: Date.now() - t0 } : r2;
}

/** The hybrid's answer after its MILP phase: HiGHS's if better, else the incumbent's. */
function afterMilp(h: FastResult, ex: ExactResult, t0: number): FastResult {
  const lowerBound = Math.max(h.lowerBound, ex.lowerBound);
  // Never worse than the heuristic's own best (HiGHS keeps the start solution, but a time
  // limit or a numerically odd answer must not cost us it).
  if (!ex.assignment || (h.assignment && h.cost <= ex.cost)) {
    const r = total(h, t0, h.timeToBestMs);
    const proven = r.provenOptimal || (h.assignment !== null && (ex.status === 'optimal' || relGap(h.cost, lowerBound) <= 1e-9));
    return {
      ...r,
      milpPhase: 'main',
      lowerBound,
      gap: relGap(r.cost, lowerBound),
      provenOptimal: proven,
      ...(proven && !r.proof ? { proof: ex.status === 'optimal' ? ex.proof : 'bound' } : {}),
    };
  }
  return milpAnswer(ex, ex.assignment, lowerBound, t0, h.iterations, 'main', h.lns);
}

/** HiGHS's answer, better than the heuristic's, in the fast solver's result shape. */
function milpAnswer(ex: ExactResult, assignment: Int32Array, lowerBound: number, t0: number, iterations: number, milpPhase: 'main' | 'thread', lns: FastResult['lns']): FastResult {
  // HiGHS reports no time of its own improvements: the honest "time to best" is the whole run.
  const timeMs = Date.now() - t0;
  return {
    assignment,
    cost: ex.cost,
    lowerBound,
    gap: relGap(ex.cost, lowerBound),
    provenOptimal: ex.status === 'optimal' || relGap(ex.cost, lowerBound) <= 1e-9,
    timeMs,
    timeToBestMs: timeMs,
    iterations,
    unplaceable: [],
    milpPhase,
    ...(ex.status === 'optimal' ? { proof: ex.proof } : {}),
    ...(lns ? { lns } : {}),
  };
}

/**
 * Two threads: the heuristic for a short first phase (an incumbent and multipliers for the
 * reductions), then HiGHS on the reduced model in the worker thread while the heuristic
 * continues from its incumbent with a fresh seed on this thread; the better answer wins.
 */
async function portfolio(g: Gap, t0: number, budget: number, seed: number, opts: HybridOptions): Promise<FastResult> {
  const left = (): number => budget - (Date.now() - t0);
  const share = opts.threadedShare ?? (budget <= 3000 ? 0.3 : 0.15);
  let h = solveTabu(g, {
    timeLimitMs: budget * share,
    seed,
    ...(opts.knapsackShare !== undefined ? { knapsackShare: opts.knapsackShare } : {}),
  });
  for (let s = seed + 1; !h.assignment && !h.unplaceable.length && left() > budget * 0.3; s++) {
    const h2 = solveTabu(g, { timeLimitMs: Math.max(left() - budget * 0.3, budget * 0.1), seed: s });
    if (h2.assignment || h2.lowerBound > h.lowerBound) h = { ...h2, lowerBound: Math.max(h.lowerBound, h2.lowerBound) };
  }
  if (h.unplaceable.length || left() < 20) return { ...h, timeMs: Date.now() - t0, milpPhase: 'none' };
  const t2 = Date.now() - t0;
  // HiGHS overruns its time limit a little (and the request may wait for the worker to
  // start): aim 3 % early. Cut off at the deadline (null: HiGHS checks its limit only
  // between steps, and a loaded machine starves the worker) the phase has still run, and
  // its answer is its start, the incumbent — as the exact solver's own cut-off
  // (solveExactWithin); only a worker that failed means no MILP phase.
  const milpRun = solveExactInThread(
    g,
    { seed, heuristicEffort: 0.3, warm: h, strict: opts.strict ?? budget <= 3000 },
    t0 + budget * 0.97,
    100,
  ).then((ex) => ({ ex }), () => null);
  // meanwhile: the agent-subset LNS from the incumbent where it applies (budgets over 3 s),
  // else the heuristic again from it (or afresh if it has none)
  const lnsShare = lnsApplies(g) ? (opts.lnsShare ?? (budget > 3000 ? 1 : 0)) : 0;
  const tl = Date.now();
  const ln =
    lnsShare > 0 && h.assignment
      ? lnsImprove(g, h.assignment, { deadline: tl + Math.max(1, left() - 5) * lnsShare, seed, ...(h.lambda ? { lambda: h.lambda } : {}) })
      : null;
  let h2: FastResult;
  // (withLns counts its time to best from t0 + t2, like the heuristic's below)
  if (ln) h2 = { ...withLns(h, ln, t0 + t2, tl), iterations: 0 };
  else h2 = solveTabu(g, { timeLimitMs: Math.max(1, left() - 5), seed: seed + 1000, ...(h.assignment ? { start: h.assignment } : {}) });
  const ran = await milpRun;
  const ex = ran?.ex ?? null;
  let best: FastResult = h;
  let tBest = h.timeToBestMs;
  if (h2.assignment && h2.cost < best.cost - 1e-9) {
    best = h2;
    tBest = t2 + h2.timeToBestMs;
  }
  let lowerBound = Math.max(h.lowerBound, h2.lowerBound, ex ? ex.lowerBound : -Infinity);
  if (ex?.assignment && ex.cost < best.cost - 1e-9) {
    lowerBound = Math.max(lowerBound, ex.status === 'optimal' ? ex.cost : -Infinity);
    return milpAnswer(ex, ex.assignment, lowerBound, t0, h.iterations + h2.iterations, 'thread', h2.lns);
  }
  const timeMs = Date.now() - t0;
  if (ex?.status === 'optimal' && best.assignment && best.cost <= ex.cost + 1e-9) lowerBound = Math.max(lowerBound, best.cost);
  return {
    ...best,
    lowerBound,
    gap: relGap(best.cost, lowerBound),
    provenOptimal: best.assignment !== null && relGap(best.cost, lowerBound) <= 1e-9,
    timeMs,
    timeToBestMs: tBest,
    iterations: h.iterations + h2.iterations,
    milpPhase: ran ? 'thread' : 'none',
    ...(h2.lns ? { lns: h2.lns } : {}),
  };
}
