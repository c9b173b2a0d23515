// drain(): end of stream. Wait until everything in the topic as of the call is processed,
// then flush every open window of every owned partition and commit; again if a rebalance
// restarted the pipelines meanwhile.
import { SegmentError } from './errors.ts';
import { stoppedError } from './failures.ts';
import { enqueue, livePipeline } from './pipelines.ts';
import { sleep, type Pipeline, type SegmentRuntime } from './runtime.ts';
import { drainStep, settleStep } from './step.ts';
import type { LeftOpen } from './types.ts';

export async function drainAll(rt: SegmentRuntime, timeoutMs: number): Promise<void> {
  const { segment, topic } = rt;
  if (rt.status !== 'running') throw new SegmentError('SEG_NOT_RUNNING', [segment]);
  const deadline = Date.now() + timeoutMs;
  const consumer = rt.consumer!;
  const ends = new Map((await rt.bus.endOffsets(topic)).map((e) => [e.partition, Number(e.offset)]));
  for (;;) {
    if (rt.status !== 'running') throw rt.crashedWith ? new SegmentError('SEG_CRASHED', [segment, rt.crashedWith.message]) : new SegmentError('SEG_NOT_RUNNING', [segment]);
    const mine = consumer.assignment().find((a) => a.topic === topic)?.partitions ?? [];
    const stopped = stoppedError(rt, mine);
    if (stopped) throw stopped;
    // The group's commits are read (a Kafka round trip) only for partitions this member
    // has no live pipeline for, so the poll below can be short.
    const committed = mine.some((p) => !livePipeline(rt, p) && (ends.get(p) ?? 0) > 0)
      ? new Map((await consumer.committed(topic)).map((c) => [c.partition, Number(c.offset)]))
      : new Map<number, number>();
    const done = mine.length > 0 && mine.every((p) => {
      const end = ends.get(p) ?? 0;
      const pl = livePipeline(rt, p);
      if (pl) return pl.pending === 0 && (pl.next ?? 0) >= end;
      return end === 0 || (committed.get(p) ?? -1) >= end;
    });
    if (done) {
      const steps = mine.map((p) => livePipeline(rt, p)).filter((pl): pl is Pipeline => !!pl)
        .map((pl) => enqueue(rt, pl, () => drainStep(rt, pl)));
      await Promise.all(steps);
      if (rt.status !== 'running') throw new SegmentError('SEG_CRASHED', [segment, rt.crashedWith?.message ?? 'stopped']);
      // A rebalance during the drain restarts the pipelines: drain again.
      if (mine.every((p) => rt.pipelines.get(p)?.generation === rt.generation)) return;
    }
    if (Date.now() > deadline) throw new SegmentError('SEG_NOT_RUNNING', [`${segment} (drain timed out)`]);
    await sleep(20);
  }
}

/**
 * Stop-time flush: after each owned partition's queued steps, flush the windows its
 * watermark has closed and commit; report the windows still open. Nothing is forced closed
 * (that is drain()): the watermark — packets and ticks of the log — decides, so a restart
 * reproduces the same result.
 */
export async function settleAll(rt: SegmentRuntime): Promise<LeftOpen[]> {
  if (rt.status !== 'running') return [];
  const mine = rt.consumer?.assignment().find((a) => a.topic === rt.topic)?.partitions ?? [];
  const pls = mine.map((p) => livePipeline(rt, p)).filter((pl): pl is Pipeline => !!pl);
  await Promise.all(pls.map((pl) => enqueue(rt, pl, () => settleStep(rt, pl)).catch(() => {})));
  return pls.filter((pl) => pl.state).map((pl) => ({
    segment: rt.segment, partition: pl.partition, watermark: pl.state!.wm, windows: pl.state!.closed(true).map((w) => w.windowStart),
  })).filter((l) => l.windows.length > 0);
}
