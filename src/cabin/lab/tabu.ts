// The product's tabu search (../fast.ts) with the laboratory's knapsack-Lagrangian
// heuristic (klh.ts) as its start phase — what the hybrid (hybrid.ts) and the benchmark run.
import { badOption } from '../errors.ts';
import { solveFast, type FastOptions, type FastResult, type PreludeContext, type PreludeResult } from '../fast.ts';
import type { Gap } from '../gap.ts';
import { knapsackHeuristic } from './klh.ts';

export interface TabuOptions extends FastOptions {
  /** share of the budget for the knapsack-Lagrangian heuristic before the search, from the
   *  start of the solve (default 0.2 when time-bounded, with a budget ≥ 3 s and at most 200
   *  jobs, else 0; 0 in effort mode or with `start`; docs/cabin-history.md §2.1 says why) */
  knapsackShare?: number;
}

function klhPrelude(share: number): (g: Gap, ctx: PreludeContext) => PreludeResult | null {
  return (g, ctx) => knapsackHeuristic(g, {
    mu: ctx.mu, upper: ctx.upper, deadline: ctx.startedAt + ctx.budgetMs * share, maxIterations: ctx.timed ? 1e9 : 100,
    ...(ctx.target !== undefined ? { stopAt: ctx.target } : {}),
  });
}

export function solveTabu(g: Gap, opts: TabuOptions = {}): FastResult {
  const { knapsackShare, ...rest } = opts;
  const timed = opts.maxIterations === undefined;
  const budget = opts.timeLimitMs ?? (timed ? 1000 : Infinity);
  const share = knapsackShare ?? (timed && !opts.start && g.n <= 200 && budget >= 3000 ? 0.2 : 0);
  if (!(share >= 0 && share < 0.9)) throw badOption('options.knapsackShare must be in [0, 0.9)');
  return solveFast(g, share > 0 ? { ...rest, prelude: klhPrelude(share) } : rest);
}
