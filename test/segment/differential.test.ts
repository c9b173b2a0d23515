// Differential test on real servers: a simulated fleet (crossings, out-of-order and late
// packets, missing and zero speeds) → Kafka → two segment processors with 2-thread pools →
// two clouds' ClickHouse. The stored traffic_flow equals the batch oracle; no packet is
// counted twice across clouds; poison messages land in the dead-letter topic; a worker that
// throws or dies is replaced and its batch retried.
import { afterAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/index.ts';
import { runAllSegments, type SegmentProcessor } from '../../src/segment/index.ts';
import type { Store } from '../../src/store/index.ts';
import { segmentTopic, type Topology } from '../../src/topology/index.ts';
import { randomName, testBus, testStore } from '../helpers/index.ts';
import {
  codec, expectFlowEqual, expectPacketsEqual, oracleInput, oracleOf, produceInChunks, readTopic, simulateFleet, storedFlow,
} from './fixture.ts';

const WINDOW_S = 10;
const LATENESS_S = 0.5;

describe('segment processors against the batch oracle', () => {
  const opened: { close(): Promise<void> }[] = [];
  const procs: SegmentProcessor[] = [];
  afterAll(async () => {
    await Promise.allSettled(procs.map((p) => p.stop()));
    await Promise.allSettled(opened.map((o) => o.close()));
  });

  it('stores exactly the oracle’s traffic flow, counts each packet once across clouds, dead-letters poison, survives worker faults', async () => {
    const bus: Bus = testBus();
    opened.push(bus);
    const segs = [randomName('sn'), randomName('ss')];
    const stores: Store[] = [testStore('cloud-a'), testStore('cloud-b')];
    opened.push(...stores);
    const { records, copies } = simulateFleet({ segments: segs, vehicles: 60, steps: 50, windowS: WINDOW_S, seed: 7, dupShare: 0.02 });
    // Three poison messages in the first segment's topic: wrong magic, unknown schema id, cut body.
    const good = codec.encode(copies[0]!);
    const bad = [Buffer.from('not avro at all'), Buffer.concat([Buffer.from([0, 0, 0, 0x7f, 0x7f]), good.subarray(5)]), good.subarray(0, 9)];
    const poisonRecords = bad.map((value, i) => ({ topic: segmentTopic(segs[0]!), key: `poison-${i}`, value }));
    await bus.ensureTopics(segs.map((s) => ({ topic: segmentTopic(s), partitions: 4 })));
    await produceInChunks(bus, [...records.slice(0, 2000), ...poisonRecords, ...records.slice(2000)]);

    let faults = 0;
    const counts: Record<number, number> = {};
    // Both segments through runAllSegments, as `iov segment --all` and the demo run them.
    const topology: Topology = {
      name: 'diff', h3: { resolution: 9, segmentResolution: 6 }, centres: [],
      clouds: [{ id: 'cloud-a', roles: ['processing', 'storage'] }, { id: 'cloud-b', roles: ['processing', 'storage'] }],
      segments: [{ id: segs[0]!, cloud: 'cloud-a', cells: [], maxReplicas: 4 }, { id: segs[1]!, cloud: 'cloud-b', cells: [], maxReplicas: 4 }],
    };
    const all = runAllSegments(topology, {
      bus, storeFor: (cloud) => stores[cloud === 'cloud-a' ? 0 : 1]!, workers: 2, windowS: WINDOW_S, allowedLatenessS: LATENESS_S,
      retry: { initialMs: 20, maxMs: 200 },
      perSegment: {
        // The first segment's pool: the 1st task of partition 1 throws once; the 1st task of
        // partition 2 kills its worker thread once.
        [segs[0]!]: {
          faults: {
            workerFault: ({ partition, attempt }) => {
              if (attempt !== 1) return undefined;
              const n = (counts[partition] = (counts[partition] ?? 0) + 1);
              if (partition === 1 && n === 1) return (faults++, 'throw');
              if (partition === 2 && n === 1) return (faults++, 'exit');
              return undefined;
            },
          },
        },
      },
    });
    procs.push(...all.processors);
    expect(all.processors.map((p) => p.segmentId)).toEqual(segs);
    await all.start();
    await all.drain({ timeoutMs: 45_000 });

    const input = await oracleInput(bus, segs);
    const oracle = oracleOf(input, WINDOW_S, LATENESS_S);
    // The scenario exercises what it claims to.
    expect(oracle.rows.length).toBeGreaterThan(100);
    expect(oracle.late.length).toBeGreaterThan(10);
    expect(copies.some((c) => c.crossing)).toBe(true);
    expect(oracle.rows.some((r) => r.speedCount < r.packets)).toBe(true);

    expectFlowEqual(await storedFlow(stores, WINDOW_S), oracle);
    await expectPacketsEqual(stores, oracle);
    // No double counting: owned packets across both clouds = distinct packets sent; client
    // retries (the same packet twice) dropped, some of them after their window had closed.
    expect(oracle.owned + oracle.duplicates.length).toBe(copies.filter((c) => !c.crossing).length);
    expect(oracle.duplicates.length).toBeGreaterThan(20);
    const wm: Record<string, number> = {};
    const dups = new Set(oracle.duplicates);
    let afterClose = 0;
    for (const p of input) {
      const at = `${p.segment}/${p.partition}`;
      const before = wm[at] ?? -Infinity;
      wm[at] = Math.max(before, p.ts);
      if (!('tick' in p) && dups.has(p) && (Math.floor(p.ts / 1000 / WINDOW_S) + 1) * WINDOW_S * 1000 + LATENESS_S * 1000 <= before) afterClose++;
    }
    expect(afterClose).toBeGreaterThan(5);

    const [s0, s1] = procs.map((p) => p.stats());
    expect(s0!.owned + s1!.owned).toBe(oracle.owned);
    expect(s0!.late + s1!.late).toBe(oracle.late.length);
    expect(s0!.duplicates + s1!.duplicates).toBe(oracle.duplicates.length);
    expect(s0!.foreign + s1!.foreign).toBe(copies.filter((c) => c.crossing).length);
    expect(s0!.poison).toBe(3);
    expect(faults).toBe(2);
    expect(s0!.workerFailures).toBe(2);

    const dlq = await readTopic(bus, `iov.seg.${segs[0]}.dlq`);
    expect(dlq.map((m) => m.key).sort()).toEqual(['poison-0', 'poison-1', 'poison-2']);
    expect(dlq.map((m) => m.headers['iov-error-code']).sort()).toEqual(['BAD_AVRO', 'BAD_MAGIC', 'UNKNOWN_SCHEMA']);
    for (const m of dlq) {
      expect(m.headers['iov-source-topic']).toBe(segmentTopic(segs[0]!));
      expect(m.headers['iov-error-reason']!.length).toBeGreaterThan(5);
    }
    // One registry for all segments of the process, told apart by label.
    expect(procs[1]!.metrics()).toBe(all.metrics());
    const metrics = await all.metrics().metrics();
    expect(metrics).toMatch(new RegExp(`iov_segment_packets_total\\{segment="${segs[1]}",kind="owned"\\} ${s1!.owned}`));
    expect(metrics).toMatch(new RegExp(`iov_segment_packets_total\\{segment="${segs[1]}",kind="duplicate"\\} ${s1!.duplicates}`));
    expect(metrics).toMatch(/iov_segment_poison_total\{segment="[^"]+"\} 3/);
    expect(metrics).toMatch(/iov_segment_lag\{/);
  });
});
