// Messages lost from the log before they were processed (Kafka's retention; the local mock
// cluster keeps ~40k per partition): the partition must stop loudly with SEG_OFFSET_GAP,
// not carry on past the gap. The in-memory bus truncates its log like Kafka (`retainLast`),
// so no 40k messages are needed; the store is the real ClickHouse.
import { describe, expect, it } from 'vitest';
import { createMemoryBus, type Bus } from '../../src/bus/index.ts';
import { segmentTopic } from '../../src/topology/index.ts';
import { randomName, waitFor } from '../helpers/index.ts';
import { committedOffsets, errorLog, produceInChunks, segmentSuite, simulateFleet, storedPackets } from './fixture.ts';

const WINDOW_S = 10;
const RETAIN = 1_000;

describe('segment processor: offset gap', () => {
  const suite = segmentSuite(createMemoryBus({ retainLast: RETAIN }), 'cloud-b', WINDOW_S);
  const { bus, store } = suite;

  it('stops the partition when the log lost messages past its commit, writing and committing nothing', async () => {
    const { seg, topic, groupId } = await suite.segment('gap', 1);
    await store.migrate();
    const { errors, logger } = errorLog();
    const make = () => suite.processor({ segmentId: seg, groupId, logger, retry: { initialMs: 10, maxMs: 50 } });
    const count = () => storedPackets(store, seg);
    const commits = async () => (await committedOffsets(bus, groupId, topic)).map((x) => [x.partition, x.offset]);

    const first = simulateFleet({ segments: [seg], vehicles: 20, steps: 20, windowS: WINDOW_S, seed: 7 }).records;
    await produceInChunks(bus, first);
    const a = make();
    await a.start();
    await a.drain({ timeoutMs: 30_000 });
    await a.stop();
    expect(await count()).toBe(first.length);
    expect(await commits()).toEqual([[0, String(first.length)]]);

    // While no processor runs, more than RETAIN messages arrive: the log drops the oldest
    // ones, some of which were never processed.
    const later = simulateFleet({ segments: [seg], vehicles: 20, steps: 100, windowS: WINDOW_S, seed: 8, baseTs: Date.UTC(2024, 4, 1, 9) }).records;
    await produceInChunks(bus, later);
    const startsAt = first.length + later.length - RETAIN;
    expect(startsAt).toBeGreaterThan(first.length);

    const b = make();
    await b.start();
    await waitFor(() => b.stats().stopped.length === 1, { timeoutMs: 20_000, what: 'the partition stopped' });
    const [stopped] = b.stats().stopped;
    expect([stopped!.partition, stopped!.what, stopped!.code]).toEqual([0, 'read', 'SEG_OFFSET_GAP']);
    expect(stopped!.message).toMatch(new RegExp(`^partition 0: expected offset ${first.length} but the log now starts at ${startsAt}: messages were lost from the log`));
    expect(stopped!.message).toMatch(/retention.*reset the group's offset/);
    expect(errors.map((e) => [e.obj.partition, e.obj.code])).toEqual([[0, 'SEG_OFFSET_GAP']]);
    expect(b.health()).toMatchObject({ live: true, ready: false });
    await expect(b.drain({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'SEG_PARTITION_STOPPED' });
    // Nothing after the gap was written or committed.
    expect(b.stats().rowsWritten).toEqual({ packets: 0, traffic_flow: 0 });
    expect(await count()).toBe(first.length);
    expect(await commits()).toEqual([[0, String(first.length)]]);
  });

  it('stops the partition when the log is truncated under a lagging consumer, between two batches of one step', async () => {
    // Regression: a step coalesces the batches that arrived while the previous step ran, and
    // only its first offset was checked. A consumer that fell behind the retention is reset
    // to the earliest kept message, so two coalesced batches can straddle a hole: the step
    // started at the expected offset, and the lost messages went unnoticed.
    const retain = 500;
    const memory = createMemoryBus({ retainLast: retain, maxBatchMessages: 50 });
    const delivered: number[] = [];
    // The same bus, noting each batch's last offset as it is handed to the processor.
    const bus: Bus = {
      ...memory,
      consumer: (o) => {
        const c = memory.consumer(o);
        return { ...c, run: (h) => c.run(async (b, ctx) => {
          delivered.push(Number(b.messages[b.messages.length - 1]!.offset));
          await h(b, ctx);
        }) };
      },
    };
    const seg = randomName('gap');
    const topic = segmentTopic(seg);
    await memory.ensureTopics([{ topic, partitions: 1 }]);
    await store.migrate();
    const records = simulateFleet({ segments: [seg], vehicles: 20, steps: 120, windowS: WINDOW_S, seed: 9 }).records;
    expect(records.length).toBeGreaterThan(2_000);
    await memory.produce(records.slice(0, 50));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let blocked = false;
    const p = suite.processor({
      segmentId: seg, bus, groupId: randomName('g'), maxQueuedBatches: 1_000,
      logger: { info() {}, warn() {}, error() {} },
      // The first step (offsets 0-49) waits after its packets insert while the rest arrives.
      faults: { afterPackets: async () => {
        if (blocked) return;
        blocked = true;
        await released;
      } },
    });
    await p.start();
    await waitFor(() => blocked, { what: 'the first step to wait' });
    await memory.produce(records.slice(50, 200));
    await waitFor(() => delivered.includes(199), { what: 'offsets 50-199 to queue up behind it' });
    // The producer runs ahead (one request, so the consumer cannot fetch in between): the log
    // keeps the last 500 messages, and the consumer, at 200, is reset to 1 700.
    await memory.produce(records.slice(200, 2_200));
    await waitFor(() => delivered.some((o) => o >= 1_700), { what: 'batches after the reset to arrive' });
    release();
    await waitFor(() => p.stats().stopped.length === 1, { timeoutMs: 20_000, what: 'the partition stopped' });
    const [stopped] = p.stats().stopped;
    expect([stopped!.partition, stopped!.what, stopped!.code]).toEqual([0, 'read', 'SEG_OFFSET_GAP']);
    expect(stopped!.message).toMatch(/^partition 0: expected offset 200 but the log now starts at 1700: messages were lost/);
    // Only the first step (offsets 0-49) was written and committed.
    expect(p.stats().positions).toEqual({ 0: 50 });
    expect(Number((await store.query<{ m: string }>(`SELECT max(kafka_offset) AS m FROM packets WHERE segment = '${seg}'`))[0]!.m)).toBe(49);
    await memory.close();
  });
});
