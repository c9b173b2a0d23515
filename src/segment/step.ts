// One step of a partition's pipeline: decode + classify + pre-aggregate (pool) → dead
// letters → packets → closed windows → commit (docs/segment.md, Exactly-once). And the
// drain step, which closes every open window at end of stream.
import { unpackRows, type BatchTask } from '../flow/index.ts';
import { commit } from './commit.ts';
import { sendDeadLetters } from './dead-letters.ts';
import { taskBuffers, type PackedBatch } from './packed.ts';
import { checkBatchesWithinLog, unprocessed } from './position.ts';
import { recover } from './recovery.ts';
import { writerSchemasForBatch } from './schemas.ts';
import { checkAlive, fault, isAlive, type Pipeline, type SegmentRuntime } from './runtime.ts';
import { flushWindows, insertEncodedPackets, insertPackets } from './sink.ts';
import type { FaultContext } from './types.ts';

export async function step(rt: SegmentRuntime, pl: Pipeline, batches: PackedBatch[]): Promise<void> {
  if (!isAlive(rt, pl) || batches.length === 0) return;
  const t0 = performance.now();
  if (!pl.recovered) await recover(rt, pl);
  await checkBatchesWithinLog(rt, pl, batches);
  const msgs = unprocessed(pl, batches);
  const n = msgs.offsets.length;
  if (n === 0) return;
  const { segment, metrics, counters } = rt;
  const first = msgs.offsets[0]!;
  const last = msgs.offsets[n - 1]!;
  const state = pl.state!;
  const writerSchemas = await writerSchemasForBatch(rt.schemas, msgs);
  const task: BatchTask = {
    segment, partition: pl.partition, rules: rt.rules, ...taskBuffers(msgs),
    wm: state.wm, skipWindows: [...pl.skipWindows], packetsFrom: pl.packetsFrom, encode: rt.encode,
    ...(writerSchemas ? { writerSchemas } : {}),
  };
  let res = await rt.runner!.run(task, pl.partition, () => taskBuffers(msgs));
  checkAlive(rt, pl);
  // Duplicates are rare (a client retry whose first produce landed): the batch is checked by
  // its keys, and run once more only when it holds one, now told which offsets to drop.
  const duplicates = pl.dedup!.check(res.keys);
  if (duplicates.length) {
    res = await rt.runner!.run({ ...task, ...taskBuffers(msgs), duplicates }, pl.partition, () => taskBuffers(msgs));
    checkAlive(rt, pl);
  }
  pl.dedup!.evict(res.wm);
  if (res.packed) res.rows = unpackRows(res.packed);
  state.apply(res);
  const ctx: FaultContext = { segment, partition: pl.partition, firstOffset: first, lastOffset: last, flushed: [] };
  await fault(rt, 'afterDecode', ctx);

  await sendDeadLetters(rt, pl, msgs, res.poison, last);

  if (res.encoded) await insertEncodedPackets(rt, pl, res.encoded);
  else await insertPackets(rt, pl, res.rows);
  pl.packetsFrom = Math.max(pl.packetsFrom, last + 1);
  await fault(rt, 'afterPackets', ctx);

  await flushWindows(rt, pl, state.closed(), ctx);
  await fault(rt, 'afterInsertBeforeCommit', ctx);
  await commit(rt, pl, last + 1);

  counters.batches++;
  counters.messages += n;
  counters.owned += res.owned;
  counters.late += res.late;
  counters.foreign += res.foreign;
  counters.replayed += res.replayed;
  counters.duplicates += res.duplicates;
  metrics.packets.inc({ segment, kind: 'owned' }, res.owned);
  metrics.packets.inc({ segment, kind: 'late' }, res.late);
  metrics.packets.inc({ segment, kind: 'foreign' }, res.foreign);
  metrics.packets.inc({ segment, kind: 'replayed' }, res.replayed);
  metrics.packets.inc({ segment, kind: 'duplicate' }, res.duplicates);
  rt.lag[pl.partition] = Math.max(0, Number(msgs.highWatermark) - (last + 1));
  metrics.lag.set({ segment, partition: String(pl.partition) }, rt.lag[pl.partition]!);
  metrics.batchSeconds.observe(rt.labels, (performance.now() - t0) / 1000);
}

/**
 * Shut-down (SIGINT/SIGTERM of `iov segment`): flush what the watermark has closed and commit,
 * leaving open windows open (a restart resumes them from the commit). Most of the time the
 * last step did this already; this one waits for it and covers a step that did not finish.
 */
export async function settleStep(rt: SegmentRuntime, pl: Pipeline): Promise<void> {
  if (!isAlive(rt, pl) || !pl.recovered) return;
  const ctx: FaultContext = { segment: rt.segment, partition: pl.partition, flushed: [] };
  await flushWindows(rt, pl, pl.state!.closed(), ctx);
  if (pl.next !== undefined) await commit(rt, pl, pl.next);
}

export async function drainStep(rt: SegmentRuntime, pl: Pipeline): Promise<void> {
  if (!isAlive(rt, pl)) return;
  if (!pl.recovered) await recover(rt, pl);
  const state = pl.state!;
  state.advanceToCloseAll();
  const ctx: FaultContext = { segment: rt.segment, partition: pl.partition, flushed: [] };
  await flushWindows(rt, pl, state.closed(true), ctx);
  await fault(rt, 'afterInsertBeforeCommit', ctx);
  if (pl.next !== undefined) await commit(rt, pl, pl.next);
}
