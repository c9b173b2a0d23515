// Produce records <-> one transferable ArrayBuffer, for handing a batch to the producer
// worker without structured-cloning thousands of objects. Per record:
//   u16 topic index | u16 key bytes | key (UTF-8) | u32 value bytes | value
//   | u16 header count | per header: u16 name bytes, name, u32 value bytes, value
import type { ProduceRecord } from '../bus/index.ts';

export interface PackedRecords {
  topics: string[];
  buf: ArrayBuffer;
  count: number;
}

export function packRecords(records: ProduceRecord[]): PackedRecords {
  const topics: string[] = [];
  const topicIdx = new Map<string, number>();
  let bound = 0;
  for (const r of records) {
    bound += 10 + 3 * r.key.length + r.value.length;
    if (r.headers) for (const k in r.headers) bound += 6 + 3 * k.length + 3 * r.headers[k]!.length;
  }
  // allocUnsafeSlow: an ArrayBuffer of its own (never a slice of the shared pool), so it can
  // be transferred to the worker.
  const buf = Buffer.allocUnsafeSlow(bound);
  let p = 0;
  for (const r of records) {
    let t = topicIdx.get(r.topic);
    if (t === undefined) {
      t = topics.length;
      if (t > 0xffff) throw new RangeError('more than 65 536 topics in one batch');
      topics.push(r.topic);
      topicIdx.set(r.topic, t);
    }
    buf.writeUInt16LE(t, p);
    const kl = buf.write(r.key, p + 4, 'utf8');
    if (kl > 0xffff) throw new RangeError('record key over 65 535 bytes');
    buf.writeUInt16LE(kl, p + 2);
    p += 4 + kl;
    buf.writeUInt32LE(r.value.length, p);
    buf.set(r.value, p + 4);
    p += 4 + r.value.length;
    const h = r.headers;
    if (h === undefined) {
      buf.writeUInt16LE(0, p);
      p += 2;
      continue;
    }
    const names = Object.keys(h);
    buf.writeUInt16LE(names.length, p);
    p += 2;
    for (const k of names) {
      const nl = buf.write(k, p + 2, 'utf8');
      buf.writeUInt16LE(nl, p);
      p += 2 + nl;
      const vl = buf.write(h[k]!, p + 4, 'utf8');
      buf.writeUInt32LE(vl, p);
      p += 4 + vl;
    }
  }
  // The whole (over-allocated) buffer is transferred, not copied; the reader stops at `count`.
  return { topics, buf: buf.buffer as ArrayBuffer, count: records.length };
}

export function unpackRecords(topics: string[], buf: Buffer, count: number): ProduceRecord[] {
  const out: ProduceRecord[] = new Array<ProduceRecord>(count);
  let p = 0;
  for (let i = 0; i < count; i++) {
    const topic = topics[buf.readUInt16LE(p)];
    if (topic === undefined) throw new RangeError(`record ${i}: bad topic index`);
    const kl = buf.readUInt16LE(p + 2);
    const key = buf.toString('utf8', p + 4, p + 4 + kl);
    p += 4 + kl;
    const vl = buf.readUInt32LE(p);
    const value = buf.subarray(p + 4, p + 4 + vl);
    p += 4 + vl;
    const nh = buf.readUInt16LE(p);
    p += 2;
    if (nh === 0) {
      out[i] = { topic, key, value };
      continue;
    }
    const headers: Record<string, string> = {};
    for (let j = 0; j < nh; j++) {
      const nl = buf.readUInt16LE(p);
      const name = buf.toString('utf8', p + 2, p + 2 + nl);
      p += 2 + nl;
      const vl2 = buf.readUInt32LE(p);
      headers[name] = buf.toString('utf8', p + 4, p + 4 + vl2);
      p += 4 + vl2;
    }
    out[i] = { topic, key, value, headers };
  }
  if (p > buf.length) throw new RangeError('packed records overrun their buffer');
  return out;
}
