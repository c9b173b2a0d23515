// Piscina worker entry: one task = one partition's batch (see types.ts for the messages).
// Decoding and pre-aggregation are CPU-bound and independent across partitions, so the
// segment processor hands them to a pool; merging stays on the main thread.
import { Piscina } from 'piscina';
import { packRows, processBatch } from './aggregate.ts';
import { encodedTransferables } from './encode.ts';
import type { BatchResult, BatchTask } from './types.ts';

export default function run(task: BatchTask): BatchResult {
  // Fault hooks for the tests of "a worker that throws or dies is replaced and its batch retried".
  if (task.fault === 'throw') throw new Error('injected worker fault');
  if (task.fault === 'exit') process.exit(1);
  if (task.holdMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, task.holdMs);
  const r = processBatch(task);
  if (r.encoded) {
    // Hand the encoded rows' buffers over instead of copying them (Piscina transfers the list).
    const transfer = [...encodedTransferables(r.encoded), r.keys.ids.buffer, r.keys.windows.buffer, r.keys.offsets.buffer];
    return Piscina.move({ [Piscina.transferableSymbol]: transfer, [Piscina.valueSymbol]: r } as never) as unknown as BatchResult;
  }
  return { ...r, rows: [], packed: packRows(r.rows, task.segment, task.partition) };
}
