// Kafka batches packed the moment they arrive: values and keys copied into a few flat
// buffers, so the per-message objects of the Kafka client die young instead of waiting in a
// partition's queue (surviving objects are what the main thread's garbage collector pays
// for: it took ~25 % of that thread in the pooled benchmark). A step concatenates the
// packed batches it coalesces, drops an already-processed head, and hands copies of the
// value buffers to the pool (the originals stay for retries and the dead-letter topic).
import type { BusMessage } from '../bus/index.ts';

export interface PackedBatch {
  /** Message values back to back; value i is [ends[i-1] (or 0), ends[i]). */
  data: Uint8Array;
  ends: Uint32Array;
  offsets: Float64Array;
  /** Message keys (UTF-8) back to back, the same way; keyNull[i] = 1 for a null key. */
  keys: Uint8Array;
  keyEnds: Uint32Array;
  keyNull: Uint8Array;
  /** Log end offset of the partition when the (last) batch was fetched. */
  highWatermark: string;
}

export function packBatch(msgs: readonly BusMessage[], highWatermark: string): PackedBatch {
  const n = msgs.length;
  let bytes = 0;
  let keyBytes = 0;
  for (let i = 0; i < n; i++) {
    const m = msgs[i]!;
    bytes += m.value.length;
    if (m.key !== null) keyBytes += Buffer.byteLength(m.key, 'utf8');
  }
  const data = new Uint8Array(bytes);
  const ends = new Uint32Array(n);
  const offsets = new Float64Array(n);
  const keys = Buffer.allocUnsafe(keyBytes);
  const keyEnds = new Uint32Array(n);
  const keyNull = new Uint8Array(n);
  let p = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const m = msgs[i]!;
    data.set(m.value, p);
    p += m.value.length;
    ends[i] = p;
    offsets[i] = Number(m.offset);
    if (m.key === null) keyNull[i] = 1;
    else k += keys.write(m.key, k, 'utf8');
    keyEnds[i] = k;
  }
  return { data, ends, offsets, keys, keyEnds, keyNull, highWatermark };
}

/** Several packed batches of one partition, in order, as one. */
export function concatPacked(list: readonly PackedBatch[]): PackedBatch {
  if (list.length === 1) return list[0]!;
  let n = 0;
  let bytes = 0;
  let keyBytes = 0;
  for (const b of list) {
    n += b.offsets.length;
    bytes += b.data.length;
    keyBytes += b.keys.length;
  }
  const out: PackedBatch = {
    data: new Uint8Array(bytes), ends: new Uint32Array(n), offsets: new Float64Array(n),
    keys: new Uint8Array(keyBytes), keyEnds: new Uint32Array(n), keyNull: new Uint8Array(n),
    highWatermark: list[list.length - 1]!.highWatermark,
  };
  let i = 0;
  let p = 0;
  let k = 0;
  for (const b of list) {
    out.data.set(b.data, p);
    out.keys.set(b.keys, k);
    out.offsets.set(b.offsets, i);
    out.keyNull.set(b.keyNull, i);
    for (let j = 0; j < b.offsets.length; j++) {
      out.ends[i + j] = b.ends[j]! + p;
      out.keyEnds[i + j] = b.keyEnds[j]! + k;
    }
    i += b.offsets.length;
    p += b.data.length;
    k += b.keys.length;
  }
  return out;
}

/** Messages [from, n) of a packed batch (a view of the same bytes, ends rebased). */
export function dropHead(b: PackedBatch, from: number): PackedBatch {
  if (from <= 0) return b;
  const base = b.ends[from - 1]!;
  const keyBase = b.keyEnds[from - 1]!;
  return {
    data: b.data.subarray(base),
    ends: b.ends.subarray(from).map((e) => e - base),
    offsets: b.offsets.subarray(from),
    keys: b.keys.subarray(keyBase),
    keyEnds: b.keyEnds.subarray(from).map((e) => e - keyBase),
    keyNull: b.keyNull.subarray(from),
    highWatermark: b.highWatermark,
  };
}

/** The messages at indices `keep` (ascending) of a packed batch, copied into a new one. */
export function pickMessages(b: PackedBatch, keep: readonly number[]): PackedBatch {
  const n = keep.length;
  let bytes = 0;
  let keyBytes = 0;
  const span = (ends: Uint32Array, i: number) => [i === 0 ? 0 : ends[i - 1]!, ends[i]!] as const;
  for (const i of keep) {
    const [s, e] = span(b.ends, i);
    const [ks, ke] = span(b.keyEnds, i);
    bytes += e - s;
    keyBytes += ke - ks;
  }
  const out: PackedBatch = {
    data: new Uint8Array(bytes), ends: new Uint32Array(n), offsets: new Float64Array(n),
    keys: new Uint8Array(keyBytes), keyEnds: new Uint32Array(n), keyNull: new Uint8Array(n), highWatermark: b.highWatermark,
  };
  let p = 0;
  let k = 0;
  keep.forEach((i, j) => {
    const [s, e] = span(b.ends, i);
    const [ks, ke] = span(b.keyEnds, i);
    out.data.set(b.data.subarray(s, e), p);
    out.keys.set(b.keys.subarray(ks, ke), k);
    p += e - s;
    k += ke - ks;
    out.ends[j] = p;
    out.keyEnds[j] = k;
    out.offsets[j] = b.offsets[i]!;
    out.keyNull[j] = b.keyNull[i]!;
  });
  return out;
}

/** Fresh copies of the value buffers, for a pool task (they are transferred to the thread). */
export function taskBuffers(b: PackedBatch): { data: Uint8Array; ends: Uint32Array; offsets: Float64Array } {
  return { data: b.data.slice(), ends: b.ends.slice(), offsets: b.offsets.slice() };
}

export function valueAt(b: PackedBatch, i: number): Buffer {
  const start = i === 0 ? 0 : b.ends[i - 1]!;
  return Buffer.from(b.data.buffer, b.data.byteOffset + start, b.ends[i]! - start);
}

export function keyAt(b: PackedBatch, i: number): string | null {
  if (b.keyNull[i]) return null;
  const start = i === 0 ? 0 : b.keyEnds[i - 1]!;
  return Buffer.from(b.keys.buffer, b.keys.byteOffset, b.keys.byteLength).toString('utf8', start, b.keyEnds[i]!);
}

/** Index of the first message with offset >= `offset` (offsets ascend). */
export function firstAtOrAfter(b: PackedBatch, offset: number): number {
  let lo = 0;
  let hi = b.offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (b.offsets[mid]! < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
