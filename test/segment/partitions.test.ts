// A segment topic whose partition count changed under a consumer group: the roll-up counts a
// vehicle once per partition, so a restart must refuse (SEG_PARTITIONS_CHANGED) rather than
// count vehicles twice. Kafka can add partitions but the mock cluster cannot, so the topic
// lives on the in-memory bus (same contract suite as the Kafka adapter); the store is the
// real ClickHouse.
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/bus/index.ts';
import { parseCommitMeta } from '../../src/segment/index.ts';
import { committedOffsets, produceInChunks, segmentSuite, simulateFleet, storedPackets } from './fixture.ts';

const WINDOW_S = 10;

describe('segment processor: partition count changed', () => {
  const suite = segmentSuite(createMemoryBus(), 'cloud-b', WINDOW_S);
  const { bus, store } = suite;

  it('records the count with every commit and refuses to resume with another one', async () => {
    const { seg, topic, groupId } = await suite.segment('parts', 2);
    const { records } = simulateFleet({ segments: [seg], vehicles: 20, steps: 20, windowS: WINDOW_S, seed: 5 });
    await produceInChunks(bus, records);
    const make = () => suite.processor({ segmentId: seg, groupId, retry: { initialMs: 10, maxMs: 50 } });

    const first = make();
    await first.start();
    await first.drain({ timeoutMs: 30_000 });
    await first.stop();
    expect(await storedPackets(store, seg)).toBe(records.length);

    // Every committed partition carries the count it was committed with.
    const commits = await committedOffsets(bus, groupId, topic);
    expect(commits.map((c) => [c.partition, parseCommitMeta(c.metadata)?.n])).toEqual([[0, 2], [1, 2]]);

    // An operator adds a partition; the next start must not write anything.
    await bus.ensureTopics([{ topic, partitions: 3 }]);
    await produceInChunks(bus, simulateFleet({ segments: [seg], vehicles: 20, steps: 5, windowS: WINDOW_S, seed: 6, baseTs: Date.UTC(2024, 4, 1, 9) }).records);
    const second = make();
    const refused = await second.start().then(() => undefined, (e: unknown) => e as { code: string; message: string });
    expect(refused?.code).toBe('SEG_PARTITIONS_CHANGED');
    expect(refused?.message).toMatch(new RegExp(`^topic ${topic.replace(/\./g, '\\.')} had 2 partitions when last committed and has 3 now: vehicles would be counted in two partitions`));
    expect(second.stats().status).toBe('stopped');
    await second.stop();
    expect(await storedPackets(store, seg)).toBe(records.length);
  });
});
