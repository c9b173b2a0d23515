// MQTT ingest on the real mosquitto (logins and ACLs from the gateway keys), real Redis and
// Kafka: a QoS 1 publisher's packets land exactly once where the oracle says, bad packets
// get their codes on the reply topic, logins are enforced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { mqttPacketsTopic, MqttIngestError, resolveMqttConfig, type MqttIngest } from '../../src/gateway/index.ts';
import { segmentTopic } from '../../src/topology/index.ts';
import { infra, waitFor } from '../helpers/index.ts';
import { chunk, expectedLanding, fleet, ndjson, pkey, readAll, topics } from '../gateway/helpers.ts';
import { collectReplies, connectClient, startMqttGateway, type MqttGateway } from './helpers.ts';

const KEYS = { 'tgw-1': 'secret-one-1', 'tgw-2': 'secret-two-2' };

describe('MQTT ingest (mosquitto, shared subscription, PUBACK after Kafka)', () => {
  let mq: MqttGateway;
  let ingest: MqttIngest;
  let pub: MqttClient;

  beforeAll(async () => {
    mq = await startMqttGateway(KEYS);
    ingest = await mq.ingest();
    pub = await connectClient(mq.broker.url, { username: 'tgw-1', password: KEYS['tgw-1'] });
  });
  afterAll(async () => {
    await pub?.endAsync();
    await mq?.close();
  });

  it('lands every packet of a QoS 1 publisher exactly once, crossings included; a re-published message is all duplicates', async () => {
    const packets = fleet({ vehicles: 12, steps: 20, t0: Date.now() - 600_000, seed: 11, prefix: 'mq' });
    const replies = await collectReplies(pub, 'tgw-1');
    // Batches as JSON arrays and NDJSON, and single packet objects, in time order.
    const batches = chunk(packets, 24);
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i]!;
      if (i % 3 === 2) for (const p of b) await pub.publishAsync(mqttPacketsTopic('tgw-1'), JSON.stringify(p), { qos: 1 });
      else if (i % 3 === 1) await pub.publishAsync(mqttPacketsTopic('tgw-1'), ndjson(b), { qos: 1, properties: { contentType: 'application/x-ndjson' } });
      else await pub.publishAsync(mqttPacketsTopic('tgw-1'), JSON.stringify(b), { qos: 1 });
    }
    // The same message again, with correlation data: its reply says every packet is a duplicate.
    await pub.publishAsync(mqttPacketsTopic('tgw-1'), JSON.stringify(batches[0]), { qos: 1, properties: { correlationData: Buffer.from('again') } });

    const exp = expectedLanding(mq.topo, packets);
    const produced = exp.owned.size + exp.crossings.size;
    expect(exp.crossings.size).toBeGreaterThanOrEqual(12 * 2);
    const msgs = await readAll(infra().kafka!.brokers, topics(mq.topo), produced);
    expect(msgs.length).toBe(produced);
    const owned = new Map<string, number>();
    const crossed = new Map<string, number>();
    for (const m of msgs) {
      const p = m.packet;
      const k = pkey(p.vehicleId, p.seq);
      expect(p.gatewayId).toBe('tgw-1');
      expect(m.topic).toBe(segmentTopic(p.segment));
      if (p.crossing) {
        expect([p.segment, p.ownerSegment]).toEqual([exp.crossings.get(k)?.from, exp.crossings.get(k)?.to]);
        crossed.set(k, (crossed.get(k) ?? 0) + 1);
      } else {
        expect([p.segment, p.cell, p.prevSegment]).toEqual([exp.owned.get(k)?.segment, exp.owned.get(k)?.cell, exp.owned.get(k)?.prevSegment]);
        owned.set(k, (owned.get(k) ?? 0) + 1);
      }
    }
    expect([...owned.keys()].sort()).toEqual([...exp.owned.keys()].sort());
    expect([...owned.values()].every((n) => n === 1)).toBe(true);
    expect([...crossed.keys()].sort()).toEqual([...exp.crossings.keys()].sort());
    expect([...crossed.values()].every((n) => n === 1)).toBe(true);

    const again = await waitFor(() => replies.replies.find((r) => r.correlation === 'again'), { what: 'reply to the re-published message' });
    expect(again).toEqual({ accepted: 0, duplicates: 24, rejected: [], crossings: 0, produced: 0, correlation: 'again' });
    // Nothing else was worth a reply (no rejections, no correlation data).
    expect(replies.replies).toHaveLength(1);
    await waitFor(() => ingest.pendingAcks() === 0, { what: 'every message acknowledged' });
    const text = await mq.gw.metrics.metrics();
    expect(text).toContain(`iov_gateway_packets_accepted_total ${exp.owned.size}`);
    expect(text).toContain('iov_gateway_duplicates_total 24');
  });

  it('answers bad packets and bad messages on the reply topic with the HTTP codes', async () => {
    const replies = await collectReplies(pub, 'tgw-1');
    const t = Date.now() - 1000;
    const good = { vehicleId: 'rq-1', seq: 1, ts: t, lat: 31.2, lng: 121.5, speedKmh: 30 };
    const topic = mqttPacketsTopic('tgw-1');
    const send = (payload: string, correlation?: string) =>
      pub.publishAsync(topic, payload, { qos: 1, ...(correlation ? { properties: { correlationData: Buffer.from(correlation) } } : {}) });
    await send(JSON.stringify([good, { ...good, seq: 2, lat: 999 }]));
    await send('[{"vehicleId": ', 'broken');
    await send(JSON.stringify([{ ...good, vehicleId: 'bad id!' }]), 'all-bad');
    await send('[]', 'empty');
    // Replies come when each message is done (a refused message at once, a written one after
    // Kafka): matched by correlation data, not by order.
    await waitFor(() => replies.replies.length >= 4, { what: 'four replies' });
    const by = (c: string | undefined) => replies.replies.find((r) => r.correlation === c);
    const [partial, broken, allBad, empty] = [by(undefined), by('broken'), by('all-bad'), by('empty')];
    expect(partial).toEqual({
      accepted: 1, duplicates: 0, crossings: 0, produced: 1,
      rejected: [{ index: 1, code: 'INVALID_LAT', message: 'lat must be a finite number from -90 to 90, got 999' }],
    });
    expect(broken).toMatchObject({ code: 'MALFORMED_JSON', correlation: 'broken' });
    expect(broken!.message).toMatch(/^body is not valid JSON: /);
    expect(allBad).toMatchObject({ code: 'ALL_REJECTED', message: 'every packet of the request was rejected; the first, packet 0: INVALID_VEHICLE_ID vehicleId must be 1-64 characters of [A-Za-z0-9_.:-], got "bad id!"', accepted: 0 });
    expect((allBad as { rejected: { code: string }[] }).rejected.map((r) => r.code)).toEqual(['INVALID_VEHICLE_ID']);
    expect(empty).toEqual({ code: 'EMPTY_BODY', message: 'the request holds no packets', correlation: 'empty' });
    const text = await mq.gw.metrics.metrics();
    expect(text).toContain('iov_gateway_mqtt_messages_total{code="MALFORMED_JSON"} 1');
    expect(text).toContain('iov_gateway_packets_rejected_total{code="INVALID_LAT"} 1');
  });

  it('refuses a wrong key, and keeps each gateway to its own topics', async () => {
    // mosquitto 2.0 answers every failed login with reason code 135 (Not authorized).
    for (const login of [{ username: 'tgw-1', password: 'not-the-key' }, { username: 'nobody', password: 'whatever-1' }, {}]) {
      await expect(connectClient(mq.broker.url, login)).rejects.toMatchObject({ code: 135, message: 'Connection refused: Not authorized' });
    }
    // The gateway's own login, wrong: start-up fails with a clear code.
    await expect(mq.ingest({ password: 'wrong' }, new Registry())).rejects.toMatchObject({ code: 'MQTT_CONNECT_FAILED', name: 'MqttIngestError' });
    // tgw-2 may neither publish as tgw-1 nor read tgw-1's replies.
    const other = await connectClient(mq.broker.url, { username: 'tgw-2', password: KEYS['tgw-2'] });
    try {
      const spy = await collectReplies(other, 'tgw-1');
      const mine = await collectReplies(pub, 'tgw-1');
      const before = await mq.gw.metrics.getSingleMetricAsString('iov_gateway_packets_accepted_total');
      const p = { vehicleId: 'acl-1', seq: 1, ts: Date.now() - 1000, lat: 31.2, lng: 121.5 };
      await expect(other.publishAsync(mqttPacketsTopic('tgw-1'), JSON.stringify(p), { qos: 1, properties: { correlationData: Buffer.from('spoof') } }))
        .rejects.toMatchObject({ code: 135, message: 'Publish error: Not authorized' });
      await pub.publishAsync(mqttPacketsTopic('tgw-1'), JSON.stringify(p), { qos: 1, properties: { correlationData: Buffer.from('own') } });
      await waitFor(() => mine.replies.find((r) => r.correlation === 'own'), { what: 'reply to the own message' });
      // Only the own message went through (the spoofed one, published first, never arrived).
      expect(mine.replies.map((r) => r.correlation)).toEqual(['own']);
      expect(spy.replies).toEqual([]);
      const after = await mq.gw.metrics.getSingleMetricAsString('iov_gateway_packets_accepted_total');
      expect(Number(after.trim().split(' ').pop()) - Number(before.trim().split(' ').pop())).toBe(1);
    } finally {
      await other.endAsync();
    }
  });

  it('refuses bad options with the option named', () => {
    expect(() => resolveMqttConfig({ url: 'http://x', clientId: 'a' })).toThrow(new MqttIngestError('MQTT_CONFIG_INVALID', ['mqtt.url must be mqtt://host:port or mqtts://host:port, got "http://x"']));
    expect(() => resolveMqttConfig({ url: 'mqtt://h:1', clientId: 'a', receiveMaximum: 0 })).toThrow('mqtt.receiveMaximum must be an integer from 1 to 65535, got 0');
    expect(() => resolveMqttConfig({ url: 'mqtt://h:1', clientId: 'a b' })).toThrow('mqtt.clientId must be 1-128 characters');
    expect(() => resolveMqttConfig({ url: 'mqtt://h:1', clientId: 'a', username: 'u' })).toThrow('mqtt.username and mqtt.password go together');
    expect(() => resolveMqttConfig({ url: 'mqtt://h:1', clientId: 'a', gatewayId: '+' })).toThrow('mqtt.gatewayId must be 1-64 characters');
  });
});
