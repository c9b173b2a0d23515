// Records cross to the producer worker as one packed buffer: the round trip must be exact
// (topics, keys incl. non-ASCII, values as bytes, headers) and the buffer transferable.
import { describe, expect, it } from 'vitest';
import type { ProduceRecord } from '../../../src/bus/index.ts';
import { packRecords, unpackRecords } from '../../../src/gateway/pack.ts';

describe('packRecords / unpackRecords', () => {
  it('round-trips records exactly', () => {
    const records: ProduceRecord[] = [
      { topic: 'iov.seg.north.packets', key: 'veh-1', value: Buffer.from([0, 0, 0, 0, 1, 2, 3]) },
      { topic: 'iov.seg.south.packets', key: 'vé-ü-车', value: Buffer.alloc(0) },
      { topic: 'iov.seg.north.packets', key: '', value: Buffer.alloc(70_000, 7), headers: { a: 'b', 'x-é': '' } },
      { topic: 't3', key: 'k'.repeat(1000), value: Buffer.from('hello') },
    ];
    const packed = packRecords(records);
    expect(packed.topics).toEqual(['iov.seg.north.packets', 'iov.seg.south.packets', 't3']);
    expect(packed.count).toBe(4);
    // Transferable: a buffer of its own, not a view into Node's shared pool.
    const copy = structuredClone(packed.buf, { transfer: [packed.buf] });
    const back = unpackRecords(packed.topics, Buffer.from(copy), packed.count);
    expect(back.map((r) => [r.topic, r.key, r.value.toString('hex'), r.headers])).toEqual(
      records.map((r) => [r.topic, r.key, r.value.toString('hex'), r.headers]),
    );
  });

  it('refuses a corrupt buffer instead of inventing records', () => {
    const packed = packRecords([{ topic: 't', key: 'k', value: Buffer.from('v') }]);
    const buf = Buffer.from(packed.buf);
    buf.writeUInt16LE(9, 0); // topic index out of range
    expect(() => unpackRecords(packed.topics, buf, 1)).toThrow(/bad topic index/);
  });
});
