// End to end: a fleet crossing the north/central/south boundaries is posted over HTTP
// (fastify inject, JSON and NDJSON), every segment topic is read back with an independent
// kafkajs consumer, and each packet is checked against the oracle in helpers.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Bus } from '../../src/bus/index.ts';
import { createGateway, type Gateway, type IngestResult } from '../../src/gateway/index.ts';
import type { VehicleState } from '../../src/state/index.ts';
import { segmentTopic, segmentTopicSpecs, type Topology } from '../../src/topology/index.ts';
import { infra, testBus, testState } from '../helpers/index.ts';
import { chunk, expectedLanding, fleet, ndjson, pkey, privateTopology, readAll, topics, type TestPacket } from './helpers.ts';

for (const mode of ['main thread', 'worker thread'] as const)
describe(`gateway end to end (real Redis + Kafka, produce on the ${mode})`, () => {
  let topo: Topology;
  let bus: Bus;
  let state: VehicleState;
  let gw: Gateway;

  beforeAll(async () => {
    topo = privateTopology();
    bus = testBus();
    state = testState();
    await bus.ensureTopics(segmentTopicSpecs(topo));
    const produceWorker = mode === 'worker thread' ? { brokers: infra().kafka!.brokers, clientId: 'gw-e2e-worker' } : undefined;
    gw = createGateway({ topology: topo, bus, state, produceWorker, logger: pino({ level: 'silent' }), config: { apiKeys: { 'tgw-1': 'secret-one-1' }, rateLimit: null } });
  });
  afterAll(async () => {
    await gw?.close();
    await bus?.close();
    await state?.close();
  });

  it('lands every packet in the right topic(s) with the right flags; owned copies = accepted exactly', async () => {
    const t0 = Date.now() - 600_000;
    const packets = fleet({ vehicles: 24, steps: 30, t0, seed: 7 });
    const sent: TestPacket[] = [];
    const results: IngestResult[] = [];
    const post = async (batch: TestPacket[], asNdjson: boolean) => {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/v1/packets',
        headers: { authorization: 'Bearer secret-one-1', 'content-type': asNdjson ? 'application/x-ndjson' : 'application/json' },
        payload: asNdjson ? ndjson(batch) : JSON.stringify(batch),
      });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as IngestResult;
      results.push(body);
      sent.push(...batch);
      return body;
    };
    const batches = chunk(packets, 60);
    // Two requests at a time, as a telematics gateway with a small connection pool would.
    for (let i = 0; i < batches.length; i += 2) {
      await Promise.all(batches.slice(i, i + 2).map((b, j) => post(b, (i + j) % 2 === 1)));
    }
    // A retried request: every packet is a duplicate, acknowledged and not produced again.
    const again = await post(batches[3]!, false);
    expect(again).toEqual({ accepted: 0, duplicates: 60, rejected: [], crossings: 0, produced: 0 });
    // Late packets: new seq, ts older than the vehicle's state, positioned in the vehicle's
    // first segment. They go to their own segment only: no crossing copy.
    const late = packets.slice(0, 6).map((p) => ({ ...p, seq: 1000 + p.seq, ts: p.ts + 500 }));
    const lateRes = await post(late, true);
    expect(lateRes).toEqual({ accepted: 6, duplicates: 0, rejected: [], crossings: 0, produced: 6 });

    const exp = expectedLanding(topo, sent);
    const accepted = results.reduce((a, r) => a + r.accepted, 0);
    const crossings = results.reduce((a, r) => a + r.crossings, 0);
    const produced = results.reduce((a, r) => a + r.produced, 0);
    expect(accepted).toBe(exp.owned.size);
    expect(crossings).toBe(exp.crossings.size);
    expect(produced).toBe(accepted + crossings);
    // The fleet really exercises the rule: every vehicle crosses both boundaries.
    expect(exp.crossings.size).toBeGreaterThanOrEqual(24 * 2);
    expect(results.reduce((a, r) => a + r.duplicates, 0)).toBe(60);

    const msgs = await readAll(infra().kafka!.brokers, topics(topo), produced);
    expect(msgs.length).toBe(produced);

    const ownedSeen = new Map<string, number>();
    const crossSeen = new Map<string, number>();
    const partitionOf = new Map<string, number>();
    const byKey = new Map(sent.map((p) => [pkey(p.vehicleId, p.seq), p]));
    for (const m of msgs) {
      const p = m.packet;
      const k = pkey(p.vehicleId, p.seq);
      expect(m.key).toBe(p.vehicleId);
      expect(m.topic).toBe(segmentTopic(p.segment));
      expect(p.gatewayId).toBe('tgw-1');
      const src = byKey.get(k)!;
      expect(src, k).toBeDefined();
      expect([p.ts, p.lat, p.lng, p.heading]).toEqual([src.ts, src.lat, src.lng, src.heading]);
      expect(p.speedKmh).toBeCloseTo(src.speedKmh, 4); // Avro float
      expect(p.extra).toEqual(src.extra ?? {});
      // A vehicle's messages stay in one partition per topic (key = vehicleId).
      const pk = `${m.topic}|${p.vehicleId}`;
      if (partitionOf.has(pk)) expect(m.partition).toBe(partitionOf.get(pk));
      else partitionOf.set(pk, m.partition);
      const o = exp.owned.get(k)!;
      if (p.crossing) {
        const c = exp.crossings.get(k);
        expect(c, `unexpected crossing copy of ${k}`).toBeDefined();
        expect([p.segment, p.ownerSegment, p.prevSegment]).toEqual([c!.from, c!.to, c!.from]);
        expect(p.cell).toBe(o.cell);
        crossSeen.set(k, (crossSeen.get(k) ?? 0) + 1);
      } else {
        expect(p.ownerSegment).toBe(p.segment);
        expect([p.segment, p.cell, p.prevSegment]).toEqual([o.segment, o.cell, o.prevSegment]);
        ownedSeen.set(k, (ownedSeen.get(k) ?? 0) + 1);
      }
    }
    // Exactly one owned copy of every accepted packet, exactly one crossing copy per crossing.
    expect([...ownedSeen.keys()].sort()).toEqual([...exp.owned.keys()].sort());
    expect([...ownedSeen.values()].every((n) => n === 1)).toBe(true);
    expect([...crossSeen.keys()].sort()).toEqual([...exp.crossings.keys()].sort());
    expect([...crossSeen.values()].every((n) => n === 1)).toBe(true);

    // Vehicle state ends at each vehicle's newest packet (late packets did not move it back).
    const lastOf = new Map<string, TestPacket>();
    for (const p of packets) lastOf.set(p.vehicleId, p);
    const ids = [...lastOf.keys()];
    const recs = await state.get(ids);
    recs.forEach((r, i) => expect(r?.ts).toBe(lastOf.get(ids[i]!)!.ts));

    // Metrics agree with the responses.
    const text = await gw.metrics.metrics();
    expect(text).toContain(`iov_gateway_packets_accepted_total ${accepted}`);
    expect(text).toContain(`iov_gateway_crossings_total ${crossings}`);
    expect(text).toContain('iov_gateway_duplicates_total 60');
  });

  it('ingest() without HTTP: same core, default gatewayId, packets produced', async () => {
    const t0 = Date.now() - 60_000;
    const packets = fleet({ vehicles: 2, steps: 5, t0, seed: 3, prefix: 'direct' });
    const res = await gw.ingest(packets, { gatewayId: 'embedded-1' });
    expect(res).toEqual({ accepted: 10, duplicates: 0, rejected: [], crossings: expect.any(Number), produced: 10 + res.crossings });
    const again = await gw.ingest(packets);
    expect(again.duplicates).toBe(10);
  });
});
