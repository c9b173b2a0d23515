// The exact worker thread: runs solveExact (HiGHS, WebAssembly) on request, under a deadline
// the main thread enforces (exact-thread.ts).
import { parentPort } from 'node:worker_threads';
import { loadHighs, solveExact, type ExactOptions } from './exact.ts';
import type { Gap } from './gap.ts';

/** `deadline` (Date.now() ms, one clock for all threads) replaces opts.timeLimitMs: the
 *  request may wait while the worker starts. */
export interface MilpRequest { id: number; gap: Gap; opts: ExactOptions; deadline: number }

const port = parentPort;
if (port) {
  // compile the WebAssembly while the first request is being prepared; then say so
  void loadHighs().then(() => port.postMessage({ ready: true }));
  port.on('message', (req: MilpRequest) => {
    const ms = req.deadline - Date.now();
    if (ms < 10) { port.postMessage({ id: req.id, late: true }); return; }
    // HiGHS checks its limit between steps and the answer must travel back: it gets the time
    // to the deadline less a reserve
    solveExact(req.gap, { ...req.opts, timeLimitMs: ms - Math.max(10, ms * 0.1) }).then(
      (result) => port.postMessage({ id: req.id, ok: true, result }),
      (err: unknown) => port.postMessage({ id: req.id, ok: false, message: err instanceof Error ? err.message : String(err) }),
    );
  });
}
