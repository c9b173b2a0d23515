import { describe, expect, it } from 'vitest';
import { busContract } from './bus.contract.ts';
import { createMemoryBus, partitionOf, type BusMessage } from '../../src/bus/index.ts';
import { rng, waitFor } from '../helpers/index.ts';
import { Partitioners } from 'kafkajs';

busContract('memory', () => createMemoryBus());

describe('memory bus specifics', () => {
  it('partitions keys like Kafka\'s murmur2 default partitioner', () => {
    // Differential against kafkajs' DefaultPartitioner (Java-compatible murmur2).
    const kafkajs = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 7 }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    for (const key of ['a', 'veh-1', 'vehicle:000123', 'ÄÖü-ключ', '', 'abcdefghijk', '\u007f\u0080', '😀x']) {
      expect(partitionOf(key, 7)).toBe(kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } }));
    }
    // Random keys of every length 0..40, ASCII (the char-code path) and not (the UTF-8 path).
    const rand = rng(5);
    const alphabet = [...'abcXYZ019_.:-~', 'é', 'ß', '中', '😀'];
    for (let i = 0; i < 2000; i++) {
      const ascii = i % 2 === 0;
      let key = '';
      for (let j = 0; j < i % 41; j++) key += alphabet[Math.floor(rand() * (ascii ? 14 : alphabet.length))];
      expect(partitionOf(key, 7)).toBe(kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } }));
    }
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[partitionOf(`veh-${i}`, 4)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('re-delivers from the committed offset when a handler throws', async () => {
    const bus = createMemoryBus({ retryBackoffMs: 5 });
    await bus.ensureTopics([{ topic: 't1', partitions: 1 }]);
    await bus.produce(Array.from({ length: 10 }, (_, i) => ({ topic: 't1', key: 'k', value: Buffer.from(String(i)) })));
    const seen: string[] = [];
    let failed = false;
    const c = bus.consumer({ groupId: 'g', topics: ['t1'] });
    await c.run(async (b) => {
      if (!failed && b.messages.length >= 10) {
        // Commit the first 4, then fail: 4..9 must come again.
        await c.commit([{ topic: 't1', partition: 0, offset: '4', metadata: 'm' }]);
        failed = true;
        throw new Error('boom');
      }
      seen.push(...b.messages.map((m) => m.value.toString()));
      await c.commit([{ topic: 't1', partition: 0, offset: String(Number(b.messages.at(-1)!.offset) + 1) }]);
    });
    await waitFor(() => seen.length >= 6, { what: 're-delivery' });
    await c.stop();
    expect(seen).toEqual(['4', '5', '6', '7', '8', '9']);
    expect(await c.committed('t1')).toEqual([{ topic: 't1', partition: 0, offset: '10', metadata: null }]);
    await bus.close();
  });

  it('pauses and resumes partitions, fires onAssign before batches, refuses commits after a rebalance', async () => {
    const bus = createMemoryBus();
    await bus.ensureTopics([{ topic: 't2', partitions: 2 }]);
    const events: string[] = [];
    const got: BusMessage[] = [];
    const c = bus.consumer({ groupId: 'g2', topics: ['t2'] });
    c.onAssign((a) => {
      events.push(`assign:${a.map((x) => x.partitions.join(',')).join('|')}`);
    });
    c.pause('t2');
    await c.run(async (b) => {
      events.push('batch');
      got.push(...b.messages);
    });
    await bus.produce(Array.from({ length: 20 }, (_, i) => ({ topic: 't2', key: `k${i}`, value: Buffer.from(String(i)) })));
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toHaveLength(0);
    c.resume('t2');
    await waitFor(() => got.length >= 20, { what: 'resumed' });
    expect(events[0]).toBe('assign:0,1');
    // A second member takes one partition; the first may no longer commit it.
    const d = bus.consumer({ groupId: 'g2', topics: ['t2'] });
    await d.run(async () => {});
    await waitFor(() => c.assignment()[0]!.partitions.length === 1, { what: 'rebalance' });
    const lost = [0, 1].find((p) => !c.assignment()[0]!.partitions.includes(p))!;
    await expect(c.commit([{ topic: 't2', partition: lost, offset: '1' }])).rejects.toMatchObject({ code: 'BUS_INVALID' });
    await Promise.all([c.stop(), d.stop()]);
    await bus.close();
  });

  it('drops messages every group has committed past (bounded memory)', async () => {
    const bus = createMemoryBus();
    await bus.ensureTopics([{ topic: 't3', partitions: 1 }]);
    const c = bus.consumer({ groupId: 'g3', topics: ['t3'] });
    let n = 0;
    await c.run(async (b) => {
      n += b.messages.length;
      await c.commit([{ topic: 't3', partition: 0, offset: String(Number(b.messages.at(-1)!.offset) + 1) }]);
    });
    for (let k = 0; k < 5; k++) await bus.produce(Array.from({ length: 2000 }, (_, i) => ({ topic: 't3', key: 'x', value: Buffer.from(String(i)) })));
    await waitFor(() => n >= 10_000, { what: 'all consumed' });
    await c.stop();
    // A new group from the beginning only sees what is retained: nothing, since g3 committed all.
    const late: BusMessage[] = [];
    const l = bus.consumer({ groupId: 'late', topics: ['t3'] });
    await l.run(async (b) => {
      late.push(...b.messages);
    });
    await bus.produce([{ topic: 't3', key: 'x', value: Buffer.from('new') }]);
    await waitFor(() => late.length >= 1, { what: 'new message' });
    expect(late.map((m) => [m.offset, m.value.toString()])).toEqual([['10000', 'new']]);
    expect(await bus.endOffsets('t3')).toEqual([{ partition: 0, offset: '10001' }]);
    await bus.close();
  });
});

describe('memory bus: a log truncated from the end', () => {
  it('drops the messages at and past the new end; a member past it starts again from the earliest offset', async () => {
    const bus = createMemoryBus({ retention: 'all' });
    await bus.ensureTopics([{ topic: 't4', partitions: 1 }]);
    await bus.produce(Array.from({ length: 10 }, (_, i) => ({ topic: 't4', key: 'k', value: Buffer.from(`a${i}`) })));
    const got: string[] = [];
    const c = bus.consumer({ groupId: 'g4', topics: ['t4'] });
    await c.run(async (b) => {
      got.push(...b.messages.map((m) => `${m.offset}:${m.value.toString()}`));
      await c.commit([{ topic: 't4', partition: 0, offset: String(Number(b.messages.at(-1)!.offset) + 1) }]);
    });
    await waitFor(() => got.length === 10, { what: 'first pass' });
    bus.truncate('t4', 0, 4);
    expect(await bus.endOffsets('t4')).toEqual([{ partition: 0, offset: '4' }]);
    // The next message takes offset 4 again; the member's position (10) is past the end, so it
    // is reset to the earliest offset (Kafka: OFFSET_OUT_OF_RANGE, auto.offset.reset = earliest).
    await bus.produce([{ topic: 't4', key: 'k', value: Buffer.from('b4') }]);
    await waitFor(() => got.length === 15, { what: 'the reset' });
    expect(got.slice(10)).toEqual(['0:a0', '1:a1', '2:a2', '3:a3', '4:b4']);
    // Truncating to 0 is the topic deleted and recreated: empty, the next offset is 0.
    bus.truncate('t4', 0, 0);
    expect(await bus.endOffsets('t4')).toEqual([{ partition: 0, offset: '0' }]);
    expect(() => bus.truncate('t4', 1, 0)).toThrow(/no partition t4\[1\]/);
    await c.stop();
    await bus.close();
  });
});
