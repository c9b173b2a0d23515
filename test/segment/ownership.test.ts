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
import { waitFor } from '../helpers/index.ts';
import { endOffsetsOf, produceInChunks, readToEnds, segmentSuite, simulateFleet } from './fixture.ts';

const WINDOW_S = 10;

describe('segment processor: ownership after a rebalance', () => {
  const suite = segmentSuite(createMemoryBus({ retention: 'all' }), 'cloud-c', WINDOW_S);
  const { bus } = suite;

  it('stats() and the watermark gauge cover only the partitions this member owns now', async () => {
    const { seg, topic, groupId } = await suite.segment('own', 2);
    await produceInChunks(bus, simulateFleet({ segments: [seg], vehicles: 12, steps: 15, windowS: WINDOW_S, seed: 4 }).records);
    const p = suite.processor({ segmentId: seg, groupId });
    await p.start();
    const ends = await endOffsetsOf(bus, topic);
    await waitFor(() => readToEnds(p, ends), { what: 'both partitions processed' });
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
    await waitFor(() => Object.keys(p.stats().positions).length === 2 && readToEnds(p, ends), { what: 'both partitions back' });
    expect(p.stats().openWindows).toBeGreaterThan(openMine);
  });
});
