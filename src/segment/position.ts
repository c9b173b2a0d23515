// Where a partition's pipeline stands against the log. Offsets of a partition are consecutive
// (no compaction, no transactional producers) and name one message each for as long as the
// log lives, so the pipeline's next offset must lie inside the log: not below its start (the
// log lost messages nobody processed: SEG_OFFSET_GAP) and not past its end (the log lost
// messages that WERE processed, or is a new log: SEG_COMMIT_BEYOND_END). Either way the
// partition stops (failures.ts) before anything is written or committed: carrying on would
// silently skip messages (docs/segment.md, Failures).
import { SegmentError } from './errors.ts';
import { concatPacked, dropHead, pickMessages, type PackedBatch } from './packed.ts';
import { persist, PartitionStopped } from './retry.ts';
import type { Pipeline, SegmentRuntime } from './runtime.ts';

/** A log that no longer holds what the pipeline's position says: stop reading this partition. */
function stopReading(pl: Pipeline, cause: SegmentError): PartitionStopped {
  return new PartitionStopped('read', new SegmentError('SEG_PARTITION_STOPPED', [pl.partition, 'read', cause.code, cause.message], { cause }));
}

/**
 * The log's end must not be below `position` (one past an offset committed, processed or
 * stored in packets): every offset below it was in the log then, and a log's end only grows.
 * An end below it means the topic was deleted and recreated, or its log was truncated from
 * the end; the offsets below `position` now name messages this partition
 * never read (Kafka would even reset a consumer past the end to the earliest offset, whose
 * messages the pipeline would drop as re-deliveries).
 */
export async function checkWithinLog(rt: SegmentRuntime, pl: Pipeline, position: number): Promise<void> {
  let end = 0;
  await persist(rt, pl, 'read log end', async () => {
    // A read that failed says nothing about the log: retried, whatever the client's verdict
    // (kafkajs gives up an admin call on a loaded box as non-retriable).
    const ends = await rt.bus.endOffsets(rt.topic).catch((err: Error) => Promise.reject(Object.assign(new Error(`log end offsets: ${err.message}`, { cause: err }), { retriable: true })));
    const mine = ends.find((e) => e.partition === pl.partition);
    if (!mine) throw Object.assign(new Error(`log end offsets: no partition ${pl.partition} in the answer`), { retriable: true });
    end = Number(mine.offset);
  });
  if (end < position) throw stopReading(pl, new SegmentError('SEG_COMMIT_BEYOND_END', [pl.partition, position, end]));
}

/**
 * During a step: a batch fetched when the log's end was below the pipeline's next offset. The
 * fetch's high watermark says so first; the bus's end offsets confirm it (a new partition
 * leader may answer a fetch with a high watermark that lags for a moment), so only a log that
 * really ended below the position stops the partition.
 */
export async function checkBatchesWithinLog(rt: SegmentRuntime, pl: Pipeline, batches: readonly PackedBatch[]): Promise<void> {
  if (pl.next === undefined) return;
  if (batches.every((b) => Number(b.highWatermark) >= pl.next!)) return;
  await checkWithinLog(rt, pl, pl.next);
}

/**
 * The step's messages in offset order from the pipeline's next offset on, each once. Messages
 * below it were processed already (a re-delivery) and are dropped. A message past the next
 * expected offset means the log lost messages nobody processed — at the start of the step (a
 * commit whose replay range was truncated) or between two coalesced batches (the consumer fell
 * behind the retention and was reset to the earliest kept message): SEG_OFFSET_GAP.
 */
export function unprocessed(pl: Pipeline, batches: PackedBatch[]): PackedBatch {
  const msgs = concatPacked(batches);
  const { offsets } = msgs;
  if (offsets.length === 0) return msgs;
  let expected = pl.next ?? offsets[0]!;
  const keep: number[] = [];
  for (let i = 0; i < offsets.length; i++) {
    const offset = offsets[i]!;
    if (offset < expected) continue;
    if (offset > expected) throw stopReading(pl, new SegmentError('SEG_OFFSET_GAP', [pl.partition, expected, offset]));
    keep.push(i);
    expected++;
  }
  // Usually everything, or all but an already-processed head.
  const head = keep.length ? keep[0]! : offsets.length;
  return head + keep.length === offsets.length ? dropHead(msgs, head) : pickMessages(msgs, keep);
}
