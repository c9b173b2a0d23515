// `packets` rows as bytes ready for ClickHouse, built where the packet is decoded (a pool
// thread, or the main thread with workers: 0). The main thread then only slices and sends
// them (Store.insertEncoded): encoding 16-field row objects inside @clickhouse/client cost
// ~2.4 µs per row on the main thread, the bottleneck of the pooled processor.
//
// Two formats, chosen by what the store takes (Store.encodedFormats):
//  - JSONEachRow: what JSON.stringify of the equivalent PacketRow gives (same keys, numbers
//    via String(), non-finite numbers as null, strings via JSON.stringify), so the encoded
//    and the plain path store identical rows. Every adapter takes it (chDB included).
//  - RowBinary: the columns of PACKET_COLUMNS in that order, little-endian, strings as
//    LEB128 length + UTF-8. ClickHouse parses it several times cheaper than JSON, and on a
//    2-core box its parsing competes with the processor for the same cores. Stores the same
//    values as the JSON path (test/flow and the store contract check it on the server).
import { cellDecimal, cellHalves } from './cell.ts';
import type { EncodedRows, RowFormat } from './types.ts';

/** Columns of a RowBinary `packets` row, in order (INSERT INTO packets (…) FORMAT RowBinary). */
export const PACKET_COLUMNS = [
  'segment', 'vehicle_id', 'seq', 'ts', 'ts_ms', 'lat', 'lng', 'speed_kmh', 'heading', 'cell',
  'ingest_ts_ms', 'gateway_id', 'kafka_partition', 'kafka_offset', 'late', 'has_speed',
] as const;

export interface RowEncoder {
  readonly format: RowFormat;
  add(
    vehicleId: string, seq: number, tsMs: number, lat: number, lng: number, speed: number | null, heading: number, cellHex: string,
    ingestTs: number, gatewayId: string, offset: number, late: boolean,
  ): void;
  readonly count: number;
  finish(): EncodedRows;
}

export function createRowEncoder(format: RowFormat, segment: string, partition: number, capacity?: number): RowEncoder {
  return format === 'RowBinary' ? new RowBinaryEncoder(segment, partition, capacity) : new JsonRowEncoder(segment, partition, capacity);
}

/** The byte buffer and per-row bookkeeping (end, offset, month) both formats share. */
abstract class RowSink {
  protected buf: Buffer;
  protected pos = 0;
  private ends: number[] = [];
  private offsets: number[] = [];
  private months: number[] = [];
  // Month (yyyymm, UTC: toYYYYMM(ts)) of the last row and the epoch-ms range it covers: one
  // Date per month change, not per row.
  private monthLo = 1;
  private monthHi = 0;
  private month = 0;
  abstract readonly format: RowFormat;

  constructor(capacity: number) {
    // Not from Buffer's shared pool: the ArrayBuffer is transferred to the main thread.
    this.buf = Buffer.allocUnsafeSlow(capacity);
  }

  /** Make room for `bytes` more. */
  protected room(bytes: number): void {
    const need = this.pos + bytes;
    if (need <= this.buf.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** Close the row just written. */
  protected endRow(offset: number, tsMs: number): void {
    this.ends.push(this.pos);
    this.offsets.push(offset);
    if (!(tsMs >= this.monthLo && tsMs < this.monthHi)) {
      const d = new Date(tsMs);
      const y = d.getUTCFullYear();
      const m = d.getUTCMonth();
      this.month = y * 100 + m + 1;
      this.monthLo = Date.UTC(y, m, 1);
      this.monthHi = Date.UTC(y, m + 1, 1);
    }
    this.months.push(this.month);
  }

  get count(): number {
    return this.ends.length;
  }

  finish(): EncodedRows {
    return {
      format: this.format,
      body: new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos),
      ends: Uint32Array.from(this.ends),
      offsets: Float64Array.from(this.offsets),
      months: Uint32Array.from(this.months),
    };
  }
}

const num = (x: number): string => (Number.isFinite(x) ? String(x) : 'null');

export class JsonRowEncoder extends RowSink implements RowEncoder {
  readonly format = 'JSONEachRow' as const;
  private readonly head: string;
  private readonly tail: string;

  constructor(segment: string, partition: number, capacity = 64 * 1024) {
    super(capacity);
    this.head = `{"segment":${JSON.stringify(segment)},"vehicle_id":`;
    this.tail = `,"kafka_partition":${partition},"kafka_offset":"`;
  }

  add(
    vehicleId: string, seq: number, tsMs: number, lat: number, lng: number, speed: number | null, heading: number, cellHex: string,
    ingestTs: number, gatewayId: string, offset: number, late: boolean,
  ): void {
    const line = `${this.head}${JSON.stringify(vehicleId)},"seq":${num(seq)},"ts":${num(Math.floor(tsMs / 1000))},"ts_ms":${num(tsMs)},"lat":${num(lat)},"lng":${num(lng)},"speed_kmh":${speed === null ? '0' : num(speed)},"heading":${num(heading)},"cell":"${cellDecimal(cellHex)}","ingest_ts_ms":${num(ingestTs)},"gateway_id":${JSON.stringify(gatewayId)}${this.tail}${offset}","late":${late ? 1 : 0},"has_speed":${speed === null ? 0 : 1}}\n`;
    // A UTF-16 unit is at most 3 UTF-8 bytes: make room for the worst case, then write.
    this.room(line.length * 3);
    this.pos += this.buf.write(line, this.pos, 'utf8');
    this.endRow(offset, tsMs);
  }
}

const TWO_32 = 2 ** 32;
/** Fixed-width part of a RowBinary packets row (every column but the three strings). */
const FIXED_BYTES = 8 + 4 + 8 + 8 + 8 + 4 + 4 + 8 + 8 + 4 + 8 + 1 + 1;

export class RowBinaryEncoder extends RowSink implements RowEncoder {
  readonly format = 'RowBinary' as const;
  private readonly segment: Buffer;
  private readonly partition: number;
  private gatewayId = '';
  private gateway: Buffer = Buffer.from([0]);

  constructor(segment: string, partition: number, capacity = 64 * 1024) {
    super(capacity);
    this.segment = stringBytes(segment);
    this.partition = partition;
  }

  add(
    vehicleId: string, seq: number, tsMs: number, lat: number, lng: number, speed: number | null, heading: number, cellHex: string,
    ingestTs: number, gatewayId: string, offset: number, late: boolean,
  ): void {
    if (gatewayId !== this.gatewayId) {
      this.gatewayId = gatewayId;
      this.gateway = stringBytes(gatewayId);
    }
    this.room(this.segment.length + 5 + vehicleId.length * 3 + FIXED_BYTES + this.gateway.length);
    const b = this.buf;
    let p = this.pos;
    p += this.segment.copy(b, p);
    p = writeString(b, p, vehicleId);
    p = u64(b, p, seq);
    p = b.writeUInt32LE(uint(Math.floor(tsMs / 1000)) % TWO_32, p);
    p = u64(b, p, tsMs);
    p = b.writeDoubleLE(lat, p);
    p = b.writeDoubleLE(lng, p);
    p = b.writeFloatLE(speed === null ? 0 : speed, p);
    p = b.writeFloatLE(heading, p);
    const [lo, hi] = cellHalves(cellHex);
    p = b.writeUInt32LE(lo, p);
    p = b.writeUInt32LE(hi, p);
    p = u64(b, p, ingestTs);
    p += this.gateway.copy(b, p);
    p = b.writeUInt32LE(this.partition, p);
    p = u64(b, p, offset);
    p = b.writeUInt8(late ? 1 : 0, p);
    p = b.writeUInt8(speed === null ? 0 : 1, p);
    this.pos = p;
    this.endRow(offset, tsMs);
  }
}

/** A whole non-negative number below 2^53, else 0 (a UInt column cannot hold it). */
const uint = (x: number): number => (Number.isSafeInteger(x) && x >= 0 ? x : 0);

function u64(b: Buffer, p: number, x: number): number {
  const v = uint(x);
  b.writeUInt32LE(v % TWO_32, p);
  return b.writeUInt32LE(Math.floor(v / TWO_32), p + 4);
}

function varint(b: Buffer, p: number, n: number): number {
  while (n >= 0x80) {
    b[p++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  b[p++] = n;
  return p;
}

function writeString(b: Buffer, p: number, s: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  p = varint(b, p, n);
  return p + b.write(s, p, 'utf8');
}

function stringBytes(s: string): Buffer {
  const out = Buffer.allocUnsafe(5 + Buffer.byteLength(s, 'utf8'));
  return out.subarray(0, writeString(out, 0, s));
}

/** The transferable buffers of an EncodedRows (for Piscina.move / a transferList). */
export function encodedTransferables(e: EncodedRows): ArrayBuffer[] {
  return [e.body.buffer, e.ends.buffer, e.offsets.buffer, e.months.buffer] as ArrayBuffer[];
}

/** Byte range [from, to) of rows [i, j) of an EncodedRows. */
export function rowSlice(e: EncodedRows, i: number, j: number): Uint8Array {
  return e.body.subarray(i === 0 ? 0 : e.ends[i - 1]!, j === 0 ? 0 : e.ends[j - 1]!);
}

/**
 * Cut rows [0, n) into runs of consecutive rows of one month, at most `max` rows each (see
 * monthRuns in the processor: one run = one ClickHouse part = all or nothing).
 */
export function encodedMonthRuns(e: EncodedRows, max = 100_000): [number, number][] {
  const out: [number, number][] = [];
  const n = e.ends.length;
  let start = 0;
  for (let i = 1; i <= n; i++) {
    if (i === n || e.months[i] !== e.months[start] || i - start >= max) {
      if (i > start) out.push([start, i]);
      start = i;
    }
  }
  return out;
}

/** Rows of a JSONEachRow EncodedRows as objects (for a Store without insertEncoded). */
export function decodeRows(e: EncodedRows, i = 0, j = e.ends.length): Record<string, unknown>[] {
  if (e.format !== 'JSONEachRow') throw new Error(`decodeRows: ${e.format} rows cannot be decoded here`);
  const s = rowSlice(e, i, j);
  const text = Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('utf8');
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) if (line) out.push(JSON.parse(line) as Record<string, unknown>);
  return out;
}
