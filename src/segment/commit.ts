// The commit: offset R plus the metadata a restart resumes from (docs/segment.md,
// Exactly-once). Commits happen strictly after the writes they cover.
import { SegmentError } from './errors.ts';
import { writeDeadline } from './fencing.ts';
import { checkAlive, type Pipeline, type SegmentRuntime } from './runtime.ts';

/** Commit metadata, kept short on the wire; the fields are spelled out here. */
export interface CommitMeta {
  v: 1;
  /** Watermark just before the committed offset (null = -Infinity). */
  wm: number | null;
  /** Every message below this offset was processed once (its poison is in the DLQ). */
  e: number;
  /** The topic's partition count when this was committed (absent in older commits). */
  n?: number;
}

export function parseCommitMeta(s: string | null | undefined): CommitMeta | undefined {
  if (!s) return undefined;
  try {
    const m = JSON.parse(s) as Partial<CommitMeta>;
    if (m.v !== 1 || typeof m.e !== 'number') return undefined;
    return { v: 1, wm: typeof m.wm === 'number' ? m.wm : null, e: m.e, ...(typeof m.n === 'number' ? { n: m.n } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * The roll-up counts a vehicle once per partition (key = vehicleId): with another partition
 * count the same vehicles would land elsewhere and windows would count them twice. Refuse
 * loudly instead of writing wrong numbers (docs/segment.md, Storage).
 */
export function checkPartitionCount(topic: string, meta: CommitMeta | undefined, partitionCount: number): void {
  if (meta?.n !== undefined && meta.n !== partitionCount) throw new SegmentError('SEG_PARTITIONS_CHANGED', [topic, meta.n, partitionCount]);
}

/** Commit everything below `next` as processed: offset R (resume point) with W, E and N. */
export async function commit(rt: SegmentRuntime, pl: Pipeline, next: number): Promise<void> {
  const resume = pl.state!.resumePoint(next);
  const meta: CommitMeta = { v: 1, wm: Number.isFinite(resume.wm) ? resume.wm : null, e: next, n: rt.partitionCount };
  checkAlive(rt, pl);
  try {
    // A fenced member must not move the group's offset either (SEG_FENCED crashes it).
    await writeDeadline(rt, pl);
    await rt.consumer!.commit([{ topic: rt.topic, partition: pl.partition, offset: String(resume.offset), metadata: JSON.stringify(meta) }]);
  } catch (err) {
    if (err instanceof SegmentError && err.code === 'SEG_FENCED') throw err;
    // A failed commit loses nothing: the next one covers it, and a restart from the older
    // commit replays into the same stored state (docs/segment.md).
    rt.log.warn({ partition: pl.partition, err: (err as Error).message }, 'commit failed; the next commit covers it');
  }
  pl.next = next;
  publishPartitionState(rt, pl);
}

/**
 * The partition's gauges as of its last commit (or recovery): open windows and the event-time
 * watermark (packets and ticks; none before the first message). After drain() the watermark
 * is past every window it closed (end of stream).
 */
export function publishPartitionState(rt: SegmentRuntime, pl: Pipeline): void {
  // A superseded pipeline finishing its last step: the partition's gauges are no longer its own.
  if (pl.dead || pl.generation !== rt.generation) return;
  const labels = { segment: rt.segment, partition: String(pl.partition) };
  const state = pl.state!;
  rt.metrics.openWindows.set(labels, state.openCount);
  if (Number.isFinite(state.wm)) rt.metrics.watermark.set(labels, state.wm / 1000);
}
