// MQTT coalescing (docs/mqtt.md, "Coalescing small messages"): the small messages of one
// publisher go to the ingest core as one call, and each message still gets the answer it would
// have got alone. Differential: the same messages (on fresh vehicle ids) through a subscription
// that does not coalesce are the oracle. Real mosquitto, Redis and Kafka.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { mqttPacketsTopic, type MqttIngest } from '../../src/gateway/index.ts';
import { createSegmentLookup } from '../../src/topology/index.ts';
import { randomName, waitFor } from '../helpers/index.ts';
import { ndjson } from '../gateway/helpers.ts';
import { collectReplies, connectClient, startMqttGateway, type MqttGateway } from './helpers.ts';

const KEYS = { 'cgw-1': 'secret-one-1', 'cgw-2': 'secret-two-2' };

describe('MQTT coalescing: one ingest call, per-message answers', () => {
  let mq: MqttGateway;
  let merged: MqttIngest;
  let solo: MqttIngest;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    mq = await startMqttGateway(KEYS);
    // cgw-1's messages: coalesced, with a linger long enough that a burst lands in one call.
    merged = await mq.ingest({ gatewayId: 'cgw-1', coalesceLingerMs: 1_000 });
    // cgw-2's messages: one ingest call each (the oracle).
    solo = await mq.ingest({ group: 'solo', gatewayId: 'cgw-2', coalesceMaxPackets: 1 }, new Registry());
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync();
    await mq?.close();
  });

  /** A burst of messages (not awaited one by one) from `gatewayId`; its replies by correlation. */
  async function burst(gatewayId: 'cgw-1' | 'cgw-2', prefix: string) {
    const pub = await connectClient(mq.broker.url, { username: gatewayId, password: KEYS[gatewayId] });
    clients.push(pub);
    const replies = await collectReplies(pub, gatewayId);
    const lookup = createSegmentLookup(mq.topo);
    const t = Date.now() - 60_000;
    const at = (lat: number, lng: number) => ({ lat, lng, segment: lookup.route(lat, lng).segment });
    const here = at(31.2, 121.5);
    // A point in another segment, for a crossing.
    let there = here;
    for (let k = 1; there.segment === here.segment && k < 50; k++) there = at(31.2 + k * 0.02, 121.5 - k * 0.02);
    expect(there.segment).not.toBe(here.segment);
    const p = (v: string, seq: number, pos: { lat: number; lng: number }, dt = 0) => ({ vehicleId: `${prefix}-${v}`, seq, ts: t + seq * 1000 + dt, lat: pos.lat, lng: pos.lng, speedKmh: 30 });
    const topic = mqttPacketsTopic(gatewayId);
    const send = (payload: string, correlation: string, ndjsonBody = false) =>
      pub.publishAsync(topic, payload, { qos: 1, properties: { correlationData: Buffer.from(correlation), ...(ndjsonBody ? { contentType: 'application/x-ndjson' } : {}) } });
    await Promise.all([
      send(JSON.stringify([p('a', 1, here), { ...p('a', 2, here), lat: 999 }]), 'partial'),
      send(JSON.stringify(p('b', 1, here)), 'one'),
      send(JSON.stringify([{ ...p('c', 1, here), vehicleId: 'bad id!' }]), 'all-bad'),
      send(JSON.stringify([p('a', 1, here)]), 'dup-of-partial'),
      send(`${ndjson([p('e', 1, here)])}\nnot json\n${ndjson([p('e', 2, there)])}`, 'crossing', true),
      send('[]', 'empty'),
    ]);
    await waitFor(() => replies.replies.length >= 6, { what: `six replies to ${gatewayId}` });
    return Object.fromEntries(replies.replies.map(({ correlation, ...r }) => [correlation, r]));
  }

  it('answers each coalesced message as if it had been ingested alone', async () => {
    const calls = async () => Number(/^iov_gateway_request_packets_count (\S+)/m.exec(await mq.gw.metrics.metrics())?.[1] ?? NaN);
    const c0 = await calls();
    const got = await burst('cgw-1', randomName('m'));
    const c1 = await calls();
    const oracle = await burst('cgw-2', randomName('s'));
    const c2 = await calls();
    // The oracle made a call per message that reached the core (5), the coalesced run one.
    expect(c2 - c1).toBe(5);
    expect(c1 - c0).toBe(1);
    expect(got).toEqual(oracle);
    // And the oracle says what each message's answer is.
    expect(got.partial).toMatchObject({ accepted: 1, duplicates: 0, crossings: 0, produced: 1, rejected: [{ index: 1, code: 'INVALID_LAT' }] });
    expect(got.one).toEqual({ accepted: 1, duplicates: 0, crossings: 0, produced: 1, rejected: [] });
    expect(got['all-bad']).toMatchObject({ code: 'ALL_REJECTED', accepted: 0, rejected: [{ index: 0, code: 'INVALID_VEHICLE_ID' }] });
    expect(got['dup-of-partial']).toEqual({ accepted: 0, duplicates: 1, crossings: 0, produced: 0, rejected: [] });
    expect(got.crossing).toMatchObject({ accepted: 2, duplicates: 0, crossings: 1, produced: 3, rejected: [{ index: 1, code: 'MALFORMED_LINE' }] });
    expect(got.empty).toEqual({ code: 'EMPTY_BODY', message: 'the request holds no packets' });
    await waitFor(() => merged.pendingAcks() === 0 && solo.pendingAcks() === 0, { what: 'every message acknowledged' });
  });
});
