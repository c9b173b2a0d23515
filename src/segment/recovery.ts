// Recovery: rebuild a partition's resume state from its commit and from what ClickHouse
// already holds (W, R, S and P of docs/segment.md). Runs when the partition is assigned,
// after the previous pipeline's last step.
import { DedupKeys, PartitionWindows, withinDedupHorizon } from '../flow/index.ts';
import { checkPartitionCount, parseCommitMeta, publishPartitionState } from './commit.ts';
import { acquireLease } from './fencing.ts';
import { checkWithinLog } from './position.ts';
import { persist } from './retry.ts';
import type { Pipeline, SegmentRuntime } from './runtime.ts';
import { storedKeys, storedPacketsFrom, storedWindows } from './stored.ts';

export async function recover(rt: SegmentRuntime, pl: Pipeline): Promise<void> {
  const { rules } = rt;
  // Nothing is read before the lease is ours: the previous holder can no longer write.
  await acquireLease(rt, pl);
  let committed: { offset: string; metadata?: string | null } | undefined;
  await persist(rt, pl, 'read committed offsets', async () => {
    committed = (await rt.consumer!.committed(rt.topic)).find((c) => c.partition === pl.partition);
  });
  const meta = parseCommitMeta(committed?.metadata);
  checkPartitionCount(rt.topic, meta, rt.partitionCount);
  const wm = meta?.wm ?? -Infinity;
  pl.state = new PartitionWindows(rt.segment, rules, wm);
  pl.next = committed ? Number(committed.offset) : undefined;
  pl.deadLettersFrom = meta?.e ?? pl.next ?? 0;
  // Windows a replay could flush again: every window not yet closed at the resume watermark.
  const fromWs = Number.isFinite(wm) ? (Math.floor((wm - rules.allowedLatenessMs) / 1000 / rules.windowS) - 1) * rules.windowS : undefined;
  await persist(rt, pl, 'read stored windows', async () => {
    pl.skipWindows = await storedWindows(rt, pl.partition, fromWs);
  });
  await persist(rt, pl, 'read stored packets', async () => {
    pl.packetsFrom = await storedPacketsFrom(rt, pl.partition);
  });
  // The log's end, read after the commit and P, is at or past R, E and P (every one of those
  // offsets was in the log when it was committed or stored), unless the log lost its end.
  await checkWithinLog(rt, pl, Math.max(pl.next ?? 0, meta?.e ?? 0, pl.packetsFrom));
  // Duplicate keys as they were just before R: those of stored packets below R still within
  // the horizon at W (the replay from R adds the rest, in order).
  pl.dedup = new DedupKeys(rules);
  if (pl.next !== undefined && pl.next > 0) {
    const first = DedupKeys.firstRetainedWindow(wm, rules);
    const resumeAt = pl.next;
    await persist(rt, pl, 'read stored packet keys', async () => {
      const keys = await storedKeys(rt, pl.partition, resumeAt, first === undefined ? undefined : first * 1000);
      pl.dedup!.load(keys.filter((k) => withinDedupHorizon(k.windowStart, wm, rules)));
    });
  }
  pl.recovered = true;
  publishPartitionState(rt, pl);
  rt.log.info({ partition: pl.partition, next: pl.next, wm, skip: pl.skipWindows.size, packetsFrom: pl.packetsFrom, dedupKeys: pl.dedup.size }, 'partition recovered');
}
