// One segment's processor: consume iov.seg.<id>.packets → decode + pre-aggregate in a pool →
// merge per partition → write packets and closed windows to the segment cloud's ClickHouse →
// commit. Exactly-once and crash-safe by construction; the argument is in docs/segment.md.
//
// This file is the composition and the lifecycle (start, stop, stats). Each rule has its own
// home: recovery.ts (resume state), step.ts (the order of one step), sink.ts (inserts),
// retry.ts (backoff), dead-letters.ts, commit.ts (commit metadata), pipelines.ts (per-partition
// chains and the rebalance), drain.ts (end of stream).
import { DEFAULT_WORKERS, partitionsFor } from '../topology/index.ts';
import type { BatchRunner } from './pool.ts';
import { DEFAULT_MAX_QUEUED_BATCHES } from './options.ts';
import { inProcessRunner, piscinaRunner } from './pool.ts';
import { checkPartitionCount, parseCommitMeta } from './commit.ts';
import { drainAll, settleAll } from './drain.ts';
import { releaseLease, startRenewal } from './fencing.ts';
import { SegmentError } from './errors.ts';
import { validateOptions } from './options.ts';
import { batchHandler, onAssignment } from './pipelines.ts';
import { createRuntime, type SegmentRuntime } from './runtime.ts';
import { ensurePacketColumns } from './stored.ts';
import type { SegmentProcessor, SegmentProcessorOptions } from './types.ts';

export function createSegmentProcessor(opts: SegmentProcessorOptions): SegmentProcessor {
  validateOptions(opts);
  const rt: SegmentRuntime = createRuntime(opts);
  const { segment, topic, bus, store, metrics, log } = rt;
  // The composition root passes the plan's replicas (src/runtime workers()).
  const workers = opts.workers ?? DEFAULT_WORKERS;
  const maxQueued = opts.maxQueuedBatches ?? DEFAULT_MAX_QUEUED_BATCHES;
  let utilTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let stopRenewal = () => {};

  rt.crash = (err) => {
    if (rt.status !== 'running') return;
    rt.status = 'crashed';
    rt.crashedWith = err;
    for (const pl of rt.pipelines.values()) pl.dead = true;
    log.error({ err: err.message }, new SegmentError('SEG_CRASHED', [segment, err.message]).message);
    // Stop consuming at once; stop() completes the shutdown.
    stopping ??= shutdown();
    opts.onCrash?.(err);
  };

  function onWorkerFailure(err: Error, partition: number, attempt: number): void {
    rt.counters.workerFailures++;
    metrics.workerFailures.inc(rt.labels);
    log.warn({ partition, attempt }, new SegmentError('SEG_WORKER_FAILED', [partition, attempt, err.message]).message);
  }

  async function shutdown(): Promise<void> {
    if (utilTimer) clearInterval(utilTimer);
    stopRenewal();
    await rt.consumer?.stop().catch(() => {});
    await Promise.allSettled([...rt.pipelines.values()].map((pl) => pl.tail));
    await Promise.all([...rt.pipelines.values()].map((pl) => releaseLease(rt, pl)));
    await rt.runner?.destroy().catch(() => {});
  }

  return {
    segmentId: segment,
    async start() {
      if (rt.status !== 'idle') throw new SegmentError('SEG_INVALID_OPTION', ['start', 'can be called once']);
      await store.migrate();
      await ensurePacketColumns(store);
      const seg = opts.topology?.segments.find((s) => s.id === segment);
      // Commands create the topics first at the plan's size (src/runtime ensureTopics()); this
      // covers a processor built alone, and never grows a topic.
      await bus.ensureTopics([{ topic, partitions: seg ? partitionsFor(seg) : 1 }, { topic: rt.dlqTopic, partitions: 1 }]);
      rt.partitionCount = await bus.partitionCount(topic);
      const consumer = bus.consumer({ groupId: rt.groupId, topics: [topic], fromBeginning: true, maxBytesPerPartition: opts.maxBytesPerPartition ?? 4 * 1024 * 1024 });
      rt.consumer = consumer;
      // Before anything is consumed: a group committed under another partition count would
      // count vehicles twice (recovery checks again after every rebalance).
      for (const c of await consumer.committed(topic)) {
        try {
          checkPartitionCount(topic, parseCommitMeta(c.metadata), rt.partitionCount);
        } catch (err) {
          rt.status = 'stopped';
          throw err;
        }
      }
      const hooks = { workerFault: rt.faults.workerFault, onFailure: onWorkerFailure };
      const runner: BatchRunner = workers > 0 ? piscinaRunner(workers, hooks) : inProcessRunner(hooks);
      rt.runner = runner;
      await runner.warm();
      consumer.onAssign((assignment) => onAssignment(rt, assignment));
      rt.status = 'running';
      stopRenewal = startRenewal(rt);
      utilTimer = setInterval(() => metrics.poolUtilization.set(rt.labels, runner.utilization()), 1000);
      utilTimer.unref();
      await consumer.run(batchHandler(rt, maxQueued));
    },
    async stop() {
      if (rt.status === 'stopped' || rt.status === 'idle') {
        rt.status = 'stopped';
        return;
      }
      if (rt.status === 'running') rt.status = 'stopping';
      stopping ??= shutdown();
      await stopping;
      if (rt.status === 'stopping') rt.status = 'stopped';
    },
    drain: (o = {}) => drainAll(rt, o.timeoutMs ?? 60_000),
    settle: () => settleAll(rt),
    stats() {
      // Only the partitions this member owns now: a pipeline of an older generation is a
      // partition that moved away (its numbers are the new owner's to report). Counting those
      // made a member look as if it owned, and had caught up on, partitions another member held.
      const positions: Record<number, number> = {};
      let open = 0;
      for (const [p, pl] of rt.pipelines) {
        if (pl.generation !== rt.generation) continue;
        if (pl.next !== undefined) positions[p] = pl.next;
        open += pl.state?.openCount ?? 0;
      }
      const c = rt.counters;
      return {
        segment, status: rt.status, workers, messages: c.messages, owned: c.owned, late: c.late, foreign: c.foreign,
        replayed: c.replayed, duplicates: c.duplicates, poison: c.poison, batches: c.batches,
        rowsWritten: { packets: c.rowsPackets, traffic_flow: c.rowsFlow }, windowsFlushed: c.windowsFlushed,
        openWindows: open, lag: { ...rt.lag }, positions, storeRetries: c.storeRetries, workerFailures: c.workerFailures,
        poolUtilization: rt.runner?.utilization() ?? 0, ...(rt.crashedWith ? { crashed: rt.crashedWith.message } : {}),
        stopped: [...rt.stopped.values()],
      };
    },
    health() {
      const stopped = [...rt.stopped.values()];
      // Live pipelines only: one of an earlier generation is a partition that moved away.
      const owned = [...rt.pipelines.values()].filter((pl) => pl.generation === rt.generation && pl.recovered && !pl.dead)
        .map((pl) => ({ segment, partition: pl.partition, next: pl.next ?? null }));
      return { live: rt.status !== 'crashed', ready: rt.status === 'running' && stopped.length === 0, status: rt.status, stopped, owned };
    },
    metrics: () => metrics.registry,
  };
}
