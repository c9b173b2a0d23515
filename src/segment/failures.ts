// Failures retrying cannot fix (a schema, SQL or type error from ClickHouse, a programming
// error): the partition stops with the failure's code, loudly — an error log, the
// iov_segment_partition_stopped gauge, stats().stopped and a failing /readyz — instead of
// being retried forever. Its consumption is paused; nothing after the failure is written or
// committed, so a restart (after the cause is fixed) resumes from the last commit and loses
// nothing. Other partitions keep working.
import { SegmentError } from './errors.ts';
import { failureCode, type PartitionStopped } from './retry.ts';
import type { Pipeline, SegmentRuntime } from './runtime.ts';
import type { StoppedPartition } from './types.ts';

function gaugeLabels(rt: SegmentRuntime, s: StoppedPartition) {
  return { segment: rt.segment, partition: String(s.partition), code: s.code, server_code: s.serverCode === undefined ? '' : String(s.serverCode) };
}

export function stopPartition(rt: SegmentRuntime, pl: Pipeline, failure: PartitionStopped): void {
  pl.dead = true;
  const { what, error: err } = failure;
  const f = failureCode(err.cause);
  const stopped: StoppedPartition = {
    partition: pl.partition, what, code: f.code, ...(f.serverCode === undefined ? {} : { serverCode: f.serverCode }),
    message: (err.cause as Error | undefined)?.message ?? err.message, at: Date.now(),
  };
  rt.stopped.set(pl.partition, stopped);
  rt.metrics.partitionStopped.set(gaugeLabels(rt, stopped), 1);
  rt.log.error({ partition: pl.partition, code: stopped.code, serverCode: stopped.serverCode, what }, err.message);
  rt.consumer?.pause(rt.topic, [pl.partition]);
}

/**
 * After a rebalance: partitions still stopped stay paused (the cause is still there); those
 * that moved to another member are no longer this member's to report.
 */
export function keepStopped(rt: SegmentRuntime, assigned: number[]): void {
  for (const [p, s] of rt.stopped) {
    if (assigned.includes(p)) {
      rt.consumer?.pause(rt.topic, [p]);
    } else {
      rt.metrics.partitionStopped.remove(gaugeLabels(rt, s));
      rt.stopped.delete(p);
    }
  }
}

/** The first stopped partition among `partitions`, as the error drain() fails with. */
export function stoppedError(rt: SegmentRuntime, partitions: number[]): SegmentError | undefined {
  const s = partitions.map((p) => rt.stopped.get(p)).find((x) => x !== undefined);
  if (!s) return undefined;
  return new SegmentError('SEG_PARTITION_STOPPED', [s.partition, s.what, s.serverCode === undefined ? s.code : `${s.code} (ClickHouse code ${s.serverCode})`, s.message]);
}
