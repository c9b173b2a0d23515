// HiGHS on a worker thread with a hard deadline (docs/cabin.md §5.2 "Anytime"): the fast
// solver's exact phase and the laboratory's two-thread hybrid. One worker per process,
// started on first use (or ahead of time with startExactThread) and kept, unref'd so it
// never holds the process open. A call not answered by its deadline resolves to null and
// the worker is terminated — HiGHS's own time limit is checked only between its steps, so
// this is what makes a time limit a promise; the next call starts a new worker.
import { Worker } from 'node:worker_threads';
import { CabinError } from './errors.ts';
import { removeOversizePairs } from './bound.ts';
import { solveExact, warmStart, type ExactOptions, type ExactResult } from './exact.ts';
import type { Gap } from './gap.ts';

let worker: Worker | undefined;
let ready = false;
let broken = false;
let nextId = 1;
const pending = new Map<number, { worker: Worker; resolve: (r: ExactResult | null) => void; reject: (e: unknown) => void }>();

/** Fail the calls a worker that stopped was running (not those of its successor). */
function fail(w: Worker, why: string): void {
  for (const [id, p] of pending) {
    if (p.worker !== w) continue;
    pending.delete(id);
    p.reject(new CabinError('CABIN_SOLVER_FAILED', `exact worker ${why}`));
  }
}

/** Start the worker (idempotent). Returns false if worker threads cannot be used here. */
export function startExactThread(): boolean {
  if (broken) return false;
  if (worker) return true;
  try {
    const w = new Worker(new URL('./exact-worker.mjs', import.meta.url));
    w.unref();
    w.on('message', (m: { ready?: true; id?: number; ok?: boolean; late?: true; result?: ExactResult; message?: string }) => {
      if (m.ready) { if (worker === w) ready = true; return; }
      if (m.id === undefined) return;
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (![...pending.values()].some((p) => p.worker === w)) w.unref();
      if (m.late) p.resolve(null); // it arrived after its deadline: not run
      else if (m.ok && m.result) p.resolve(m.result);
      else p.reject(new CabinError('CABIN_SOLVER_FAILED', `exact worker: ${m.message ?? 'no result'}`));
    });
    w.on('error', (err: Error) => { if (worker === w) { worker = undefined; ready = false; } fail(w, `failed: ${err.message}`); });
    w.on('exit', (code) => { if (worker === w) { worker = undefined; ready = false; } fail(w, `exited (${code})`); });
    worker = w;
    ready = false;
    return true;
  } catch {
    broken = true;
    return false;
  }
}

/** True once the worker has loaded its modules and HiGHS and can take a request at once. */
export function exactThreadReady(): boolean {
  return worker !== undefined && ready;
}

/** solveExact on the worker thread, answered by `deadline` (Date.now() ms) + `graceMs`: null
 *  if the worker had not answered then (it is terminated). Rejects if the worker fails. */
export function solveExactInThread(gap: Gap, opts: ExactOptions, deadline: number, graceMs = 0): Promise<ExactResult | null> {
  if (deadline + graceMs <= Date.now()) return Promise.resolve(null); // no time: not run
  if (!startExactThread() || !worker) return Promise.reject(new CabinError('CABIN_SOLVER_FAILED', 'exact worker unavailable'));
  const w = worker;
  const id = nextId++;
  return new Promise<ExactResult | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (!pending.delete(id)) return;
      if (worker === w) { worker = undefined; ready = false; }
      void w.terminate();
      resolve(null);
    }, Math.max(0, deadline + graceMs - Date.now()));
    pending.set(id, { worker: w, resolve: (r) => { clearTimeout(timer); resolve(r); }, reject: (e) => { clearTimeout(timer); reject(e); } });
    w.ref();
    w.postMessage({ id, gap, opts, deadline });
  });
}

/** Stop the worker (tests, CLI exit). */
export async function stopExactThread(): Promise<void> {
  const w = worker;
  worker = undefined;
  ready = false;
  if (w) await w.terminate();
}

/**
 * The exact solver with its time limit kept as a promise (the `exact` solver of `allocate`
 * and `iov allocate`; docs/cabin.md §5.1): the warm start runs here, HiGHS on the worker,
 * which is cut off at the deadline — HiGHS's presolve and parts of its root node cannot be
 * interrupted from inside. Cut off (or the worker still loading), the answer is the warm
 * start's plan with status 'feasible' and its Lagrangian bound. Without worker threads,
 * solveExact runs here (its interrupt callbacks then keep the limit, except in presolve).
 */
export async function solveExactWithin(input: Gap, opts: { timeLimitMs: number; seed: number }): Promise<ExactResult> {
  const t0 = Date.now();
  const deadline = t0 + opts.timeLimitMs;
  const g = removeOversizePairs(input).gap;
  const warm = warmStart(g, opts);
  const w = { warmStart: { cost: warm.cost, timeToBestMs: warm.timeToBestMs, iterations: warm.iterations } };
  const incumbent = (proof: string): ExactResult => ({
    assignment: warm.assignment, cost: warm.cost, lowerBound: warm.lowerBound,
    status: warm.assignment ? (warm.provenOptimal ? 'optimal' : 'feasible') : warm.unplaceable.length ? 'infeasible' : 'unknown',
    proof, timeMs: Date.now() - t0, columns: 0, removedPairs: 0, ...w,
  });
  if (warm.provenOptimal) return incumbent('lagrangian-bound');
  if (warm.unplaceable.length) return incumbent(`job ${warm.unplaceable[0]} has no usable agent`);
  // no plan yet: HiGHS looks for one or proves there is none
  // started only now: most small instances are proven by the warm start's bound alone
  if (!startExactThread()) return solveExact(input, { seed: opts.seed, warm, timeLimitMs: Math.max(1, deadline - Date.now()) });
  // the worker is cut off a little before the limit: the answer still has to be built and
  // returned by a process that waits for a core at every wake-up on a loaded machine
  const cutoff = deadline - Math.min(50, opts.timeLimitMs * 0.05);
  const r = await solveExactInThread(g, { seed: opts.seed, warm }, cutoff).catch(() => null);
  if (!r) return incumbent(warm.assignment ? 'time limit: HiGHS cut off' : 'time limit: no plan found');
  return { ...r, timeMs: Date.now() - t0 };
}
