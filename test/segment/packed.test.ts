// Kafka batches packed on arrival (src/segment/packed.ts): concatenation, dropping a
// processed head and reading a message back give exactly the messages that went in.
import { describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/bus/index.ts';
import { concatPacked, dropHead, firstAtOrAfter, keyAt, packBatch, pickMessages, taskBuffers, valueAt } from '../../src/segment/packed.ts';

const msg = (offset: number, key: string | null, value: string): BusMessage =>
  ({ topic: 't', partition: 0, offset: String(offset), key, value: Buffer.from(value), timestamp: 0, headers: {} });

describe('packed Kafka batches', () => {
  const a = [msg(10, 'veh-é', 'first'), msg(11, null, ''), msg(12, '', 'third')];
  const b = [msg(13, '車-1', 'fourth value'), msg(15, 'k5', 'fifth')];
  const all = [...a, ...b];
  const read = (p: ReturnType<typeof packBatch>) =>
    Array.from(p.offsets, (o, i) => [o, keyAt(p, i), valueAt(p, i).toString()]);

  it('round-trips keys (null, empty, unicode), values and offsets through concat and dropHead', () => {
    const p = concatPacked([packBatch(a, '14'), packBatch(b, '16')]);
    expect(p.highWatermark).toBe('16');
    expect(read(p)).toEqual(all.map((m) => [Number(m.offset), m.key, m.value.toString()]));
    for (let k = 0; k <= all.length; k++) {
      const d = dropHead(p, k);
      expect(read(d)).toEqual(all.slice(k).map((m) => [Number(m.offset), m.key, m.value.toString()]));
      // The pool's copies describe the same messages, from byte 0.
      const t = taskBuffers(d);
      expect(Array.from(t.ends)).toEqual(Array.from(d.ends));
      expect(Buffer.from(t.data).toString()).toBe(all.slice(k).map((m) => m.value.toString()).join(''));
    }
  });

  it('picks any subset of messages (a re-delivered range inside a step) with their keys and values', () => {
    const p = dropHead(concatPacked([packBatch(a, '14'), packBatch(b, '16')]), 1);
    const keep = [0, 2, 3];
    const got = pickMessages(p, keep);
    expect(read(got)).toEqual(keep.map((i) => all[i + 1]!).map((m) => [Number(m.offset), m.key, m.value.toString()]));
    expect(got.highWatermark).toBe('16');
    expect(read(pickMessages(p, []))).toEqual([]);
  });

  it('finds the first message at or after an offset (gaps included)', () => {
    const p = concatPacked([packBatch(a, '14'), packBatch(b, '16')]);
    expect([9, 10, 12, 14, 15, 16].map((o) => firstAtOrAfter(p, o))).toEqual([0, 0, 2, 4, 4, 5]);
  });
});
