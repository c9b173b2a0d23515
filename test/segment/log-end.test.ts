// A log that ends below what a partition already processed: the topic was deleted and
// recreated, or its log was truncated from the end. The offsets below the processed position
// then name messages nobody read; the partition must stop loudly with SEG_COMMIT_BEYOND_END
// instead of waiting at its commit (or, reset by Kafka to the earliest offset, dropping the new
// messages as re-deliveries). The mock cluster can neither delete topics nor truncate a log,
// so the in-memory bus does it (`truncate`, the bus contract checks both buses report end
// offsets alike); the store is the real ClickHouse.
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createMemoryBus } from '../../src/bus/index.ts';
import type { SegmentProcessor } from '../../src/segment/index.ts';
import { waitFor } from '../helpers/index.ts';
import { committedOffsets, errorLog, produceInChunks, type ErrorLog, segmentSuite, simulateFleet, storedPackets } from './fixture.ts';

const WINDOW_S = 10;

describe('segment processor: a log that ends below the processed offsets', () => {
  const bus = createMemoryBus({ retention: 'all' });
  const suite = segmentSuite(bus, 'cloud-b', WINDOW_S);
  const { store } = suite;

  /** One partition's worth of packets, processed, drained and committed by a first processor. */
  async function processedOnce(prefix: string) {
    const s = await suite.segment(prefix, 1);
    await store.migrate();
    const first = simulateFleet({ segments: [s.seg], vehicles: 20, steps: 20, windowS: WINDOW_S, seed: 11 }).records;
    await produceInChunks(bus, first);
    const a = suite.processor({ segmentId: s.seg, groupId: s.groupId });
    await a.start();
    await a.drain({ timeoutMs: 30_000 });
    await a.stop();
    expect(await storedPackets(store, s.seg)).toBe(first.length);
    return { ...s, n: first.length };
  }

  /** Fewer new messages than were processed: the new log ends below the processed position. */
  async function produceFewer(seg: string, topic: string, n: number) {
    const later = simulateFleet({ segments: [seg], vehicles: 5, steps: 10, windowS: WINDOW_S, seed: 12, baseTs: Date.UTC(2024, 4, 1, 9) }).records;
    expect(later.length).toBeLessThan(n);
    await produceInChunks(bus, later);
    expect((await bus.endOffsets(topic))[0]!.offset).toBe(String(later.length));
    return later.length;
  }

  async function expectStopped(p: SegmentProcessor, errors: ErrorLog['errors'], registry: Registry, position: number, end: number) {
    await waitFor(() => p.stats().stopped.length === 1, { timeoutMs: 20_000, what: 'the partition to stop' });
    const [stopped] = p.stats().stopped;
    expect([stopped!.partition, stopped!.what, stopped!.code]).toEqual([0, 'read', 'SEG_COMMIT_BEYOND_END']);
    expect(stopped!.message).toMatch(new RegExp(`^partition 0: offsets below ${position} were processed \\(committed or stored\\) but the log now ends at ${end}: the topic was deleted and recreated, or its log was truncated from the end`));
    expect(stopped!.message).toMatch(/delete this partition's stored rows from the offset to resume at on, reset the group's offset of this partition to it, and restart/);
    expect(errors.map((e) => [e.obj.partition, e.obj.code])).toEqual([[0, 'SEG_COMMIT_BEYOND_END']]);
    expect(await registry.getSingleMetricAsString('iov_segment_partition_stopped')).toMatch(/partition="0",code="SEG_COMMIT_BEYOND_END",server_code=""} 1/);
    expect(p.health()).toMatchObject({ live: true, ready: false });
    await expect(p.drain({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'SEG_PARTITION_STOPPED' });
  }

  it('stops at recovery when the commit is past the end of a log truncated from the end (commits kept)', async () => {
    const { seg, topic, groupId, n } = await processedOnce('logend');
    expect((await committedOffsets(bus, groupId, topic)).map((c) => c.offset)).toEqual([String(n)]);
    // An unclean leader election: the log loses its end, the group's commit stays.
    bus.truncate(topic, 0, 0);
    const end = await produceFewer(seg, topic, n);
    const { errors, logger } = errorLog();
    const registry = new Registry();
    const b = suite.processor({ segmentId: seg, groupId, logger, registry });
    await b.start();
    await expectStopped(b, errors, registry, n, end);
    // Nothing of the new log was written or committed.
    expect(b.stats().rowsWritten).toEqual({ packets: 0, traffic_flow: 0 });
    expect(await storedPackets(store, seg)).toBe(n);
    expect((await committedOffsets(bus, groupId, topic)).map((c) => c.offset)).toEqual([String(n)]);
  });

  it('stops at recovery when the stored packets are past the end of a recreated topic (its commits gone)', async () => {
    const { seg, topic, n } = await processedOnce('logend');
    // Deleted and recreated: a new log from offset 0, and no commit (Kafka drops a deleted
    // topic's offsets: a new group stands for that). Only the stored packets remember offset n.
    bus.truncate(topic, 0, 0);
    const end = await produceFewer(seg, topic, n);
    const { errors, logger } = errorLog();
    const registry = new Registry();
    const fresh = (await suite.segment('unused', 1)).groupId;
    const b = suite.processor({ segmentId: seg, groupId: fresh, logger, registry });
    await b.start();
    await expectStopped(b, errors, registry, n, end);
    expect(await storedPackets(store, seg)).toBe(n);
    expect(await committedOffsets(bus, fresh, topic)).toEqual([]);
  });

  it('stops a running partition whose log is truncated below its position (the bus resets it to the earliest offset)', async () => {
    const s = await suite.segment('logend', 1);
    await store.migrate();
    const first = simulateFleet({ segments: [s.seg], vehicles: 20, steps: 20, windowS: WINDOW_S, seed: 13 }).records;
    await produceInChunks(bus, first);
    const { errors, logger } = errorLog();
    const registry = new Registry();
    const p = suite.processor({ segmentId: s.seg, groupId: s.groupId, logger, registry });
    await p.start();
    await waitFor(() => p.stats().positions[0] === first.length, { timeoutMs: 20_000, what: 'the first log processed' });
    const written = p.stats().rowsWritten;
    bus.truncate(s.topic, 0, 0);
    const end = await produceFewer(s.seg, s.topic, first.length);
    await expectStopped(p, errors, registry, first.length, end);
    // The new messages (offsets 0..end-1, all below the position) were neither dropped as
    // re-deliveries nor written.
    expect(p.stats().rowsWritten).toEqual(written);
    expect(await storedPackets(store, s.seg)).toBe(first.length);
  });
});
