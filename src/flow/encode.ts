// `packets` rows as JSONEachRow bytes, built where the packet is decoded (a pool thread, or
// the main thread with workers: 0). The main thread then only slices and sends the bytes
// (Store.insertEncoded): encoding 16-field row objects inside @clickhouse/client cost
// ~2.4 µs per row on the main thread, the bottleneck of the pooled processor.
//
// Output is what JSON.stringify of the equivalent PacketRow gives (same keys, numbers via
// String(), non-finite numbers as null, strings via JSON.stringify), so the two paths store
// identical rows.
import type { EncodedRows } from './types.ts';

const num = (x: number): string => (Number.isFinite(x) ? String(x) : 'null');

export class PacketRowEncoder {
  private buf: Buffer;
  private pos = 0;
  private ends: number[] = [];
  private offsets: number[] = [];
  private months: number[] = [];
  private readonly head: string;
  private readonly tail: string;
  // Month (yyyymm, UTC: toYYYYMM(ts)) of the last row and the epoch-ms range it covers: one
  // Date per month change, not per row.
  private monthLo = 1;
  private monthHi = 0;
  private month = 0;

  constructor(segment: string, partition: number, capacity = 64 * 1024) {
    // Not from Buffer's shared pool: the ArrayBuffer is transferred to the main thread.
    this.buf = Buffer.allocUnsafeSlow(capacity);
    this.head = `{"segment":${JSON.stringify(segment)},"vehicle_id":`;
    this.tail = `,"kafka_partition":${partition},"kafka_offset":"`;
  }

  add(
    vehicleId: string, seq: number, tsMs: number, lat: number, lng: number, speed: number | null, heading: number, cell: string,
    ingestTs: number, gatewayId: string, offset: number, late: boolean,
  ): void {
    const line = `${this.head}${JSON.stringify(vehicleId)},"seq":${num(seq)},"ts":${num(Math.floor(tsMs / 1000))},"ts_ms":${num(tsMs)},"lat":${num(lat)},"lng":${num(lng)},"speed_kmh":${speed === null ? '0' : num(speed)},"heading":${num(heading)},"cell":"${cell}","ingest_ts_ms":${num(ingestTs)},"gateway_id":${JSON.stringify(gatewayId)}${this.tail}${offset}","late":${late ? 1 : 0},"has_speed":${speed === null ? 0 : 1}}\n`;
    // A UTF-16 unit is at most 3 UTF-8 bytes: make room for the worst case, then write.
    const need = this.pos + line.length * 3;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.pos);
      this.buf = grown;
    }
    this.pos += this.buf.write(line, this.pos, 'utf8');
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
      body: new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos),
      ends: Uint32Array.from(this.ends),
      offsets: Float64Array.from(this.offsets),
      months: Uint32Array.from(this.months),
    };
  }
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

/** Rows of an EncodedRows as objects (for a Store without insertEncoded). */
export function decodeRows(e: EncodedRows, i = 0, j = e.ends.length): Record<string, unknown>[] {
  const s = rowSlice(e, i, j);
  const text = Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('utf8');
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) if (line) out.push(JSON.parse(line) as Record<string, unknown>);
  return out;
}
