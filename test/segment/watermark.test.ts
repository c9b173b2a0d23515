// iov_segment_watermark_seconds{segment,partition}: the event-time watermark of each owned
// partition as of its last commit — the highest packet time read, or a watermark tick's time
// when that is later (a quiet partition moved on by the gateways' ticks). Checked against the
// watermark computed from the log itself; the bus is the in-memory one (same contract as
// Kafka), the store the real ClickHouse.
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/bus/index.ts';
import { tickKey } from '../../src/gateway/index.ts';
import { isTick, tickCodec } from '../../src/schemas/index.ts';
import { createSegmentProcessor } from '../../src/segment/index.ts';
import { segmentTopic } from '../../src/topology/index.ts';
import { randomName, testStore, waitFor } from '../helpers/index.ts';
import { closedAfterSuite, codec, produceInChunks, readTopic, simulateFleet } from './fixture.ts';

const WINDOW_S = 10;

describe('segment processor: watermark gauge', () => {
  const bus = createMemoryBus({ retention: 'all' });
  const store = testStore('cloud-c');
  const live = closedAfterSuite(bus, store);

  it('reports each partition\'s watermark, ticks included, per segment and partition', async () => {
    const seg = randomName('wm');
    const topic = segmentTopic(seg);
    await bus.ensureTopics([{ topic, partitions: 2 }]);
    const { records, copies } = simulateFleet({ segments: [seg], vehicles: 12, steps: 15, windowS: WINDOW_S, seed: 3 });
    await produceInChunks(bus, records);
    // Partition 1 goes quiet; a gateway's tick moves its watermark a minute past the last packet.
    const tickTs = Math.max(...copies.map((c) => c.ts)) + 60_000;
    await bus.produce([{ topic, key: tickKey(1, 2), value: tickCodec().encode({ ts: tickTs, gatewayId: 'gw-test' }) }]);

    // The watermark of each partition, from the log: max event time of packets and ticks.
    const want: Record<string, number> = {};
    for (const m of await readTopic(bus, topic)) {
      const ts = isTick(m.value) ? tickCodec().decode(m.value).ts : codec.decode(m.value).ts;
      want[m.partition] = Math.max(want[m.partition] ?? -Infinity, ts / 1000);
    }
    expect(want[1]).toBe(tickTs / 1000);

    const p = createSegmentProcessor({ segmentId: seg, bus, store, workers: 0, windowS: WINDOW_S, groupId: randomName('g') });
    live.push(p);
    await p.start();
    const ends = new Map((await bus.endOffsets(topic)).map((e) => [e.partition, Number(e.offset)]));
    await waitFor(() => [...ends].every(([part, end]) => p.stats().positions[part] === end), { what: 'every message processed' });

    const gauge = (await p.metrics().getSingleMetric('iov_segment_watermark_seconds')!.get()).values;
    const got = Object.fromEntries(gauge.map((v) => [String(v.labels.partition), { segment: v.labels.segment, value: v.value }]));
    expect(got).toEqual({ 0: { segment: seg, value: want[0] }, 1: { segment: seg, value: want[1] } });
  });
});
