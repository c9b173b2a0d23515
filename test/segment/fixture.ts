// Shared pieces of the segment tests: a deterministic simulated fleet (crossings, out-of-order
// and late packets, missing and zero speeds), reading a topic back in partition order (the
// ground truth of arrival order for the oracle), and the differential comparison.
import { latLngToCell } from 'h3-js';
import { afterAll, expect } from 'vitest';
import type { Bus, BusMessage, ProduceRecord, TopicPartitionOffset } from '../../src/bus/index.ts';
import { batchTrafficFlow, type FlowRow, type OraclePacket, type OracleResult, type OracleTick } from '../../src/flow/index.ts';
import { enrichedPacketCodec, isTick, tickCodec, type EnrichedPacket } from '../../src/schemas/index.ts';
import { createSegmentProcessor, type Logger, type SegmentProcessor, type SegmentProcessorOptions } from '../../src/segment/index.ts';
import { createTableSql, PACKETS, TRAFFIC_FLOW, type Store } from '../../src/store/index.ts';
import { segmentTopic } from '../../src/topology/index.ts';
import { randomName, rng, testStore, waitFor } from '../helpers/index.ts';

export const codec = enrichedPacketCodec();

export interface FleetOptions {
  segments: string[];
  vehicles: number;
  steps: number;
  /** Event time between a vehicle's packets, ms. */
  stepMs?: number;
  baseTs?: number;
  seed?: number;
  /** Share of packets sent again much later (a late packet: ts 3 windows back). */
  lateShare?: number;
  /**
   * Share of owned packets sent twice, as a client retry whose first attempt landed: the
   * same packet again up to 12 steps later (same window, or after it closed).
   */
  dupShare?: number;
  windowS: number;
}

/** Records in send order, and each copy as sent. */
export function simulateFleet(o: FleetOptions): { records: ProduceRecord[]; copies: EnrichedPacket[] } {
  const r = rng(o.seed ?? 1);
  const stepMs = o.stepMs ?? 2000;
  const base = o.baseTs ?? Date.UTC(2024, 4, 1, 8, 0, 0);
  // A pool of fine cells per segment, a few hundred metres apart, so windows hold several vehicles.
  const cells = o.segments.map((_, si) => Array.from({ length: 12 }, (_, i) => latLngToCell(31.0 + si * 0.1 + i * 0.004, 121.4 + (i % 3) * 0.004, 9)));
  const copies: EnrichedPacket[] = [];
  const lateLater: EnrichedPacket[] = [];
  const retries: { at: number; p: EnrichedPacket }[] = [];
  const vehicles = Array.from({ length: o.vehicles }, (_, i) => ({ id: `veh-${o.seed ?? 1}-${i}`, seg: i % o.segments.length, seq: 0 }));
  for (let step = 0; step < o.steps; step++) {
    for (const v of vehicles) {
      const prev = v.seg;
      if (r() < 0.06) v.seg = (v.seg + 1 + Math.floor(r() * (o.segments.length - 1))) % o.segments.length;
      const owner = o.segments[v.seg]!;
      const roll = r();
      const speed = roll < 0.1 ? null : roll < 0.2 ? 0 : Math.round(r() * 1200) / 10 + 0.05;
      // ±0.9 s of event-time jitter (under half a step, so a vehicle never repeats a ts): packets of different vehicles in a partition arrive out of order.
      const ts = base + step * stepMs + Math.floor((r() - 0.5) * 1800);
      const cell = cells[v.seg]![Math.floor(r() * cells[v.seg]!.length)]!;
      const p: EnrichedPacket = {
        vehicleId: v.id, seq: r() < 0.1 ? null : ++v.seq, ts, lat: 31.2, lng: 121.4, speedKmh: speed, heading: r() < 0.5 ? null : 90,
        extra: {}, cell, segment: owner, ownerSegment: owner, crossing: false, prevSegment: o.segments[prev]!, ingestTs: ts + 50, gatewayId: 'gw-1',
      };
      copies.push(p);
      if (prev !== v.seg) copies.push({ ...p, segment: o.segments[prev]!, crossing: true });
      if (o.dupShare && r() < o.dupShare) retries.push({ at: step + Math.floor(r() * 13), p: { ...p } });
      if (r() < (o.lateShare ?? 0.02)) lateLater.push({ ...p, seq: p.seq === null ? null : p.seq + 1_000_000, ts: ts - 3 * o.windowS * 1000 });
    }
    for (const x of retries.filter((x) => x.at <= step)) copies.push(x.p);
    retries.splice(0, retries.length, ...retries.filter((x) => x.at > step));
    // Late packets surface a few steps later (a gateway that flushed its buffer late).
    if (step % 7 === 6) copies.push(...lateLater.splice(0));
  }
  copies.push(...lateLater, ...retries.map((x) => x.p));
  const records = copies.map((p) => ({ topic: segmentTopic(p.segment), key: p.vehicleId, value: codec.encode(p) }));
  return { records, copies };
}

export async function produceInChunks(bus: Bus, records: ProduceRecord[], chunk = 500): Promise<void> {
  for (let i = 0; i < records.length; i += chunk) await bus.produce(records.slice(i, i + chunk));
}

/** Every message of a topic, in offset order per partition (a throwaway consumer group). */
export async function readTopic(bus: Bus, topic: string): Promise<BusMessage[]> {
  const ends = await bus.endOffsets(topic);
  const total = ends.reduce((s, e) => s + Number(e.offset), 0);
  const got: BusMessage[] = [];
  if (total === 0) return got;
  const c = bus.consumer({ groupId: randomName('reader'), topics: [topic], fromBeginning: true });
  await c.run(async (b) => {
    got.push(...b.messages);
  });
  try {
    await waitFor(() => got.length >= total, { timeoutMs: 30_000, what: `reading ${total} messages of ${topic}` });
  } finally {
    await c.stop();
  }
  return got.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
}

/** The oracle's input: every decodable copy of every topic, with its partition, in arrival order. */
export async function oracleInput(bus: Bus, segments: string[]): Promise<(OraclePacket | OracleTick)[]> {
  const out: (OraclePacket | OracleTick)[] = [];
  for (const s of segments) {
    for (const m of await readTopic(bus, segmentTopic(s))) {
      if (isTick(m.value)) {
        // A watermark tick: part of the partition's order for the oracle too (docs/segment.md).
        out.push({ tick: true, ts: tickCodec().decode(m.value).ts, segment: s, partition: m.partition });
        continue;
      }
      let p: EnrichedPacket;
      try {
        p = codec.decode(m.value);
      } catch {
        continue;
      }
      out.push({ ...p, partition: m.partition });
    }
  }
  return out;
}

interface StoredFlow {
  segment: string; cell: string; ws: number; v: number; p: number; ss: number; sc: number; iss: number; mn: number; mx: number;
}

export async function storedFlow(stores: Store[], windowS: number): Promise<StoredFlow[]> {
  const rows: StoredFlow[] = [];
  for (const st of stores) {
    const dup = await st.query(`SELECT count() AS c FROM traffic_flow GROUP BY segment, cell, window_start, window_s, part HAVING count() > 1`);
    expect(dup, `duplicate traffic_flow rows in ${st.database}`).toEqual([]);
    const got = await st.query<Record<string, string | number>>(
      `SELECT segment, toString(cell) AS cell, toUInt32(window_start) AS ws, sum(vehicles) AS v, sum(packets) AS p, sum(speed_sum) AS ss,
              sum(speed_count) AS sc, sum(inv_speed_sum) AS iss, minIf(min_speed, speed_count > 0) AS mn, maxIf(max_speed, speed_count > 0) AS mx
       FROM traffic_flow WHERE window_s = ${windowS} GROUP BY segment, cell, ws`,
    );
    for (const g of got) {
      rows.push({ segment: String(g.segment), cell: String(g.cell), ws: Number(g.ws), v: Number(g.v), p: Number(g.p), ss: Number(g.ss), sc: Number(g.sc), iss: Number(g.iss), mn: Number(g.mn), mx: Number(g.mx) });
    }
  }
  return rows;
}

const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));

/**
 * Stored traffic flow (summed over partitions and clouds) equals the oracle: integer columns
 * exactly, min/max exactly as Float32, the float sums to 1e-9 relative (ClickHouse and the
 * stream add the same terms in a different order than the oracle).
 */
export function expectFlowEqual(stored: StoredFlow[], oracle: OracleResult): void {
  const key = (s: string, c: string, ws: number) => `${s}|${c}|${ws}`;
  const want = new Map<string, FlowRow>(oracle.rows.map((r) => [key(r.segment, r.cell, r.windowStart), r]));
  const got = new Map(stored.map((r) => [key(r.segment, r.cell, r.ws), r]));
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  let worst = 0;
  for (const [k, w] of want) {
    const g = got.get(k)!;
    expect({ k, v: g.v, p: g.p, sc: g.sc, mn: Math.fround(g.mn), mx: Math.fround(g.mx) })
      .toEqual({ k, v: w.vehicles, p: w.packets, sc: w.speedCount, mn: Math.fround(w.minSpeed), mx: Math.fround(w.maxSpeed) });
    worst = Math.max(worst, rel(g.ss, w.speedSum), rel(g.iss, w.invSpeedSum));
  }
  expect(worst).toBeLessThan(1e-9);
}

/** Late owned packets stored (late = 1) equal the oracle's late set; packets stored once each. */
export async function expectPacketsEqual(stores: Store[], oracle: OracleResult): Promise<void> {
  let total = 0;
  const late: string[] = [];
  for (const st of stores) {
    const dup = await st.query(`SELECT count() AS c FROM packets GROUP BY segment, kafka_partition, kafka_offset HAVING count() > 1`);
    expect(dup, `duplicate packets rows in ${st.database}`).toEqual([]);
    const [c] = await st.query<{ c: string }>('SELECT count() AS c FROM packets');
    total += Number(c!.c);
    const l = await st.query<{ vehicle_id: string; ts_ms: string }>('SELECT vehicle_id, ts_ms FROM packets WHERE late = 1');
    late.push(...l.map((x) => `${x.vehicle_id}@${x.ts_ms}`));
  }
  expect(total).toBe(oracle.owned);
  expect(late.sort()).toEqual(oracle.late.map((p) => `${p.vehicleId}@${p.ts}`).sort());
}

export function oracleOf(input: readonly (OraclePacket | OracleTick)[], windowS: number, allowedLatenessS: number): OracleResult {
  return batchTrafficFlow(input, { windowS, allowedLatenessS });
}

/** The processors a suite starts (push each one), stopped after it, then its bus and store closed. */
export function closedAfterSuite(bus: Bus, store: Store): SegmentProcessor[] {
  const live: SegmentProcessor[] = [];
  afterAll(async () => {
    await Promise.allSettled(live.map((p) => p.stop()));
    await bus.close();
    await store.close();
  });
  return live;
}

/** A segment made for one test: a random id, its topic, a random consumer group. */
export interface TestSegment {
  seg: string;
  topic: string;
  groupId: string;
}

type SuiteProcessorOptions = Omit<SegmentProcessorOptions, 'bus' | 'store'> & Partial<Pick<SegmentProcessorOptions, 'bus' | 'store'>>;

/**
 * One segment suite's set-up: a bus, a fresh database on `cloud`'s ClickHouse, and the
 * processors the suite starts, all stopped and closed after it.
 */
export interface SegmentSuite {
  bus: Bus;
  store: Store;
  live: SegmentProcessor[];
  /** A fresh segment (id `<prefix>_<random>`) whose topic has `partitions` partitions on the suite's bus. */
  segment(prefix: string, partitions: number): Promise<TestSegment>;
  /**
   * A processor on the suite's bus and store (unless given), on the main thread (workers 0)
   * with the suite's window unless given; stopped after the suite.
   */
  processor(options: SuiteProcessorOptions): SegmentProcessor;
}

export function segmentSuite(bus: Bus, cloud: string, windowS: number): SegmentSuite {
  const store = testStore(cloud);
  const live = closedAfterSuite(bus, store);
  return {
    bus, store, live,
    async segment(prefix, partitions) {
      const seg = randomName(prefix);
      const topic = segmentTopic(seg);
      await bus.ensureTopics([{ topic, partitions }]);
      return { seg, topic, groupId: randomName('g') };
    },
    processor(options) {
      const p = createSegmentProcessor({ bus, store, workers: 0, windowS, ...options });
      live.push(p);
      return p;
    },
  };
}

/** Rows of one segment in a store's `packets`. */
export async function storedPackets(store: Store, seg: string): Promise<number> {
  return Number((await store.query<{ c: string }>(`SELECT count() AS c FROM packets WHERE segment = '${seg}'`))[0]!.c);
}

/** A group's committed offsets on a topic, with their metadata (read by a probe member of the group). */
export async function committedOffsets(bus: Bus, groupId: string, topic: string): Promise<TopicPartitionOffset[]> {
  const probe = bus.consumer({ groupId, topics: [topic] });
  try {
    return await probe.committed(topic);
  } finally {
    await probe.stop();
  }
}

/** The end offset of each partition of a topic. */
export async function endOffsetsOf(bus: Bus, topic: string): Promise<Map<number, number>> {
  return new Map((await bus.endOffsets(topic)).map((e) => [e.partition, Number(e.offset)]));
}

/** Whether a processor's next offset is the end, for every partition in `ends`. */
export function readToEnds(p: SegmentProcessor, ends: Map<number, number>): boolean {
  const { positions } = p.stats();
  return [...ends].every(([part, end]) => positions[part] === end);
}

/** What a processor logged as errors (its fields and message), for a test to check. */
export interface ErrorLog {
  errors: { obj: Record<string, unknown>; msg?: string }[];
  /** Keeps every error; info and warn go nowhere. */
  logger: Logger;
}

export function errorLog(): ErrorLog {
  const errors: ErrorLog['errors'] = [];
  return { errors, logger: { info() {}, warn() {}, error: (obj, msg) => errors.push({ obj: obj as Record<string, unknown>, msg }) } };
}

/**
 * The store's schema with plain MergeTree instead of ReplacingMergeTree for packets and
 * traffic_flow: a row written twice stays visible as two rows whatever the background merges
 * do, so a test's duplicate checks cannot be fooled (the fencing tests).
 */
export async function plainTables(store: Store): Promise<void> {
  await store.migrate();
  for (const t of [PACKETS, TRAFFIC_FLOW]) {
    await store.command(`DROP TABLE ${t.name}`);
    await store.command(createTableSql(store.database, { ...t, engine: t.engine.replace(/^ReplacingMergeTree\(\)/, 'MergeTree()') }));
  }
}
