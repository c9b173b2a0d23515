// iov_segment_watermark_seconds{segment,partition}: the event-time watermark of each owned
// partition as of its last commit — the highest packet time read, or a watermark tick's time
// when that is later (a quiet partition moved on by the gateways' ticks). Checked against the
// watermark computed from the log itself; the bus is the in-memory one (same contract as
// Kafka), the store the real ClickHouse.
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/bus/index.ts';
import { tickKey } from '../../src/gateway/index.ts';
import { isTick, tickCodec } from '../../src/schemas/index.ts';
import { randomName, waitFor } from '../helpers/index.ts';
import { codec, endOffsetsOf, produceInChunks, readToEnds, readTopic, segmentSuite, simulateFleet } from './fixture.ts';

const WINDOW_S = 10;

describe('segment processor: watermark gauge', () => {
  const suite = segmentSuite(createMemoryBus({ retention: 'all' }), 'cloud-c', WINDOW_S);
  const { bus } = suite;

  it('reports each partition\'s watermark, ticks included, per segment and partition', async () => {
    const { seg, topic } = await suite.segment('wm', 2);
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

    const p = suite.processor({ segmentId: seg, groupId: randomName('g') });
    await p.start();
    const ends = await endOffsetsOf(bus, topic);
    await waitFor(() => readToEnds(p, ends), { what: 'every message processed' });

    const gauge = (await p.metrics().getSingleMetric('iov_segment_watermark_seconds')!.get()).values;
    const got = Object.fromEntries(gauge.map((v) => [String(v.labels.partition), { segment: v.labels.segment, value: v.value }]));
    expect(got).toEqual({ 0: { segment: seg, value: want[0] }, 1: { segment: seg, value: want[1] } });
  });
});
