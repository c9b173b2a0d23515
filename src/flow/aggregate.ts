// The streaming half of traffic flow, as pure functions: decode one partition's batch,
// classify each packet against the running watermark, pre-aggregate per (window, cell), and
// merge partial aggregates. The same code runs in a Piscina worker or in-process.
//
// Lateness is decided per message, never per batch, so the outcome depends only on the
// partition's message order — not on how the stream was cut into batches or where a
// restart happened (docs/segment.md, "Why the result is deterministic").
import { createResolvingDecoder, CodecError, fixedIds, isTick, readSchema, tickCodec, type EnrichedPacket, type ResolvingDecoder } from '../schemas/index.ts';
import { cellDecimal } from './cell.ts';
import {
  MIN_SPEED_KMH, type BatchResult, type BatchTask, type CellAgg, type FlowRow, type FlowRules, type PackedRows, type PacketRow,
  type PartialCell, type PoisonMessage, type WindowOpen,
} from './types.ts';
import { createRowEncoder } from './encode.ts';

// Reads the built-in EnrichedPacket id, and any writer schema the task brings (registry ids).
let codec: ResolvingDecoder<EnrichedPacket> | undefined;

/** Window start (epoch seconds) of an event time in ms. */
export function windowStartOf(tsMs: number, windowS: number): number {
  return Math.floor(tsMs / (windowS * 1000)) * windowS;
}

/**
 * A packet's identity within its vehicle (the gateway's dedupKey): its seq, or its event
 * time when it has no seq, as one number (seq > 0; −ts − 1 < 0). Stored `packets` rows keep
 * seq 0 for "absent", so seq 0 counts as absent here too: an id rebuilt from a stored row is
 * the id the stream computed. A number, not a string: no string is built per packet.
 */
export function dedupId(seq: number | null | undefined, tsMs: number): number {
  return seq ? seq : -tsMs - 1;
}

/**
 * Is a packet of window `windowStart` within the duplicate horizon at watermark `wm`? Only
 * such packets are checked and remembered; the rule depends on the message order alone.
 */
export function withinDedupHorizon(windowStart: number, wm: number, rules: FlowRules): boolean {
  return (windowStart + rules.windowS) * 1000 + rules.allowedLatenessMs + (rules.dedupHorizonMs ?? 0) > wm;
}

/** Is the window starting at `windowStart` closed once the watermark is `wm`? */
export function windowClosed(windowStart: number, wm: number, rules: FlowRules): boolean {
  return (windowStart + rules.windowS) * 1000 + rules.allowedLatenessMs <= wm;
}

export function emptyAgg(): CellAgg {
  return { vehicles: new Set(), packets: 0, speedSum: 0, speedCount: 0, invSpeedSum: 0, minSpeed: Infinity, maxSpeed: -Infinity };
}

/** Add one packet to an aggregate (the speed rule lives here and in the oracle). */
export function addPacket(a: CellAgg | PartialCellAcc, vehicleId: string, speed: number | null): void {
  a.vehicles.add(vehicleId);
  a.packets += 1;
  if (speed !== null && Number.isFinite(speed)) {
    a.speedSum += speed;
    a.speedCount += 1;
    a.invSpeedSum += 1 / Math.max(speed, MIN_SPEED_KMH);
    if (speed < a.minSpeed) a.minSpeed = speed;
    if (speed > a.maxSpeed) a.maxSpeed = speed;
  }
}

interface PartialCellAcc extends Omit<PartialCell, 'vehicles'> {
  vehicles: Set<string>;
}

/** Merge a worker's partial cell into the open-window state (exact: sums, set union, min/max). */
export function mergePartial(into: CellAgg, p: PartialCell): void {
  for (const v of p.vehicles) into.vehicles.add(v);
  into.packets += p.packets;
  into.speedSum += p.speedSum;
  into.speedCount += p.speedCount;
  into.invSpeedSum += p.invSpeedSum;
  if (p.minSpeed < into.minSpeed) into.minSpeed = p.minSpeed;
  if (p.maxSpeed > into.maxSpeed) into.maxSpeed = p.maxSpeed;
}

export function toFlowRow(segment: string, cell: string, windowStart: number, windowS: number, a: CellAgg): FlowRow {
  const hasSpeed = a.speedCount > 0;
  return {
    segment, cell, windowStart, windowS,
    vehicles: a.vehicles.size,
    packets: a.packets,
    speedSum: a.speedSum,
    speedCount: a.speedCount,
    invSpeedSum: a.invSpeedSum,
    minSpeed: hasSpeed ? a.minSpeed : 0,
    maxSpeed: hasSpeed ? a.maxSpeed : 0,
  };
}

/** A FlowRow as a `traffic_flow` insert row of Kafka partition `part`. */
export function toTrafficFlowRecord(r: FlowRow, part: number): Record<string, unknown> {
  return {
    window_start: r.windowStart, window_s: r.windowS, segment: r.segment, cell: r.cell,
    vehicles: r.vehicles, packets: r.packets, speed_sum: r.speedSum, speed_count: r.speedCount,
    inv_speed_sum: r.invSpeedSum, min_speed: r.minSpeed, max_speed: r.maxSpeed, part,
  };
}

/**
 * Process one partition's batch: decode, classify, pre-aggregate. Pure apart from the
 * module-level codec and cell cache; never throws on bad input (poison is reported).
 */
export function processBatch(task: BatchTask): BatchResult {
  codec ??= createResolvingDecoder<EnrichedPacket>(readSchema('enriched-packet'), fixedIds()['io.iov.pipeline.EnrichedPacket']!);
  if (task.writerSchemas) codec.learn(task.writerSchemas);
  const { rules, segment, partition } = task;
  const skip = new Set(task.skipWindows);
  const drop = new Set(task.duplicates ?? []);
  const keyVehicles: string[] = [];
  const keyIds: number[] = [];
  const keyWindows: number[] = [];
  const keyOffsets: number[] = [];
  let duplicates = 0;
  const cells = new Map<string, PartialCellAcc>();
  const opens = new Map<number, WindowOpen>();
  const rows: PacketRow[] = [];
  const enc = task.encode ? createRowEncoder(task.encode === true ? 'JSONEachRow' : task.encode, segment, partition, Math.max(4096, task.data.length * 4)) : undefined;
  const poison: PoisonMessage[] = [];
  let wm = task.wm;
  let owned = 0, late = 0, foreign = 0, replayed = 0, ticks = 0;
  const n = task.ends.length;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = task.ends[i]!;
    const offset = task.offsets[i]!;
    const buf = Buffer.from(task.data.buffer, task.data.byteOffset + start, end - start);
    start = end;
    if (isTick(buf)) {
      // A watermark tick (docs/segment.md, Quiet partitions): part of the partition's message
      // order like any packet; it only moves the watermark on (never back).
      const t = decodeTick(buf, offset, poison);
      if (t === undefined) continue;
      ticks++;
      if (t > wm) wm = t;
      continue;
    }
    let p: EnrichedPacket;
    try {
      p = codec.decode(buf);
      if (!Number.isSafeInteger(p.ts)) throw new CodecError('BAD_AVRO', `ts ${p.ts} is not an epoch-ms integer`);
      if (typeof p.cell !== 'string' || !/^[0-9a-f]{15}$/.test(p.cell)) throw new CodecError('BAD_AVRO', `cell "${String(p.cell)}" is not an H3 index`);
    } catch (err) {
      const e = err as Error & { code?: string };
      poison.push({ offset, code: e instanceof CodecError ? e.code : 'BAD_MESSAGE', reason: e.message });
      continue;
    }
    const wmBefore = wm;
    if (p.ts > wm) wm = p.ts;
    if (p.ownerSegment !== segment || p.crossing) {
      // A crossing copy (or a copy owned elsewhere): it ends the vehicle's track here and
      // moves event time on, but it is counted only by its owner (DESIGN.md §3).
      foreign++;
      continue;
    }
    const ws = windowStartOf(p.ts, rules.windowS);
    if (drop.has(offset)) {
      duplicates++;
      continue;
    }
    if (withinDedupHorizon(ws, wmBefore, rules)) {
      keyVehicles.push(p.vehicleId);
      keyIds.push(dedupId(p.seq, p.ts));
      keyWindows.push(ws);
      keyOffsets.push(offset);
    }
    owned++;
    const isLate = windowClosed(ws, wmBefore, rules);
    const speed = p.speedKmh !== null && Number.isFinite(p.speedKmh) ? p.speedKmh : null;
    if (isLate) late++;
    else if (skip.has(ws)) replayed++;
    else {
      const cell = cellDecimal(p.cell);
      const key = `${ws}|${cell}`;
      let acc = cells.get(key);
      if (!acc) {
        acc = { windowStart: ws, cell, vehicles: new Set(), packets: 0, speedSum: 0, speedCount: 0, invSpeedSum: 0, minSpeed: Infinity, maxSpeed: -Infinity };
        cells.set(key, acc);
      }
      addPacket(acc, p.vehicleId, speed);
      if (!opens.has(ws)) opens.set(ws, { windowStart: ws, offset, wmBefore });
    }
    if (offset >= task.packetsFrom && enc) {
      enc.add(p.vehicleId, p.seq ?? 0, p.ts, p.lat, p.lng, speed, p.heading ?? 0, p.cell, p.ingestTs, p.gatewayId, offset, isLate);
    } else if (offset >= task.packetsFrom) {
      rows.push({
        segment,
        vehicle_id: p.vehicleId,
        seq: p.seq ?? 0,
        ts: Math.floor(p.ts / 1000),
        ts_ms: p.ts,
        lat: p.lat,
        lng: p.lng,
        speed_kmh: speed ?? 0,
        heading: p.heading ?? 0,
        cell: cellDecimal(p.cell),
        ingest_ts_ms: p.ingestTs,
        gateway_id: p.gatewayId,
        kafka_partition: partition,
        kafka_offset: String(offset),
        late: isLate ? 1 : 0,
        has_speed: speed === null ? 0 : 1,
      });
    }
  }
  const out: PartialCell[] = [];
  for (const c of cells.values()) out.push({ ...c, vehicles: [...c.vehicles] });
  return {
    wm, cells: out, opens: [...opens.values()], rows, ...(enc ? { encoded: enc.finish() } : {}), poison, owned, late, foreign, replayed, duplicates, ticks,
    keys: { vehicles: keyVehicles, ids: Float64Array.from(keyIds), windows: Float64Array.from(keyWindows), offsets: Float64Array.from(keyOffsets) },
  };
}

/** A tick's watermark, or undefined (reported as poison) when its body does not decode. */
function decodeTick(buf: Buffer, offset: number, poison: PoisonMessage[]): number | undefined {
  try {
    const t = tickCodec().decode(buf);
    if (!Number.isSafeInteger(t.ts)) throw new CodecError('BAD_AVRO', `tick ts ${t.ts} is not an epoch-ms integer`);
    return t.ts;
  } catch (err) {
    const e = err as Error;
    poison.push({ offset, code: e instanceof CodecError ? e.code : 'BAD_MESSAGE', reason: e.message });
    return undefined;
  }
}

/** Rows → columns (in the worker). */
export function packRows(rows: PacketRow[], segment: string, partition: number): PackedRows {
  const n = rows.length;
  const p: PackedRows = {
    segment, partition, vehicleId: new Array<string>(n), cell: new Array<string>(n), gatewayId: new Array<string>(n),
    seq: new Float64Array(n), tsMs: new Float64Array(n), lat: new Float64Array(n), lng: new Float64Array(n),
    speed: new Float32Array(n), heading: new Float32Array(n), ingestTs: new Float64Array(n), offset: new Float64Array(n), flags: new Uint8Array(n),
  };
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    p.vehicleId[i] = r.vehicle_id; p.cell[i] = r.cell; p.gatewayId[i] = r.gateway_id;
    p.seq[i] = r.seq; p.tsMs[i] = r.ts_ms; p.lat[i] = r.lat; p.lng[i] = r.lng; p.speed[i] = r.speed_kmh; p.heading[i] = r.heading;
    p.ingestTs[i] = r.ingest_ts_ms; p.offset[i] = Number(r.kafka_offset); p.flags[i] = r.late | (r.has_speed << 1);
  }
  return p;
}

/** Columns → rows (on the main thread); exact, since speeds and headings are Float32 already. */
export function unpackRows(p: PackedRows): PacketRow[] {
  const n = p.offset.length;
  const out = new Array<PacketRow>(n);
  for (let i = 0; i < n; i++) {
    const tsMs = p.tsMs[i]!;
    out[i] = {
      segment: p.segment, vehicle_id: p.vehicleId[i]!, seq: p.seq[i]!, ts: Math.floor(tsMs / 1000), ts_ms: tsMs,
      lat: p.lat[i]!, lng: p.lng[i]!, speed_kmh: p.speed[i]!, heading: p.heading[i]!, cell: p.cell[i]!, ingest_ts_ms: p.ingestTs[i]!,
      gateway_id: p.gatewayId[i]!, kafka_partition: p.partition, kafka_offset: String(p.offset[i]!), late: p.flags[i]! & 1, has_speed: (p.flags[i]! >> 1) & 1,
    };
  }
  return out;
}

/**
 * Pack message values (Buffers, or messages with `value` and a decimal `offset`) into one
 * buffer for a worker task; its ArrayBuffer is not shared with anything, so it can be transferred.
 */
export function packMessages(values: readonly (Buffer | { value: Buffer; offset: string })[]): { data: Uint8Array; ends: Uint32Array; offsets: Float64Array } {
  const n = values.length;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    total += (Buffer.isBuffer(v) ? v : v.value).length;
  }
  const data = new Uint8Array(total);
  const ends = new Uint32Array(n);
  const offsets = new Float64Array(n);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const m = values[i]!;
    const v = Buffer.isBuffer(m) ? m : m.value;
    data.set(v, pos);
    pos += v.length;
    ends[i] = pos;
    offsets[i] = Buffer.isBuffer(m) ? i : Number(m.offset);
  }
  return { data, ends, offsets };
}
