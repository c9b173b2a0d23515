// Typed messages between the segment processor (main thread) and its Piscina workers, and
// the aggregate types they share. Everything crossing the thread boundary is declared here
// (piscina src/types.ts habit) so both sides cannot drift.

/** Flow rule parameters, identical for the streaming path and the batch oracle. */
/**
 * The one default allowed lateness, seconds (segment processors, `iov segment`, the demo):
 * a window is stored about this long after its end. Short, because the gateway already keeps
 * each vehicle's packets in order per partition; packets later than this are counted as late
 * (metric and `late` rows), never lost. Raise it with `--lateness` where telematics gateways
 * upload in batches (docs/segment.md, "Window semantics").
 */
export const DEFAULT_ALLOWED_LATENESS_S = 1;

/** The one default tumbling window, seconds. */
export const DEFAULT_WINDOW_S = 60;

export interface FlowRules {
  /** Tumbling event-time window length, seconds (positive integer). */
  windowS: number;
  /** A window closes once the partition watermark reaches window end + this, ms. */
  allowedLatenessMs: number;
  /**
   * Duplicate horizon, ms (docs/segment.md, Duplicates): an owned packet whose key (vehicle,
   * seq — or ts without a seq) was already seen in the partition is a duplicate while
   * window end + allowedLatenessMs + this > the watermark before it. Absent: 0.
   */
  dedupHorizonMs?: number;
}

/**
 * The mergeable aggregate of one (cell, window) — and in the stream, of one Kafka
 * partition. Columns follow DESIGN.md §2b. Speed rule (docs/segment.md):
 *  - packet without speed: counts in `packets` (and `vehicles`), not in any speed column;
 *  - speed s ≥ 0: speedSum += s, speedCount += 1, invSpeedSum += 1 / max(s, MIN_SPEED_KMH),
 *    min/max over s. A stationary vehicle is taken as crawling at MIN_SPEED_KMH in the
 *    harmonic (space-mean) speed, so speedCount is the one count for both means.
 */
export interface CellAgg extends FlowSums {
  vehicles: Set<string>;
}

/**
 * The mergeable sums of a cell's window, the same in the live aggregate, a worker's partial
 * and the stored row. While speedCount = 0, minSpeed / maxSpeed are +Infinity / -Infinity in
 * CellAgg and PartialCell, and 0 in FlowRow (Float32 column, no NULL: roll up with
 * minIf(min_speed, speed_count > 0)).
 */
export interface FlowSums {
  packets: number;
  speedSum: number;
  speedCount: number;
  invSpeedSum: number;
  minSpeed: number;
  maxSpeed: number;
}

/** Floor for the inverse-speed term: 1 / 0 is undefined, so 0 km/h counts as 1 km/h there. */
export const MIN_SPEED_KMH = 1;

/** A flow row before storage: one (segment, cell, window) [per partition in the stream]. */
export interface FlowRow extends FlowSums {
  segment: string;
  /** H3 cell, decimal string (ClickHouse UInt64). */
  cell: string;
  /** Window start, epoch seconds. */
  windowStart: number;
  windowS: number;
  vehicles: number;
}

/** Partial aggregate of one cell of one window, as a worker returns it (vehicles as an array). */
export interface PartialCell extends FlowSums {
  windowStart: number;
  cell: string;
  vehicles: string[];
}

/** First on-time contribution to a window within one batch: where a resume must re-read from. */
export interface WindowOpen {
  windowStart: number;
  /** Offset of the first message that contributed. */
  offset: number;
  /** Partition watermark just before that message (max ts of all earlier messages). */
  wmBefore: number;
}

export interface PoisonMessage {
  offset: number;
  code: string;
  reason: string;
}

// ---------- main → worker ----------

export interface BatchTask {
  segment: string;
  partition: number;
  rules: FlowRules;
  /** Message values concatenated; `ends[i]` is the end of message i in `data`. */
  data: Uint8Array;
  ends: Uint32Array;
  /** Kafka offsets of the messages (safe integers). */
  offsets: Float64Array;
  /** Partition watermark before the first message (-Infinity for a fresh partition). */
  wm: number;
  /** Windows (epoch s) already stored for this partition: their on-time packets are skipped. */
  skipWindows: number[];
  /** Owned packets with an offset below this are already in `packets`: no row again. */
  packetsFrom: number;
  /** Return `packets` rows as bytes in this format (`encoded`; true = JSONEachRow) instead of row objects. */
  encode?: boolean | RowFormat;
  /**
   * Writer schemas (Avro JSON) by Schema Registry id, for messages written with another
   * schema than the built-in one (schema evolution, docs/schemas.md); looked up by the
   * processor's main thread before the batch is sent.
   */
  writerSchemas?: Record<number, string>;
  /** Offsets of owned packets the main thread found to be duplicates: skipped (not counted, not stored). */
  duplicates?: number[];
  /** Pool warm-up: the worker holds its thread this long (ms) so each thread gets one warm task. */
  holdMs?: number;
  /** Test fault: 'throw' makes the worker throw, 'exit' makes the worker thread die. */
  fault?: 'throw' | 'exit';
}

/** A `packets` row (DESIGN.md §2b plus kafka_partition/kafka_offset/late/has_speed). */
export interface PacketRow {
  segment: string;
  vehicle_id: string;
  seq: number;
  ts: number;
  ts_ms: number;
  lat: number;
  lng: number;
  speed_kmh: number;
  heading: number;
  cell: string;
  ingest_ts_ms: number;
  gateway_id: string;
  kafka_partition: number;
  kafka_offset: string;
  late: number;
  has_speed: number;
}

// ---------- worker → main ----------

/**
 * `packets` rows in columns: what a worker sends back instead of row objects, because
 * structured clone of 16-field objects cost the main thread more than the decode it saves.
 */
export interface PackedRows {
  segment: string;
  partition: number;
  vehicleId: string[];
  cell: string[];
  gatewayId: string[];
  seq: Float64Array;
  tsMs: Float64Array;
  lat: Float64Array;
  lng: Float64Array;
  speed: Float32Array;
  heading: Float32Array;
  ingestTs: Float64Array;
  offset: Float64Array;
  /** bit 0: late, bit 1: has_speed */
  flags: Uint8Array;
}

/**
 * `packets` rows as JSONEachRow bytes (in offset order), made where they were decoded, so the
 * main thread only slices and sends them (all four buffers are transferred, not copied).
 */
/** Encodings of `packets` rows the processor can hand to Store.insertEncoded. */
export type RowFormat = 'JSONEachRow' | 'RowBinary';

export interface EncodedRows {
  format: RowFormat;
  /** Row i is bytes [ends[i-1] (or 0), ends[i]) (JSONEachRow: newline included). */
  body: Uint8Array;
  ends: Uint32Array;
  /** Kafka offset of each row. */
  offsets: Float64Array;
  /** toYYYYMM(ts) of each row (UTC): the packets table's partition. */
  months: Uint32Array;
}

export interface BatchResult {
  /** Partition watermark after the batch. */
  wm: number;
  cells: PartialCell[];
  opens: WindowOpen[];
  /** Row objects (in-process), or empty with `packed` set (from a worker). */
  rows: PacketRow[];
  packed?: PackedRows;
  /** With `task.encode`: the rows as encoded bytes (and `rows` empty). */
  encoded?: EncodedRows;
  poison: PoisonMessage[];
  /** Owned packets seen (on-time + late, including skipped replays). */
  owned: number;
  /** Owned packets that were late (their window had closed). */
  late: number;
  /** Copies owned by another segment (crossing copies): they only move the watermark. */
  foreign: number;
  /** On-time packets skipped because their window is already stored (replay after restart). */
  replayed: number;
  /** Owned packets skipped as duplicates (task.duplicates); not in `owned`. */
  duplicates: number;
  /** Watermark ticks read (docs/segment.md, Quiet partitions): they only move `wm`. */
  ticks: number;
  /**
   * Dedup keys of the owned packets within the duplicate horizon, in offset order, for the
   * main thread to check against the partition's earlier keys (DedupKeys).
   */
  keys: DedupCandidates;
}

export interface DedupCandidates {
  vehicles: string[];
  /** dedupId of each packet (seq, or −ts − 1). */
  ids: Float64Array;
  /** Window start (epoch s) of each key's packet. */
  windows: Float64Array;
  offsets: Float64Array;
}
