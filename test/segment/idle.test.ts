// A quiet stream on the real servers (Kafka mock cluster, Redis, ClickHouse): a gateway with
// its watermark ticker takes traffic, the traffic stops, and the last windows still reach
// traffic_flow — no drain(), no more packets — within window end + idle timeout + lateness +
// a tick interval (polled, with a generous bound). The stored rows equal the batch oracle over
// the topics read back, ticks included; a shut-down settle() then has nothing left open.
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createGateway, type Gateway } from '../../src/gateway/index.ts';
import { runAllSegments, type AllSegments } from '../../src/segment/index.ts';
import type { Store } from '../../src/store/index.ts';
import { randomName, testBus, testState, testStore, waitFor } from '../helpers/index.ts';
import { fleet, privateTopology } from '../gateway/helpers.ts';
import { expectFlowEqual, oracleInput, oracleOf, produceInChunks, simulateFleet, storedFlow } from './fixture.ts';
import { createSegmentProcessor } from '../../src/segment/index.ts';
import { segmentTopic, segmentTopicSpecs } from '../../src/topology/index.ts';
import { leftOpenReport } from '../../src/cli/commands/segment.ts';

const WINDOW_S = 5;
const LATENESS_S = 1;
const TICK = { intervalMs: 500, idleMs: 2000 };
const CLOUDS = ['cloud-a', 'cloud-b', 'cloud-c'];

describe('windows close on a quiet stream (watermark ticks, real servers)', () => {
  const bus = testBus();
  const state = testState();
  const stores: Store[] = CLOUDS.map((c) => testStore(c));
  let gw: Gateway | undefined;
  let all: AllSegments | undefined;
  afterAll(async () => {
    await all?.stop();
    await gw?.close();
    await bus.close();
    await state.close();
    await Promise.allSettled(stores.map((s) => s.close()));
  });

  it('stores the last windows once the traffic stops, from the log alone', async () => {
    const topo = privateTopology();
    await bus.ensureTopics(segmentTopicSpecs(topo));
    all = runAllSegments(topo, { bus, storeFor: (cloud) => stores[CLOUDS.indexOf(cloud)]!, workers: 0, windowS: WINDOW_S, allowedLatenessS: LATENESS_S });
    await all.start();
    gw = createGateway({ topology: topo, bus, state, logger: pino({ level: 'silent' }), config: { rateLimit: null }, ticker: TICK });

    // Event times from now on (vehicle clocks a little ahead of the gateway's is fine).
    const packets = fleet({ vehicles: 12, steps: 8, t0: Date.now(), seed: 3, prefix: randomName('q') });
    const res = await gw.ingest(packets);
    expect(res.accepted).toBe(packets.length);
    const lastEnd = (Math.floor(Math.max(...packets.map((p) => p.ts)) / 1000 / WINDOW_S) + 1) * WINDOW_S * 1000;
    const ownedStored = () => all!.stats().reduce((n, s) => n + s.owned, 0);
    await waitFor(() => ownedStored() === packets.length, { timeoutMs: 30_000, what: 'every packet consumed' });

    // Traffic has stopped. The last window closes once a tick's ts (gateway clock − idle)
    // passes its end + lateness: poll for it, bounded generously.
    const bound = lastEnd + TICK.idleMs + LATENESS_S * 1000 + TICK.intervalMs + 30_000 - Date.now();
    const lastWindowStored = async () => {
      const flow = await storedFlow(stores, WINDOW_S);
      return flow.some((r) => r.ws * 1000 === lastEnd - WINDOW_S * 1000) && all!.stats().every((s) => s.openWindows === 0);
    };
    await waitFor(lastWindowStored, { timeoutMs: Math.max(bound, 10_000), intervalMs: 250, what: 'the last window in traffic_flow with no drain' });
    expect(Date.now()).toBeGreaterThanOrEqual(lastEnd + LATENESS_S * 1000 + TICK.idleMs - 50); // closed by event time, not earlier

    const stats = all.stats();
    expect(stats.reduce((n, s) => n + s.late, 0)).toBe(0);
    expect(stats.reduce((n, s) => n + s.poison, 0)).toBe(0);
    const input = await oracleInput(bus, topo.segments.map((s) => s.id));
    expect(input.filter((p) => 'tick' in p).length).toBeGreaterThan(0);
    const mine = new Set(topo.segments.map((s) => s.id));
    expectFlowEqual((await storedFlow(stores, WINDOW_S)).filter((r) => mine.has(r.segment)), oracleOf(input, WINDOW_S, LATENESS_S));
    // Shut-down: nothing left open, everything committed.
    expect(await all.settle()).toEqual([]);
  });

  it('without ticks, a shut-down settle() stores what the watermark closed, commits, and names the windows it leaves open', async () => {
    const seg = randomName('settle');
    const topic = segmentTopic(seg);
    const { records } = simulateFleet({ segments: [seg], vehicles: 8, steps: 15, windowS: WINDOW_S, seed: 2 });
    await bus.ensureTopics([{ topic, partitions: 4 }]);
    await produceInChunks(bus, records);
    const ends = new Map((await bus.endOffsets(topic)).map((e) => [e.partition, Number(e.offset)]));
    const p = createSegmentProcessor({ segmentId: seg, bus, store: stores[2]!, workers: 0, windowS: WINDOW_S, allowedLatenessS: LATENESS_S });
    await p.start();
    await waitFor(() => [...ends].every(([part, end]) => end === 0 || p.stats().positions[part] === end), { timeoutMs: 30_000, what: 'every message read' });
    const left = await p.settle();
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((l) => l.segment === seg && l.windows.length > 0 && Number.isFinite(l.watermark))).toBe(true);
    // What is left open is exactly what the watermark has not closed: the stored windows and
    // the open ones are disjoint and together the oracle's.
    const stored = new Set((await stores[2]!.query<{ ws: number }>(`SELECT DISTINCT toUInt32(window_start) AS ws FROM traffic_flow WHERE segment = '${seg}'`)).map((r) => Number(r.ws)));
    for (const l of left) for (const w of l.windows) expect(stored.has(w)).toBe(false);
    const oracle = oracleOf(await oracleInput(bus, [seg]), WINDOW_S, LATENESS_S);
    expect(new Set([...stored, ...left.flatMap((l) => l.windows)])).toEqual(new Set(oracle.rows.map((r) => r.windowStart)));
    // Committed: a second settle finds the same open windows (nothing moved).
    expect(await p.settle()).toEqual(left);
    expect(leftOpenReport(left)).toMatch(new RegExp(`${seg} partition \\d+: watermark .*, open `));
    expect(leftOpenReport([])).toMatch(/none left open/);
    await p.stop();
  });
});
