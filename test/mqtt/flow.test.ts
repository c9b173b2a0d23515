// End to end with the Schema Registry in the data path: packets published over MQTT → the
// gateway (registry ids written) → Kafka → segment processors (a pool thread resolving the
// registry's writer ids) → ClickHouse. The stored traffic_flow equals the batch oracle over
// what Kafka holds, every packet counted once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mqttPacketsTopic } from '../../src/gateway/index.ts';
import { connectSchemaRegistry, createResolvingDecoder, fixedIds, readSchema, registerPacketSchemas, type EnrichedPacket } from '../../src/schemas/index.ts';
import { runAllSegments, type AllSegments } from '../../src/segment/index.ts';
import type { Store } from '../../src/store/index.ts';
import { segmentTopic } from '../../src/topology/index.ts';
import { randomName, testStore, waitFor } from '../helpers/index.ts';
import { chunk, fleet } from '../gateway/helpers.ts';
import { expectFlowEqual, oracleOf, readTopic, storedFlow } from '../segment/fixture.ts';
import type { OraclePacket } from '../../src/flow/index.ts';
import { startRegistryPeer, type RegistryPeer } from '../schemas/registry-peer.ts';
import { connectClient, startMqttGateway, type MqttGateway } from './helpers.ts';

const KEYS = { 'tgw-f': 'secret-flow-1' };
const WINDOW_S = 10;
const LATENESS_S = 1;

describe('MQTT → Kafka (registry ids) → segment processors → traffic_flow', () => {
  let peer: RegistryPeer;
  let mq: MqttGateway;
  let all: AllSegments | undefined;
  const stores: Store[] = [];

  beforeAll(async () => {
    peer = await startRegistryPeer();
    const ids = await registerPacketSchemas(connectSchemaRegistry(peer.url));
    mq = await startMqttGateway(KEYS, { schemaId: ids.enrichedPacket });
    await mq.ingest();
  });
  afterAll(async () => {
    await all?.stop();
    await mq?.close();
    await Promise.allSettled(stores.map((s) => s.close()));
    await peer?.close();
  });

  it('stores the oracle’s traffic flow for packets that came over MQTT with registry ids', async () => {
    const packets = fleet({ vehicles: 16, steps: 40, t0: Math.floor(Date.now() / 60_000) * 60_000 - 1_800_000, seed: 9, prefix: randomName('fl') });
    const pub = await connectClient(mq.broker.url, { username: 'tgw-f', password: KEYS['tgw-f'] });
    for (const b of chunk(packets, 32)) await pub.publishAsync(mqttPacketsTopic('tgw-f'), JSON.stringify(b), { qos: 1 });
    await pub.endAsync();
    await waitFor(async () => (await mq.gw.metrics.getSingleMetricAsString('iov_gateway_packets_accepted_total')).endsWith(` ${packets.length}`), { what: 'every packet accepted', timeoutMs: 30_000 });

    // The processors learn the registry's writer ids (they know only the fixed id of schemas/).
    for (const c of ['cloud-a', 'cloud-b', 'cloud-c']) stores.push(testStore(c));
    all = runAllSegments(mq.topo, {
      bus: mq.bus, storeFor: (cloud) => stores[['cloud-a', 'cloud-b', 'cloud-c'].indexOf(cloud)]!, workers: 1, windowS: WINDOW_S, allowedLatenessS: LATENESS_S,
      schemaRegistry: connectSchemaRegistry(peer.url),
    });
    await all.start();
    await all.drain({ timeoutMs: 45_000 });
    const stats = all.processors.map((p) => p.stats());
    expect(stats.reduce((a, s) => a + s.poison, 0)).toBe(0);
    expect(stats.reduce((a, s) => a + s.owned, 0)).toBe(packets.length);

    // The oracle reads Kafka with the registry's schemas, independently of the processors.
    const decoder = createResolvingDecoder<EnrichedPacket>(readSchema('enriched-packet'), fixedIds()['io.iov.pipeline.EnrichedPacket']!);
    const registry = connectSchemaRegistry(peer.url);
    const input: OraclePacket[] = [];
    for (const s of mq.topo.segments) {
      for (const m of await readTopic(mq.bus, segmentTopic(s.id))) {
        const id = m.value.readInt32BE(1);
        if (!decoder.knows(id)) decoder.learn({ [id]: await registry.writerSchema(id) });
        input.push({ ...decoder.decode(m.value), partition: m.partition });
      }
    }
    expect(input.some((p) => p.crossing)).toBe(true);
    const oracle = oracleOf(input, WINDOW_S, LATENESS_S);
    expect(oracle.owned).toBe(packets.length);
    expectFlowEqual(await storedFlow(stores, WINDOW_S), oracle);
  }, 120_000);
});
