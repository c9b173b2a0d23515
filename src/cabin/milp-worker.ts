// The MILP worker thread: runs solveExact (HiGHS, WebAssembly) on request so the hybrid
// solver's heuristic keeps running on the main thread meanwhile (milp-thread.ts).
import { parentPort } from 'node:worker_threads';
import { loadHighs, solveExact, type ExactOptions } from './exact.ts';
import type { Gap } from './gap.ts';

/** `deadline` (Date.now() ms, one clock for all threads) replaces opts.timeLimitMs: the
 *  request may wait while the worker starts. */
export interface MilpRequest { id: number; gap: Gap; opts: ExactOptions; deadline: number }

const port = parentPort;
if (port) {
  void loadHighs(); // compile the WebAssembly while the first request is being prepared
  port.on('message', (req: MilpRequest) => {
    const ms = req.deadline - Date.now();
    if (ms < 10) { port.postMessage({ id: req.id, ok: false, message: 'deadline passed before the worker was ready' }); return; }
    solveExact(req.gap, { ...req.opts, timeLimitMs: ms }).then(
      (result) => port.postMessage({ id: req.id, ok: true, result }),
      (err: unknown) => port.postMessage({ id: req.id, ok: false, message: err instanceof Error ? err.message : String(err) }),
    );
  });
  port.postMessage({ ready: true });
}
