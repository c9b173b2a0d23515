// The segment topics as the oracle's witness: what the gateways wrote, read back from Kafka
// in partition order (the order the segment processors read). A run starts at the topics'
// end offsets of that moment, so older runs on the same servers are left out.
import type { Bus, BusConsumer } from '../bus/index.ts';
import type { OraclePacket, OracleTick } from '../flow/index.ts';
import { enrichedPacketCodec, isTick, tickCodec } from '../schemas/index.ts';

export type Offsets = Map<number, number>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function endOffsets(bus: Bus, topic: string): Promise<Offsets> {
  return new Map((await bus.endOffsets(topic)).map((e) => [e.partition, Number(e.offset)]));
}

async function untilAssigned(c: BusConsumer, topic: string, partitions: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((c.assignment().find((a) => a.topic === topic)?.partitions.length ?? 0) < partitions) {
    if (Date.now() > deadline) throw new Error(`no assignment of ${topic} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Every partition's offset is 0: where a group with no commit starts reading anyway. */
export const atLogStart = (offsets: Offsets): boolean => [...offsets.values()].every((o) => o === 0);

/**
 * Point a consumer group at `offsets` (committed with no metadata: a fresh start there). The
 * group must have no other members. The mock cluster refuses offset commits from outside the
 * group, so this joins it, commits and leaves.
 */
export async function seekGroup(bus: Bus, groupId: string, topic: string, offsets: Offsets, timeoutMs = 60_000): Promise<void> {
  const c = bus.consumer({ groupId, topics: [topic] });
  // Batches that arrive meanwhile are left alone (no commit): only `offsets` is committed.
  await c.run(async (b) => {
    c.pause(topic, [b.partition]);
  });
  try {
    await untilAssigned(c, topic, offsets.size, timeoutMs);
    await c.commit([...offsets].map(([partition, offset]) => ({ topic, partition, offset: String(offset), metadata: null })));
  } finally {
    await c.stop();
  }
}

export interface LogCopy extends OraclePacket {
  partition: number;
  offset: number;
  /** Dedup key of the packet: vehicle and seq (or ts without seq). */
  key: string;
}

/** A watermark tick in the log: the oracle moves its partition's event time, as the segment processor does. */
export interface LogTick extends OracleTick {
  partition: number;
  offset: number;
}

export type LogEntry = LogCopy | LogTick;

export const isLogTick = (e: LogEntry): e is LogTick => 'tick' in e;

/**
 * Every copy and tick in `topic` (segment `segment`'s) from `from` up to `to` (exclusive), per
 * partition in offset order. The ticks stay: they close windows in the stream, so the oracle
 * must see them where the processor did.
 */
export async function readLog(bus: Bus, topic: string, segment: string, from: Offsets, to: Offsets, groupId: string, timeoutMs = 120_000): Promise<LogEntry[]> {
  // A new group starts at the earliest offset: from 0 (a topic of the run's own) it needs no
  // seek, which is one more group join and leave (~3 s on the mock cluster).
  if (!atLogStart(from)) await seekGroup(bus, groupId, topic, from);
  const codec = enrichedPacketCodec();
  const ticks = tickCodec();
  const byPartition = new Map<number, LogEntry[]>([...to.keys()].map((p) => [p, []]));
  const next = new Map(from);
  const c = bus.consumer({ groupId, topics: [topic] });
  await c.run(async (b) => {
    const list = byPartition.get(b.partition)!;
    for (const m of b.messages) {
      const offset = Number(m.offset);
      if (offset < (next.get(b.partition) ?? 0) || offset >= (to.get(b.partition) ?? 0)) continue;
      if (offset !== next.get(b.partition)) throw new Error(`${topic}[${b.partition}]: offset ${offset} follows ${next.get(b.partition)! - 1}: the log lost messages`);
      next.set(b.partition, offset + 1);
      if (isTick(m.value)) {
        list.push({ tick: true, ts: ticks.decode(m.value).ts, segment, partition: b.partition, offset });
        continue;
      }
      const p = codec.decode(m.value);
      list.push({
        vehicleId: p.vehicleId, ts: p.ts, speedKmh: p.speedKmh ?? null, cell: p.cell, segment: p.segment, ownerSegment: p.ownerSegment,
        crossing: p.crossing, partition: b.partition, offset, key: `${p.vehicleId}|${p.seq ?? `t${p.ts}`}`,
      });
    }
  });
  try {
    const deadline = Date.now() + timeoutMs;
    while ([...to].some(([p, end]) => (next.get(p) ?? 0) < end)) {
      if (Date.now() > deadline) throw new Error(`reading ${topic} back timed out at ${JSON.stringify([...next])} of ${JSON.stringify([...to])}`);
      await sleep(50);
    }
  } finally {
    await c.stop();
  }
  return [...byPartition.keys()].sort((a, b) => a - b).flatMap((p) => byPartition.get(p)!);
}

/** Later copies of a packet already in the same topic dropped (a client retry that landed twice); ticks kept. */
export function firstCopies(entries: readonly LogEntry[]): LogEntry[] {
  const seen = new Set<string>();
  return entries.filter((c) => {
    if (isLogTick(c)) return true;
    const k = `${c.segment}|${c.key}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
