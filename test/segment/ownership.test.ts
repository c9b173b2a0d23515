// What a member reports is about the partitions it owns now. Regression (the 1-in-12 failure
// of test/segment/fencing.test.ts, a stored window 5 packets short of the oracle's 9): after
// a rebalance, stats() still listed the positions and open windows of partitions that had
// moved to another member, so the test took member B for the owner of all four partitions,
// caught up, and drained it while a rejoined member held two of them; drain() covers the
// partitions its member owns, so their last windows were never stored. The bus is the
// in-memory one (same group contract as Kafka: a join rebalances at once), the store the real
// ClickHouse.
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/bus/index.ts';
import { createSegmentProcessor } from '../../src/segment/index.ts';
import { segmentTopic } from '../../src/topology/index.ts';
import { randomName, testStore, waitFor } from '../helpers/index.ts';
import { closedAfterSuite, produceInChunks, simulateFleet } from './fixture.ts';

const WINDOW_S = 10;

describe('segment processor: ownership after a rebalance', () => {
  const bus = createMemoryBus({ retention: 'all' });
  const store = testStore('cloud-c');
  const live = closedAfterSuite(bus, store);

  it('stats() and the watermark gauge cover only the partitions this member owns now', async () => {
    const seg = randomName('own');
    const topic = segmentTopic(seg);
    const groupId = randomName('g');
    await bus.ensureTopics([{ topic, partitions: 2 }]);
    await produceInChunks(bus, simulateFleet({ segments: [seg], vehicles: 12, steps: 15, windowS: WINDOW_S, seed: 4 }).records);
    const p = createSegmentProcessor({ segmentId: seg, bus, store, workers: 0, windowS: WINDOW_S, groupId });
    live.push(p);
    await p.start();
    const ends = new Map((await bus.endOffsets(topic)).map((e) => [e.partition, Number(e.offset)]));
    await waitFor(() => [...ends].every(([part, end]) => p.stats().positions[part] === end), { what: 'both partitions processed' });
    expect(p.stats().openWindows).toBeGreaterThan(1);
    const series = async () => (await p.metrics().getSingleMetric('iov_segment_watermark_seconds')!.get()).values.map((v) => Number(v.labels.partition)).sort();
    expect(await series()).toEqual([0, 1]);

    // A second member joins the group (it never commits: like a member that rejoined and died).
    const other = bus.consumer({ groupId, topics: [topic] });
    void other.run(async () => {});
    await waitFor(() => other.assignment().find((a) => a.topic === topic)?.partitions.length === 1, { what: 'the second member to get a partition' });
    const theirs = other.assignment().find((a) => a.topic === topic)!.partitions[0]!;
    const mine = 1 - theirs;
    await waitFor(() => p.stats().positions[mine] === ends.get(mine), { what: 'the kept partition recovered' });
    const st = p.stats();
    expect(Object.keys(st.positions).map(Number)).toEqual([mine]);
    expect(await series()).toEqual([mine]);
    // Open windows: those of the kept partition only (its replay from the commit reopened them).
    const openMine = st.openWindows;
    await other.stop();
    await waitFor(() => Object.keys(p.stats().positions).length === 2 && [...ends].every(([part, end]) => p.stats().positions[part] === end), { what: 'both partitions back' });
    expect(p.stats().openWindows).toBeGreaterThan(openMine);
  });
});
