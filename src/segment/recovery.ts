// Recovery: rebuild a partition's resume state from its commit and from what ClickHouse
// already holds (W, R, S and P of docs/segment.md). Runs when the partition is assigned,
// after the previous pipeline's last step.
import { PartitionWindows } from '../flow/index.ts';
import { checkPartitionCount, parseCommitMeta } from './commit.ts';
import { acquireLease } from './fencing.ts';
import { persist } from './retry.ts';
import type { Pipeline, SegmentRuntime } from './runtime.ts';
import { storedPacketsFrom, storedWindows } from './stored.ts';

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
  pl.recovered = true;
  rt.log.info({ partition: pl.partition, next: pl.next, wm, skip: pl.skipWindows.size, packetsFrom: pl.packetsFrom }, 'partition recovered');
}
