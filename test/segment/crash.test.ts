// Crash/restart: one segment's processor is crashed (fault hooks: the process "dies" there,
// nothing after the hook is written or committed) at several points in turn — mid-batch,
// after the raw packets insert, after every insert but before the commit, and between two
// window inserts of the final flush — and restarted each time in the same consumer group.
// The stream holds client retries (the same packet twice), some arriving after their window
// closed. The final traffic_flow, packets and late flags still equal the batch oracle, which
// drops duplicates by the same rule.
import { describe, expect, it } from 'vitest';
import type { SegmentFaults, SegmentProcessor } from '../../src/segment/index.ts';
import { segmentTopic } from '../../src/topology/index.ts';
import { tickKey } from '../../src/gateway/index.ts';
import { tickCodec } from '../../src/schemas/index.ts';
import { randomName, testBus, waitFor } from '../helpers/index.ts';
import { endOffsetsOf, expectFlowEqual, expectPacketsEqual, oracleInput, oracleOf, produceInChunks, readToEnds, segmentSuite, simulateFleet, storedFlow } from './fixture.ts';

const WINDOW_S = 10;
const LATENESS_S = 25; // several windows stay open at the end, so the final flush has ≥ 2 per partition

describe('segment processor crash and restart', () => {
  const suite = segmentSuite(testBus(), 'cloud-c', WINDOW_S);
  const { bus, store } = suite;

  it('ends with the oracle’s result after crashes mid-batch, after insert before commit, and mid-flush', async () => {
    const seg = randomName('crash');
    const { records } = simulateFleet({ segments: [seg, randomName('other')], vehicles: 40, steps: 60, windowS: WINDOW_S, seed: 11, lateShare: 0.04, dupShare: 0.03 });
    const mine = records.filter((r) => r.topic === segmentTopic(seg));
    await bus.ensureTopics([{ topic: segmentTopic(seg), partitions: 4 }]);
    await produceInChunks(bus, mine);

    const make = (faults: SegmentFaults, workers: number) => suite.processor({
      segmentId: seg, workers, allowedLatenessS: LATENESS_S, faults,
      // Small batches, and at most two queued per partition (coalesced into one step): many
      // steps, so crashes land mid-stream whatever the timing of recovery and the pool.
      maxBytesPerPartition: 2048, maxQueuedBatches: 2,
      retry: { initialMs: 20, maxMs: 200 },
    });
    const nth = (n: number, when: (ctx: { flushed: number[] }) => boolean = () => true) => {
      let seen = 0;
      return (ctx: { flushed: number[] }) => {
        if (when(ctx) && ++seen === n) throw new Error('crash');
      };
    };
    const crashes: string[] = [];
    const runUntilCrash = async (p: SegmentProcessor) => {
      await p.start();
      await waitFor(() => p.stats().status === 'crashed', { timeoutMs: 30_000, what: 'the injected crash' });
      crashes.push(p.stats().crashed!);
      const progress = p.stats();
      await p.stop();
      return progress;
    };

    // Crash once this incarnation has made some progress of its own, so crashes are spread
    // over the stream rather than all in the replayed prefix.
    let pa: SegmentProcessor | undefined;
    pa = make({ afterDecode: () => { if (pa!.stats().batches >= 4) throw new Error('crash'); } }, 1);
    const a = await runUntilCrash(pa);
    let pb: SegmentProcessor | undefined;
    pb = make({ afterPackets: () => { if (pb!.stats().rowsWritten.packets > 0) throw new Error('crash'); } }, 0);
    const b = await runUntilCrash(pb);
    const c = await runUntilCrash(make({ afterInsertBeforeCommit: nth(2, (ctx) => ctx.flushed.length > 0) }, 2));
    // Each incarnation made progress before it died, so the crashes are spread over the stream.
    expect(a.batches).toBeGreaterThan(0);
    expect(b.rowsWritten.packets).toBeGreaterThan(0);
    expect(c.windowsFlushed).toBeGreaterThan(0);

    // Mid-flush: the end-of-stream flush dies between two window inserts.
    const d = make({ midFlush: nth(1) }, 1);
    await d.start();
    await expect(d.drain({ timeoutMs: 30_000 })).rejects.toMatchObject({ code: 'SEG_CRASHED' });
    crashes.push(d.stats().crashed!);
    await d.stop();

    const e = make({}, 2);
    await e.start();
    await e.drain({ timeoutMs: 30_000 });
    expect(crashes).toEqual([
      'fault afterDecode: crash', 'fault afterPackets: crash', 'fault afterInsertBeforeCommit: crash', 'fault midFlush: crash',
    ]);
    // The restarted processors skipped what earlier ones had stored.
    expect(e.stats().replayed + d.stats().replayed + c.replayed + b.replayed).toBeGreaterThan(0);

    const oracle = oracleOf(await oracleInput(bus, [seg]), WINDOW_S, LATENESS_S);
    expect(oracle.rows.length).toBeGreaterThan(50);
    expect(oracle.late.length).toBeGreaterThan(0);
    // Client retries: some within their window, some after it closed; each counted once.
    expect(oracle.duplicates.length).toBeGreaterThan(20);
    expect(e.stats().duplicates + d.stats().duplicates + c.duplicates + b.duplicates + a.duplicates).toBeGreaterThan(0);
    expectFlowEqual(await storedFlow([store], WINDOW_S), oracle);
    await expectPacketsEqual([store], oracle);
    await e.stop();
  });

  it('a window closed by a watermark tick alone (quiet stream) survives a crash before its commit: same rows after the restart, no drain', async () => {
    const { seg, topic } = await suite.segment('idle', 4);
    const { records, copies } = simulateFleet({ segments: [seg], vehicles: 12, steps: 20, windowS: WINDOW_S, seed: 5, lateShare: 0.03, dupShare: 0.02 });
    await produceInChunks(bus, records);
    // The stream goes quiet; a gateway's ticks then say that event time went past every window
    // (lateness 25 s: packets alone leave the last windows open).
    const lastTs = Math.max(...copies.map((c) => c.ts));
    const tickTs = lastTs + (WINDOW_S + LATENESS_S) * 1000 + 1;
    await bus.produce([0, 1, 2, 3].map((p) => ({ topic, key: tickKey(p, 4), value: tickCodec().encode({ ts: tickTs, gatewayId: 'gw-test' }) })));
    const ends = await endOffsetsOf(bus, topic);

    const make = (faults: SegmentFaults) => suite.processor({ segmentId: seg, allowedLatenessS: LATENESS_S, faults, retry: { initialMs: 20, maxMs: 200 } });
    // Crash after the windows closed by the tick (the last message of its partition) were
    // inserted, before the commit that covers them.
    let idleCloses = 0;
    const a = make({
      afterInsertBeforeCommit: (ctx) => {
        if (ctx.flushed.length > 0 && ctx.lastOffset === ends.get(ctx.partition)! - 1) {
          idleCloses++;
          throw new Error('crash');
        }
      },
    });
    await a.start();
    await waitFor(() => a.stats().status === 'crashed', { timeoutMs: 30_000, what: 'the crash after an idle close' });
    // Partitions step concurrently: more than one may reach its tick's close before the crash stops the rest.
    expect(idleCloses).toBeGreaterThanOrEqual(1);
    expect(a.stats().windowsFlushed).toBeGreaterThan(0);
    await a.stop();

    // Restart: it reads the same log (ticks included) and closes the same windows — all of
    // them, with no drain() — skipping the one flushed before the crash.
    const b = make({});
    await b.start();
    const caughtUp = () => readToEnds(b, ends) && b.stats().openWindows === 0;
    await waitFor(caughtUp, { timeoutMs: 30_000, what: 'every partition read to its tick with no window left open' });
    expect(b.stats().replayed).toBeGreaterThan(0);
    const oracle = oracleOf(await oracleInput(bus, [seg]), WINDOW_S, LATENESS_S);
    expect(oracle.rows.length).toBeGreaterThan(10);
    expectFlowEqual((await storedFlow([store], WINDOW_S)).filter((r) => r.segment === seg), oracle);
    // Raw packets: each owned packet once, late flags as the oracle says (this segment's rows).
    const [c] = await store.query<{ n: string; offsets: string; late: string }>(
      `SELECT count() AS n, uniqExact(kafka_partition, kafka_offset) AS offsets, sum(late) AS late FROM packets WHERE segment = '${seg}'`);
    expect([Number(c!.n), Number(c!.offsets), Number(c!.late)]).toEqual([oracle.owned, oracle.owned, oracle.late.length]);
    await b.stop();
  });
});
