// Watermark ticks (docs/gateway.md): one per quiet partition of every segment topic per
// round, on the partition it names, skipped where this gateway just produced a packet.
import { describe, expect, it } from 'vitest';
import { createMemoryBus, partitionOf } from '../../src/bus/index.ts';
import { createTicker, resolveTicker, tickKey } from '../../src/gateway/index.ts';
import { isTick, tickCodec } from '../../src/schemas/index.ts';

async function logOf(bus: ReturnType<typeof createMemoryBus>, topic: string): Promise<number[]> {
  return (await bus.endOffsets(topic)).sort((a, b) => a.partition - b.partition).map((e) => Number(e.offset));
}

describe('watermark ticker', () => {
  it('a tick key lands in the partition it is made for', () => {
    for (const n of [1, 3, 4, 12]) for (let p = 0; p < n; p++) expect(partitionOf(tickKey(p, n), n)).toBe(p);
  });

  it('ticks every quiet partition of every topic with clock − idle, and skips the busy ones', async () => {
    const bus = createMemoryBus({ partitions: 4 });
    const topics = ['iov.seg.a', 'iov.seg.b'];
    await bus.ensureTopics(topics.map((topic) => ({ topic, partitions: 4 })));
    let clock = 1_800_000_000_000;
    const ticker = createTicker({ bus, topics, gatewayId: 'gw1', intervalMs: 1000, idleMs: 5000, now: () => clock });
    expect(await ticker.tick()).toBe(8);
    expect(await logOf(bus, 'iov.seg.a')).toEqual([1, 1, 1, 1]);
    // A packet for vehicle v7 of topic a: that partition is busy for the next round.
    const producer = ticker.wrap(bus);
    await producer.produce([{ topic: 'iov.seg.a', key: 'v7', value: Buffer.from('packet') }]);
    clock += 1000;
    expect(await ticker.tick()).toBe(7);
    // The busy partition holds tick + packet, the others two ticks.
    expect(await logOf(bus, 'iov.seg.a')).toEqual([2, 2, 2, 2]);
    expect(await logOf(bus, 'iov.seg.b')).toEqual([2, 2, 2, 2]);
    // Quiet again: the next round ticks it too.
    expect(await ticker.tick()).toBe(8);

    const got: { partition: number; ts: number; gatewayId: string }[] = [];
    const consumer = bus.consumer({ groupId: 'g', topics: ['iov.seg.b'] });
    await consumer.run(async (b) => {
      for (const m of b.messages) if (isTick(m.value)) got.push({ partition: b.partition, ...tickCodec().decode(m.value) });
    });
    await expect.poll(() => got.length).toBe(12);
    expect(new Set(got.map((t) => t.ts))).toEqual(new Set([1_800_000_000_000 - 5000, 1_800_000_001_000 - 5000]));
    expect(got.every((t) => t.gatewayId === 'gw1')).toBe(true);
    await consumer.stop();
    await ticker.stop();
    await bus.close();
  });

  it('settings: flag, else environment, else 1000/5000; bad values are refused by name', () => {
    expect(resolveTicker({}, {})).toEqual({ intervalMs: 1000, idleMs: 5000 });
    expect(resolveTicker({ tickInterval: '250' }, { IOV_GATEWAY_TICK_INTERVAL_MS: '9', IOV_GATEWAY_IDLE_TIMEOUT_MS: '3000' })).toEqual({ intervalMs: 250, idleMs: 3000 });
    expect(() => resolveTicker({ idleTimeout: '-1' }, {})).toThrow(/--idle-timeout/);
    expect(() => resolveTicker({}, { IOV_GATEWAY_TICK_INTERVAL_MS: 'often' })).toThrow(/IOV_GATEWAY_TICK_INTERVAL_MS/);
  });
});
