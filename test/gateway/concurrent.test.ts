// Two in-flight requests carrying the same vehicle, the first of which fails to produce.
// Requests for one vehicle run one after the other (docs/gateway.md, "Concurrent requests
// for one vehicle"): the second must neither take the failed packet for a duplicate (the
// packet would be acknowledged and never written) nor decide its crossing from a state the
// failed request set. The bus is the in-memory adapter (contract-tested like Kafka's) behind
// a switch that fails one produce call after a delay, so the second request is surely in
// flight while the first one waits for its answer.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BusError, createMemoryBus, type Bus, type ProduceRecord } from '../../src/bus/index.ts';
import { createGateway, type Gateway } from '../../src/gateway/index.ts';
import { enrichedPacketCodec, type EnrichedPacket } from '../../src/schemas/index.ts';
import { createMemoryState } from '../../src/state/index.ts';
import { createSegmentLookup, segmentTopic, type Topology } from '../../src/topology/index.ts';
import { privateTopology, type TestPacket } from './helpers.ts';

const codec = enrichedPacketCodec();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gateway: concurrent requests for one vehicle', () => {
  let topo: Topology;
  let inner: Bus;
  let gw: Gateway;
  const acked: ProduceRecord[] = [];
  /** Produce calls still to fail (each after 150 ms, like a broker timing out). */
  let failNext = 0;
  let failing = 0; // failing produces entered so far
  // until the failing produce has been entered: a fixed sleep lost the race on a loaded CI box
  const failEntered = async (): Promise<void> => {
    for (let t = Date.now(); failing === 0; await sleep(2)) if (Date.now() - t > 5000) throw new Error('the failing produce was never entered');
  };
  const post = (batch: TestPacket[]) => gw.app.inject({ method: 'POST', url: '/v1/packets', headers: { 'content-type': 'application/json' }, payload: batch });
  const written = () => acked.map((r) => ({ topic: r.topic, p: codec.decode(r.value) as EnrichedPacket }));
  const waits = async () => Number(/^iov_gateway_vehicle_waits_total (\S+)$/m.exec(await gw.metrics.metrics())?.[1]);

  beforeEach(() => {
    topo = privateTopology();
    inner = createMemoryBus();
    acked.length = 0;
    failNext = 0;
    failing = 0;
    const bus: Bus = {
      ...inner,
      async produce(records) {
        if (failNext > 0) {
          failNext--;
          failing++;
          await sleep(150);
          throw new BusError('BUS_TIMEOUT', 'produce timed out (test)', true);
        }
        await inner.produce(records);
        acked.push(...records);
      },
    };
    // lingerMs 0: the failing call holds the first request's records only; the second
    // request's records cannot ride in it (they would fail with it, which proves nothing).
    gw = createGateway({ topology: topo, bus, state: createMemoryState(), logger: pino({ level: 'silent' }), config: { rateLimit: null, breaker: null, lingerMs: 0 } });
  });
  afterEach(async () => {
    await gw.close();
    await inner.close();
  });

  it('a client retry racing its failed first attempt is written, not acknowledged as a duplicate', async () => {
    const t0 = Date.now() - 60_000;
    const p: TestPacket = { vehicleId: 'race-1', seq: 1, ts: t0, lat: 31.2, lng: 121.47, speedKmh: 40, heading: 0 };
    failNext = 1;
    const first = post([p]);
    await failEntered(); // the first request holds its dedup reservation and waits on Kafka
    const retry = post([p]);
    const [a, b] = await Promise.all([first, retry]);
    expect(a.statusCode).toBe(503);
    expect(b.statusCode).toBe(200);
    expect(b.json()).toMatchObject({ accepted: 1, duplicates: 0 });
    const owned = written().filter((w) => !w.p.crossing);
    expect(owned.map((w) => [w.p.vehicleId, w.p.seq])).toEqual([['race-1', 1]]);
    expect(await waits()).toBe(1);

    // And a retry after success is a duplicate, as before.
    const again = await post([p]);
    expect(again.json()).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(written()).toHaveLength(1);
  });

  it('a crossing is decided from the last written position, not from a request that failed', async () => {
    const lookup = createSegmentLookup(topo);
    const lng = 121.47;
    // Find a latitude on each side of a segment boundary.
    const lats = Array.from({ length: 400 }, (_, i) => 30.9 + i * 0.0015);
    let south: number | undefined;
    let north: number | undefined;
    for (let i = 1; i < lats.length && north === undefined; i++) {
      const s0 = lookup.route(lats[i - 1]!, lng).segment;
      const s1 = lookup.route(lats[i]!, lng).segment;
      if (s0 && s1 && s0 !== s1) [south, north] = [lats[i - 1]!, lats[i]! + 0.01];
    }
    expect(south).toBeDefined();
    const segA = lookup.route(south!, lng).segment!;
    const segB = lookup.route(north!, lng).segment!;
    expect(segB).not.toBe(segA);

    const t0 = Date.now() - 60_000;
    const at = (seq: number, lat: number): TestPacket => ({ vehicleId: 'race-2', seq, ts: t0 + seq * 1000, lat, lng, speedKmh: 50, heading: 0 });
    expect((await post([at(1, south!)])).statusCode).toBe(200); // written: the vehicle is in segA

    failNext = 1;
    const failing = post([at(2, north!)]); // crosses into segB, but its write fails
    await failEntered();
    const next = post([at(3, north!)]); // so THIS packet is the one that crosses
    const [a, b] = await Promise.all([failing, next]);
    expect(a.statusCode).toBe(503);
    expect(b.statusCode).toBe(200);
    expect(b.json()).toMatchObject({ accepted: 1, crossings: 1 });

    const w = written().filter((x) => x.p.seq === 3);
    expect(w.map((x) => [x.topic, x.p.segment, x.p.ownerSegment, x.p.crossing, x.p.prevSegment]).sort()).toEqual(
      [
        [segmentTopic(segA), segA, segB, true, segA],
        [segmentTopic(segB), segB, segB, false, segA],
      ].sort(),
    );
    expect(written().some((x) => x.p.seq === 2)).toBe(false);
  });

  it('requests for different vehicles do not wait for each other', async () => {
    const t0 = Date.now() - 60_000;
    failNext = 1;
    const slow = post([{ vehicleId: 'solo-1', seq: 1, ts: t0, lat: 31.2, lng: 121.47, speedKmh: 40, heading: 0 }]);
    await failEntered();
    const res = await post([{ vehicleId: 'solo-2', seq: 1, ts: t0, lat: 31.2, lng: 121.47, speedKmh: 40, heading: 0 }]);
    expect(res.statusCode).toBe(200);
    // Answered while the other request still waits on its failing produce.
    expect(written().map((x) => x.p.vehicleId)).toEqual(['solo-2']);
    expect((await slow).statusCode).toBe(503);
    expect(await waits()).toBe(0);
  });
});
