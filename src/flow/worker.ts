// Piscina worker entry: one task = one partition's batch (see types.ts for the messages).
// Decoding and pre-aggregation are CPU-bound and independent across partitions, so the
// segment processor hands them to a pool; merging stays on the main thread.
import { packRows, processBatch } from './aggregate.ts';
import type { BatchResult, BatchTask } from './types.ts';

export default function run(task: BatchTask): BatchResult {
  // Fault hooks for the tests of "a worker that throws or dies is replaced and its batch retried".
  if (task.fault === 'throw') throw new Error('injected worker fault');
  if (task.fault === 'exit') process.exit(1);
  const r = processBatch(task);
  return { ...r, rows: [], packed: packRows(r.rows, task.segment, task.partition) };
}
