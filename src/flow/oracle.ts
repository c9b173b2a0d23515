// The batch oracle: the same traffic-flow function computed the plain way, over a whole list
// of packets at once. Deliberately a separate, simple implementation (no partial aggregates,
// no merging, no workers) so the differential tests compare two independent computations.
import type { FlowRow } from './types.ts';

/** Default duplicate horizon, seconds (docs/segment.md, Duplicates). */
export const DEFAULT_DEDUP_HORIZON_S = 30;

/** The fields of an EnrichedPacket the oracle reads, plus where the copy was read from. */
export interface OraclePacket {
  vehicleId: string;
  ts: number;
  speedKmh: number | null;
  /** H3 cell (hex). */
  cell: string;
  /** Segment whose topic held this copy. */
  segment: string;
  ownerSegment: string;
  crossing: boolean;
  /** Client sequence number (null/absent/0: none, the event time identifies the packet). */
  seq?: number | null;
  /** Kafka partition of the copy; needed for lateness (a per-partition watermark). */
  partition?: number;
}

/**
 * A watermark tick read from a segment topic (docs/segment.md, Quiet partitions): it moves
 * its partition's highest event time to max(highest, ts) and is nothing else.
 */
export interface OracleTick {
  tick: true;
  ts: number;
  segment: string;
  partition?: number;
}

export interface OracleOptions {
  windowS: number;
  /** Allowed lateness, seconds. Omitted or Infinity: no packet is late. */
  allowedLatenessS?: number;
  /** Duplicate horizon, seconds (default DEFAULT_DEDUP_HORIZON_S). */
  dedupHorizonS?: number;
}

export interface OracleResult {
  /** One row per (segment, cell, window), sorted by segment, window, cell. */
  rows: FlowRow[];
  /** Owned packets that are late under the watermark rule (not in `rows`). */
  late: OraclePacket[];
  /** Owned packets (each counted once, by its owner), duplicates excluded. */
  owned: number;
  /** Owned copies dropped as duplicates of an earlier packet. */
  duplicates: OraclePacket[];
}

/**
 * Traffic flow over `packets`, which must be in arrival order within each (segment, partition).
 * Rules (docs/segment.md): only owned copies count (segment === ownerSegment, not a crossing
 * copy); a packet is late when its window end + allowed lateness ≤ the highest event time
 * seen before it in the same partition (any copy, owned or not); no speed → counted in
 * packets only; 1/speed uses max(speed, 1 km/h). An owned packet whose identity (vehicle +
 * seq, or + ts without seq) an earlier owned packet of the partition had is a duplicate —
 * dropped, neither counted nor late — when its window end + lateness + horizon is after the
 * highest event time before it; only packets within that horizon are remembered. A tick in
 * the list counts as event time ts of its partition and nothing else.
 */
export function batchTrafficFlow(packets: readonly (OraclePacket | OracleTick)[], opts: OracleOptions): OracleResult {
  const windowMs = opts.windowS * 1000;
  const latenessMs = opts.allowedLatenessS === undefined ? Infinity : opts.allowedLatenessS * 1000;
  const highest: Record<string, number> = {};
  const onTime: OraclePacket[] = [];
  const late: OraclePacket[] = [];
  const duplicates: OraclePacket[] = [];
  const horizonMs = (opts.dedupHorizonS ?? DEFAULT_DEDUP_HORIZON_S) * 1000;
  const identities: Record<string, Set<string>> = {};
  let owned = 0;
  for (const p of packets) {
    const where = `${p.segment}/${p.partition ?? 0}`;
    const seen = highest[where] ?? -Infinity;
    highest[where] = Math.max(seen, p.ts);
    if ('tick' in p) continue;
    if (p.crossing || p.segment !== p.ownerSegment) continue;
    const windowEnd = (Math.floor(p.ts / windowMs) + 1) * windowMs;
    if (windowEnd + latenessMs + horizonMs > seen) {
      const id = p.seq ? `${p.vehicleId}|s${p.seq}` : `${p.vehicleId}|t${p.ts}`; // written out here: the oracle shares no code with the stream
      const ids = (identities[where] ??= new Set());
      if (ids.has(id)) {
        duplicates.push(p);
        continue;
      }
      ids.add(id);
    }
    owned++;
    if (windowEnd + latenessMs <= seen) late.push(p);
    else onTime.push(p);
  }

  const groups: Record<string, OraclePacket[]> = {};
  for (const p of onTime) {
    const windowStart = Math.floor(p.ts / windowMs) * opts.windowS;
    const key = `${p.segment}\u0000${windowStart}\u0000${p.cell}`;
    (groups[key] ??= []).push(p);
  }
  const rows: FlowRow[] = [];
  for (const [key, list] of Object.entries(groups)) {
    const [segment, ws, cell] = key.split('\u0000') as [string, string, string];
    const speeds = list.map((p) => p.speedKmh).filter((s): s is number => s !== null && Number.isFinite(s));
    let speedSum = 0;
    let invSpeedSum = 0;
    let minSpeed = Infinity;
    let maxSpeed = -Infinity;
    for (const s of speeds) {
      speedSum += s;
      invSpeedSum += 1 / (s < 1 ? 1 : s);
      minSpeed = Math.min(minSpeed, s);
      maxSpeed = Math.max(maxSpeed, s);
    }
    rows.push({
      segment,
      cell: BigInt(`0x${cell}`).toString(),
      windowStart: Number(ws),
      windowS: opts.windowS,
      vehicles: new Set(list.map((p) => p.vehicleId)).size,
      packets: list.length,
      speedSum,
      speedCount: speeds.length,
      invSpeedSum,
      minSpeed: speeds.length ? minSpeed : 0,
      maxSpeed: speeds.length ? maxSpeed : 0,
    });
  }
  rows.sort((a, b) => (a.segment < b.segment ? -1 : a.segment > b.segment ? 1 : a.windowStart - b.windowStart || (a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0)));
  return { rows, late, owned, duplicates };
}
