// Pipelines per partition and the rebalance rule. Per partition, steps run one after
// another on a promise chain; partitions run side by side (which keeps several pool threads
// busy). Every assignment starts a new generation: Kafka re-delivers each partition from its
// commit, so every pipeline starts again from the commit, after the old one's last step.
// The Kafka handler only enqueues, so a slow ClickHouse fills the queue and the handler then
// waits (heartbeating): consumption pauses, nothing is skipped.
import type { Assignment, BatchContext, ConsumedBatch } from '../bus/index.ts';
import { SegmentError } from './errors.ts';
import { keepStopped, stopPartition } from './failures.ts';
import { releaseLease } from './fencing.ts';
import { packBatch } from './packed.ts';
import { recover } from './recovery.ts';
import { PartitionStopped } from './retry.ts';
import { isAlive, sleep, type Pipeline, type SegmentRuntime } from './runtime.ts';
import { step } from './step.ts';

/** Chain `work` on the pipeline; an error other than SEG_ABORTED crashes the processor. */
export function enqueue(rt: SegmentRuntime, pl: Pipeline, work: () => Promise<void>): Promise<void> {
  pl.pending++;
  const p = pl.tail.then(work).catch((err: Error) => {
    if (err instanceof SegmentError && err.code === 'SEG_ABORTED') return;
    if (err instanceof PartitionStopped) {
      stopPartition(rt, pl, err);
      return;
    }
    pl.dead = true;
    rt.crash(err);
  }).finally(() => {
    pl.pending--;
  });
  pl.tail = p;
  return p;
}

/** The partition's pipeline of the current generation (a new one chained on the old one's tail). */
export function pipelineFor(rt: SegmentRuntime, partition: number): Pipeline {
  let pl = rt.pipelines.get(partition);
  if (!pl || pl.generation !== rt.generation) {
    const prev = pl;
    pl = {
      partition, generation: rt.generation, dead: false, pending: 0, recovered: false, state: undefined, dedup: undefined, next: undefined,
      skipWindows: new Set(), packetsFrom: 0, deadLettersFrom: 0, buffer: [], scheduled: false, lastStepAt: -Infinity, wakeStep: undefined,
      // A new incarnation starts only once the old one has finished its in-flight step, so
      // it reads the commit and the stored rows after the old one's last write.
      tail: prev ? prev.tail.then(() => {}, () => {}) : Promise.resolve(),
    };
    rt.pipelines.set(partition, pl);
  }
  return pl;
}

/** The live pipeline of a partition, if it is of this generation and recovered. */
export function livePipeline(rt: SegmentRuntime, partition: number): Pipeline | undefined {
  const pl = rt.pipelines.get(partition);
  return pl && pl.generation === rt.generation && pl.recovered ? pl : undefined;
}

/** After every (re)assignment: kill the old pipelines and recover the assigned partitions. */
export function onAssignment(rt: SegmentRuntime, assignment: Assignment[]): void {
  rt.generation++;
  const assigned = assignment.find((a) => a.topic === rt.topic)?.partitions ?? [];
  for (const pl of rt.pipelines.values()) {
    pl.dead = true;
    // A partition that moved away: give its lease up once its last step is over, so the new
    // owner need not wait for it to expire.
    if (!assigned.includes(pl.partition)) {
      void pl.tail.then(() => releaseLease(rt, pl));
      // Its watermark is the new owner's to report now.
      rt.metrics.watermark.remove({ segment: rt.segment, partition: String(pl.partition) });
    }
  }
  // Recover the new partitions now, while the consumer starts fetching, instead of in
  // their first step: the commit read and the two ClickHouse look-ups took ~0.4 s that
  // the first batch waited for. Each recovery still runs after the old pipeline's last
  // step (pipelineFor chains the tails), so it reads what that step wrote.
  keepStopped(rt, assigned);
  for (const p of assigned) {
    if (rt.stopped.has(p)) continue;
    const pl = pipelineFor(rt, p);
    void enqueue(rt, pl, () => (isAlive(rt, pl) && !pl.recovered ? recover(rt, pl) : Promise.resolve()));
  }
}

/**
 * Step pacing: wait until stepIntervalMs after the partition's last step started, unless the
 * buffer fills up first (then the consumer would wait for the step) or the pipeline dies.
 * Steps start on a grid of the interval shared by every partition of the process, so the
 * partitions that have data step together and their inserts go as one (insertEncoded's
 * combine).
 */
function stepDue(rt: SegmentRuntime, pl: Pipeline, maxQueued: number): Promise<void> {
  const now = performance.now();
  const interval = rt.stepIntervalMs;
  const wait = interval > 0 ? Math.ceil(Math.max(now, pl.lastStepAt + interval) / interval) * interval - now : 0;
  if (wait <= 0 || bufferFull(pl, maxQueued) || !isAlive(rt, pl)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, wait);
    function done(): void {
      clearTimeout(timer);
      pl.wakeStep = undefined;
      resolve();
    }
    pl.wakeStep = done;
  });
}

/**
 * Bytes of packed batches a partition buffers at most before its consumer waits (with
 * maxQueuedBatches): a memory bound whatever the fetch size (a real broker's fetch may be
 * maxBytesPerPartition, 4 MB; a mock-cluster fetch is one produce request).
 */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/** The buffer is full: the step starts now, and the consumer waits for it. */
function bufferFull(pl: Pipeline, maxQueued: number): boolean {
  if (pl.buffer.length >= maxQueued) return true;
  let bytes = 0;
  for (const b of pl.buffer) bytes += b.data.byteLength;
  return bytes >= MAX_QUEUED_BYTES;
}

/** The step grid's tick at or before `t` (a step's timer fires a little after its tick). */
function gridTick(rt: SegmentRuntime, t: number): number {
  return rt.stepIntervalMs > 0 ? Math.floor(t / rt.stepIntervalMs) * rt.stepIntervalMs : t;
}

/** The Kafka batch handler: buffer the batch and schedule a step; wait while the queue is full. */
export function batchHandler(rt: SegmentRuntime, maxQueued: number) {
  return async (batch: ConsumedBatch, ctx: BatchContext): Promise<void> => {
    if (rt.status !== 'running' || batch.topic !== rt.topic || batch.messages.length === 0 || rt.stopped.has(batch.partition)) return;
    const pl = pipelineFor(rt, batch.partition);
    // Batches that arrive while the partition's previous step runs, or before the step
    // interval since its start has passed, are coalesced into the next step: fewer, larger
    // inserts and commits (a mock-cluster fetch is one produce request's messages).
    pl.buffer.push(packBatch(batch.messages, batch.highWatermark));
    if (!pl.scheduled) {
      pl.scheduled = true;
      void enqueue(rt, pl, async () => {
        await stepDue(rt, pl, maxQueued);
        pl.scheduled = false;
        pl.lastStepAt = gridTick(rt, performance.now());
        return step(rt, pl, pl.buffer.splice(0));
      });
    } else if (bufferFull(pl, maxQueued)) pl.wakeStep?.();
    while (bufferFull(pl, maxQueued) && isAlive(rt, pl) && ctx.isRunning()) {
      await sleep(10);
      await ctx.heartbeat().catch(() => {});
    }
  };
}
