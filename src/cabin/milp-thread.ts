// HiGHS in a worker thread (docs/cabin.md §5.2, "portfolio"). One worker per process, started
// on first use and kept (unref'd: it never holds the process open); a crashed worker fails its
// pending calls and is replaced on the next one. Callers fall back to the main thread when the
// worker cannot run (startMilpThread() → false).
import { Worker } from 'node:worker_threads';
import { CabinError } from './errors.ts';
import type { ExactOptions, ExactResult } from './exact.ts';
import type { Gap } from './gap.ts';

let worker: Worker | undefined;
let broken = false;
let nextId = 1;
const pending = new Map<number, { resolve: (r: ExactResult) => void; reject: (e: unknown) => void }>();

function fail(why: string): void {
  for (const p of pending.values()) p.reject(new CabinError('CABIN_SOLVER_FAILED', `MILP worker ${why}`));
  pending.clear();
}

/** Start the worker (idempotent). Returns false if worker threads cannot be used here. */
export function startMilpThread(): boolean {
  if (broken) return false;
  if (worker) return true;
  try {
    const w = new Worker(new URL('./milp-worker.mjs', import.meta.url));
    w.unref();
    w.on('message', (m: { ready?: true; id?: number; ok?: boolean; result?: ExactResult; message?: string }) => {
      if (m.id === undefined) return;
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (pending.size === 0) w.unref();
      if (m.ok && m.result) p.resolve(m.result);
      else p.reject(new CabinError('CABIN_SOLVER_FAILED', `MILP worker: ${m.message ?? 'no result'}`));
    });
    w.on('error', (err: Error) => { if (worker === w) worker = undefined; fail(`failed: ${err.message}`); });
    w.on('exit', (code) => { if (worker === w) worker = undefined; fail(`exited (${code})`); });
    worker = w;
    return true;
  } catch {
    broken = true;
    return false;
  }
}

/** solveExact on the worker thread, to finish by `deadline` (Date.now() ms); rejects if the
 *  worker has not answered 100 ms after it. */
export function solveExactInThread(gap: Gap, opts: ExactOptions, deadline: number): Promise<ExactResult> {
  if (!startMilpThread() || !worker) return Promise.reject(new CabinError('CABIN_SOLVER_FAILED', 'MILP worker unavailable'));
  const w = worker;
  const id = nextId++;
  return new Promise<ExactResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (!pending.delete(id)) return;
      if (pending.size === 0) w.unref();
      reject(new CabinError('CABIN_SOLVER_FAILED', 'MILP worker did not answer in time'));
    }, Math.max(0, deadline - Date.now()) + 100);
    pending.set(id, { resolve: (r) => { clearTimeout(timer); resolve(r); }, reject: (e) => { clearTimeout(timer); reject(e); } });
    w.ref();
    w.postMessage({ id, gap, opts, deadline });
  });
}

/** Stop the worker (tests, CLI exit). */
export async function stopMilpThread(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (w) await w.terminate();
}
