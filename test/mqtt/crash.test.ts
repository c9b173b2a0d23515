// A gateway killed mid-stream loses nothing the broker acknowledged: two `iov gateway --mqtt`
// processes share the subscription; one is SIGKILLed while a QoS 1 publisher streams; the
// broker keeps what the dead one had not acknowledged (in flight, and what it went on
// queueing for its session) and redelivers it when the replica comes back with its client id.
// Every packet then has an owned copy in Kafka. A redelivered message may have had its packets
// reserved in the dedup by the dead replica before they reached Kafka: those reservations were
// never committed and are taken over, so the packets are produced; copies of those that had
// landed are identical and are dropped by the segment processors' dedup (docs/mqtt.md).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { mqttPacketsTopic } from '../../src/gateway/index.ts';
import { loadTopology, segmentTopic, type Topology } from '../../src/topology/index.ts';
import { infra, randomName, waitFor } from '../helpers/index.ts';
import { chunk, fleet, pkey, readAll, SHANGHAI } from '../gateway/helpers.ts';
import { connectClient, SERVICE, startBroker, type TestBroker } from './helpers.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const KEYS = { 'tgw-c': 'secret-crash-1' };

describe('MQTT ingest: a gateway killed mid-stream', () => {
  let broker: TestBroker;
  let dir: string;
  let topoFile: string;
  let topo: Topology;
  const children = new Set<ChildProcess>();

  /** `iov gateway --mqtt` as its own OS process; resolves once it is subscribed. */
  const gateway = (clientId: string): Promise<ChildProcess & { metricsUrl?: string }> => {
    const child = spawn(process.execPath, [
      join(ROOT, 'bin/iov.mjs'), 'gateway', '--topology', topoFile, '--port', '0', '--state-dir', infra().root,
      '--mqtt', broker.url, '--mqtt-client-id', clientId,
    ], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, IOV_API_KEYS: Object.entries(KEYS).map(([k, v]) => `${k}:${v}`).join(','), IOV_MQTT_USERNAME: SERVICE.username, IOV_MQTT_PASSWORD: SERVICE.password, IOV_LOG_LEVEL: 'info' },
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    return new Promise((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('gateway subscribed to')) resolve(Object.assign(child, { metricsUrl: `${/listening on (\S+)/.exec(out)![1]}/metrics` }));
      });
      child.once('exit', (code) => reject(new Error(`gateway ${clientId} exited (${code}) before subscribing: ${err}`)));
    });
  };

  beforeAll(async () => {
    broker = await startBroker(KEYS);
    dir = mkdtempSync(join(tmpdir(), 'iov-mqtt-crash-'));
    const suffix = randomName('').slice(1).toLowerCase();
    topoFile = join(dir, 'topology.yaml');
    writeFileSync(topoFile, readFileSync(SHANGHAI, 'utf8').replace(/^(\s+- id: )(north|central|south)\s*$/gm, `$1$2-${suffix}`));
    topo = loadTopology(topoFile);
    expect(topo.segments.map((s) => s.id)).toEqual([`north-${suffix}`, `central-${suffix}`, `south-${suffix}`]);
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('redelivers what the dead replica had not acknowledged; every acknowledged packet lands', async () => {
    const [a, b] = await Promise.all([gateway('gw-crash-a'), gateway('gw-crash-b')]);
    expect(b.pid).toBeDefined();
    const pub: MqttClient = await connectClient(broker.url, { username: 'tgw-c', password: KEYS['tgw-c'] });
    const packets = fleet({ vehicles: 40, steps: 40, t0: Date.now() - 600_000, seed: 5, prefix: randomName('cr') });
    const messages = chunk(packets, 10);
    let acked = 0;
    try {
      for (let i = 0; i < messages.length; i++) {
        // The broker's PUBACK: from here the packets are acknowledged to the vehicle side.
        await pub.publishAsync(mqttPacketsTopic('tgw-c'), JSON.stringify(messages[i]), { qos: 1 });
        acked += messages[i]!.length;
        if (i === Math.floor(messages.length / 3)) a.kill('SIGKILL');
        if (i % 4 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await pub.endAsync();
    }
    expect(acked).toBe(packets.length);
    await waitFor(() => a.exitCode !== null || a.signalCode !== null, { what: 'replica a gone' });
    expect(a.signalCode).toBe('SIGKILL');
    // The replica comes back under the same client id and gets its session's messages: the
    // ones in flight when it died, and the share of the stream the broker kept queueing for it.
    const back = await gateway('gw-crash-a');
    const handled = await waitFor(async () => {
      const text = await (await fetch(back.metricsUrl!)).text();
      const n = Number(/^iov_gateway_mqtt_messages_total\{code=""\} (\d+)/m.exec(text)?.[1] ?? 0);
      return n > 0 ? n : undefined;
    }, { what: 'the restarted replica handling its session' });
    expect(handled).toBeGreaterThan(0);

    const want = new Set(packets.map((p) => pkey(p.vehicleId, p.seq)));
    // Owned copies only are counted (with two processes racing on one vehicle, crossing copies
    // follow the shared Redis state; docs/gateway.md).
    const msgs = await readAll(infra().kafka!.brokers, topo.segments.map((s) => segmentTopic(s.id)), packets.length, { timeoutMs: 60_000, quietMs: 1500 });
    const owned = new Map<string, string[]>();
    for (const m of msgs) {
      if (m.packet.crossing) continue;
      const k = pkey(m.packet.vehicleId, m.packet.seq);
      owned.set(k, [...(owned.get(k) ?? []), JSON.stringify([m.topic, m.packet.ts, m.packet.lat, m.packet.lng, m.packet.cell])]);
    }
    const missing = [...want].filter((k) => !owned.has(k));
    expect(missing, `${missing.length} acknowledged packets lost`).toEqual([]);
    expect(owned.size).toBe(want.size);
    // Extra copies are only of redelivered packets, and identical.
    const extra = [...owned.values()].filter((v) => v.length > 1);
    for (const v of extra) expect(new Set(v).size).toBe(1);
    expect(extra.length).toBeLessThan(packets.length / 2);
  }, 120_000);
});
