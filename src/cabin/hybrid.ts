// Hybrid fast solver (docs/cabin.md §5.2): the fast heuristic, then — on small instances —
// HiGHS on the reduced MILP inside the same time budget, warm-started with the heuristic's
// incumbent. Returns the better of the two, in the fast solver's result shape.
//
// Why: on instances up to a few hundred jobs HiGHS's branch-and-cut (with its own cuts and
// heuristics) improves a good incumbent faster than our local search does, while on large
// instances (≥ ~900 jobs, or tens of thousands of pairs) it rarely even finds a feasible
// point in seconds (bench results, issue 6). The reduced model keeps only pairs whose Lagrangian reduced cost still allows a
// solution better than the incumbent, so the MILP is much smaller than the plain one.
import { badOption } from './errors.ts';
import { solveExact } from './exact.ts';
import { relGap, solveFast, type FastResult } from './fast.ts';
import type { Gap } from './gap.ts';

export interface HybridOptions {
  /** wall-clock budget for the whole solve (default 1000 ms) */
  timeLimitMs?: number;
  seed?: number;
  /** run the MILP phase only when the instance has at most this many usable pairs
   *  (default 10 000: HiGHS's model build and root LP stay well inside the budget) */
  milpMaxPairs?: number;
  /** share of the budget the heuristic gets before the MILP phase (default 0.4) */
  heuristicShare?: number;
}

export async function solveFastHybrid(g: Gap, opts: HybridOptions = {}): Promise<FastResult> {
  const budget = opts.timeLimitMs ?? 1000;
  const share = opts.heuristicShare ?? 0.4;
  if (!(share > 0 && share <= 1)) throw badOption('options.heuristicShare must be in (0, 1]');
  const seed = opts.seed ?? 1;
  let pairs = 0;
  for (let i = 0; i < g.m; i++) for (let j = 0; j < g.n; j++) if (g.weight[i * g.n + j]! <= g.capacity[i]! + 1e-9) pairs++;
  if (pairs > (opts.milpMaxPairs ?? 10_000) || share === 1) return solveFast(g, { timeLimitMs: budget, seed });
  const t0 = Date.now();
  const ex = await solveExact(g, { timeLimitMs: budget, warmStartMs: budget * share, seed, heuristicEffort: 0.3 });
  const timeMs = Date.now() - t0;
  const warm = ex.warmStart;
  const unplaceable: number[] = [];
  if (ex.status === 'infeasible' && !ex.assignment) {
    for (let j = 0; j < g.n; j++) {
      let ok = false;
      for (let i = 0; i < g.m; i++) if (g.weight[i * g.n + j]! <= g.capacity[i]! + 1e-9) { ok = true; break; }
      if (!ok) unplaceable.push(j);
    }
  }
  const gap = ex.assignment ? relGap(ex.cost, ex.lowerBound) : Infinity;
  // HiGHS reports no time of its own improvements: if it beat the warm start, the honest
  // "time to best" is the whole run.
  const improved = !warm || ex.cost < warm.cost - 1e-9;
  return {
    assignment: ex.assignment, cost: ex.cost, lowerBound: ex.lowerBound, gap,
    provenOptimal: ex.assignment !== null && ex.status === 'optimal',
    timeMs, timeToBestMs: improved ? timeMs : warm.timeToBestMs, iterations: warm?.iterations ?? 0, unplaceable,
  };
}
