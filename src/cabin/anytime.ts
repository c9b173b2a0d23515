// The product's fast solver (docs/cabin.md §5.2 "Anytime"): a plan within milliseconds,
// improved while time is left, returned by the time limit.
//
// 0. Greedy by regret on the plain costs: a plan in about a millisecond at 100×82 (under
//    100 ms at 1000×500), better than the GA's on every generated instance measured.
// 1. Tabu search for a fixed effort (FIRST_PLAN_ITERATIONS, not a share of the clock), so
//    this plan's quality does not depend on the machine's load: on a busy machine it comes
//    later, not worse. The budget still bounds it.
// 2. Tabu search from that plan with a share of the time left.
// 3. HiGHS on the model reduced with the incumbent (exact.ts) on a worker thread started at
//    the beginning, for the time that is left; a worker that has not answered by the
//    deadline is terminated (exact-thread.ts). Without a worker (not ready, none possible)
//    the tabu search keeps the time instead.
// Every phase starts from the best plan so far, and the answer is the best of all of them.
import { removeOversizePairs } from './bound.ts';
import { exactThreadReady, solveExactInThread, startExactThread } from './exact-thread.ts';
import { greedyAssign, relGap, solveFast, type FastResult } from './fast.ts';
import type { Gap } from './gap.ts';

export interface AnytimeOptions {
  timeLimitMs?: number;
  seed?: number;
  /** called with every better plan (cost, ms since the start) */
  onPlan?: (cost: number, atMs: number) => void;
  /** run the exact phase on the worker thread when the model is small enough (default true) */
  exactPhase?: boolean;
}

export interface AnytimeResult extends FastResult {
  /** cost and time of the first plan */
  firstPlan: { cost: number; atMs: number } | null;
  /** the phases that ran, in order: greedy, first, tabu, exact:<proof> / exact:late */
  phases: string[];
}

/** Tabu iterations of phase 1 (tens of ms at 100×82 on a quiet core). */
export const FIRST_PLAN_ITERATIONS = 200;
/** The exact phase runs on models of up to this many usable pairs. */
export const EXACT_MAX_PAIRS = 20_000;
/**
 * The promise: `solveAnytime` returns by timeLimitMs + this margin. Every phase checks the
 * clock at least every few ms of CPU and the exact phase is cut off by the main thread;
 * what is left is scheduling (a process that is not given a core at the deadline) and
 * building the answer. Measured with a busy process per core beside it on a machine
 * already at load ≈ 25: up to 7.7 % over at 1 s (docs/cabin.md §5.2).
 */
export function timeMarginMs(limitMs: number): number {
  return Math.max(100, limitMs * 0.1);
}
/** Share of the time left after phase 1 that the tabu search gets before the exact phase. */
const TABU_SHARE = 0.3;

function usablePairs(g: Gap): number {
  let k = 0;
  for (let q = 0; q < g.weight.length; q++) if (g.weight[q] !== Infinity) k++;
  return k;
}

export async function solveAnytime(input: Gap, opts: AnytimeOptions = {}): Promise<AnytimeResult> {
  const t0 = Date.now();
  const limit = opts.timeLimitMs ?? 2000;
  const deadline = t0 + limit;
  const seed = opts.seed ?? 1;
  const left = (): number => deadline - Date.now();
  const g = removeOversizePairs(input).gap;
  const exact = opts.exactPhase !== false && usablePairs(g) <= EXACT_MAX_PAIRS;
  // the worker loads while phases 0–2 run
  const thread = exact && startExactThread();
  const phases: string[] = [];
  let firstPlan: AnytimeResult['firstPlan'] = null;
  let best: FastResult | null = null;
  let bound = -Infinity;
  const take = (r: FastResult, phase: string): void => {
    phases.push(phase);
    bound = Math.max(bound, r.lowerBound);
    if (r.assignment && (!best?.assignment || r.cost < best.cost)) {
      best = { ...r, timeToBestMs: Date.now() - t0 };
      firstPlan ??= { cost: r.cost, atMs: Date.now() - t0 };
      opts.onPlan?.(r.cost, Date.now() - t0);
    } else if (!best) best = r;
  };

  const greedy = greedyAssign(g, new Float64Array(g.m));
  if (greedy.feasible) {
    take({ assignment: greedy.assignment, cost: greedy.cost, lowerBound: -Infinity, gap: Infinity, provenOptimal: false, timeMs: 0, timeToBestMs: 0, iterations: 0, unplaceable: [] }, 'greedy');
  }
  const proven = (): boolean => best?.assignment != null && relGap(best.cost, bound) <= 1e-9;
  const startOf = (): { start: Int32Array } | Record<string, never> => (best?.assignment ? { start: best.assignment } : {});

  take(solveFast(g, { maxIterations: FIRST_PLAN_ITERATIONS, timeLimitMs: Math.max(1, left()), seed, ...startOf() }), 'first');
  const unplaceable = best!.unplaceable;
  if (!unplaceable.length && !proven() && left() > 5) {
    const share = exact && thread ? TABU_SHARE : 1;
    take(solveFast(g, { timeLimitMs: Math.max(1, left() * share), seed: seed + 1, ...startOf() }), 'tabu');
  }
  if (exact && thread && !unplaceable.length && !proven() && best!.assignment && left() > 20) {
    if (!exactThreadReady()) {
      // the worker is still loading: the tabu search keeps the time rather than wait for it
      take(solveFast(g, { timeLimitMs: Math.max(1, left()), seed: seed + 2, ...startOf() }), 'tabu');
    } else {
      const warm = best!;
      const r = await solveExactInThread(g, { warm, seed }, deadline).catch(() => null);
      if (r) {
        take({ ...warm, assignment: r.assignment, cost: r.cost, lowerBound: r.lowerBound }, `exact:${r.proof}`);
        if (r.status === 'optimal' && r.assignment && r.cost <= best!.cost + 1e-9) bound = Math.max(bound, best!.cost);
      } else phases.push('exact:late');
    }
  }
  const b: FastResult = best!;
  const gap = b.assignment ? relGap(b.cost, bound) : Infinity;
  return { ...b, lowerBound: bound, gap, provenOptimal: b.assignment !== null && gap <= 1e-9, unplaceable, timeMs: Date.now() - t0, firstPlan, phases };
}
