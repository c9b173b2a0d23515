// Helpers for the MQTT tests: a private mosquitto per test file (its own folder, free port,
// the logins of the test's gateway keys), an in-process gateway over it with MQTT ingests, a
// QoS 1 publisher that records which messages the broker acknowledged, and a reply collector.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus } from '../../src/bus/index.ts';
import { startMosquitto, stopPid, type MosquittoHandle } from '../../src/infra/index.ts';
import {
  createGateway, resolveMqttConfig, startMqttIngest, type Gateway, type MqttIngest, type MqttIngestConfig, type MqttReply,
} from '../../src/gateway/index.ts';
import type { VehicleState } from '../../src/state/index.ts';
import { segmentTopicSpecs, type Topology } from '../../src/topology/index.ts';
import { randomName, testBus, testState } from '../helpers/index.ts';
import { privateTopology } from '../gateway/helpers.ts';

export const SERVICE = { username: 'iov-ingest', password: 'svc-password-1' };

export interface TestBroker extends MosquittoHandle {
  stop(): Promise<void>;
}

export async function startBroker(users: Record<string, string> = {}): Promise<TestBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'iov-mqtt-'));
  const withAuth = Object.keys(users).length > 0;
  const b = await startMosquitto(dir, { users, ...(withAuth ? { service: SERVICE } : {}) });
  return {
    ...b,
    async stop() {
      await stopPid(b.pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An MQTT 5 client that resolves once connected, or rejects with the broker's refusal. */
export function connectClient(url: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5_000, ...opts });
    c.once('connect', () => resolve(c));
    c.once('error', (err) => {
      c.end(true);
      reject(err);
    });
  });
}

/** Replies of one gateway id, parsed, with their correlation data as text. */
export async function collectReplies(client: MqttClient, gatewayId: string): Promise<{ replies: (MqttReply & { correlation?: string })[] }> {
  const out: { replies: (MqttReply & { correlation?: string })[] } = { replies: [] };
  client.on('message', (topic, payload, packet) => {
    if (topic !== `iov/v1/${gatewayId}/replies`) return;
    const corr = packet.properties?.correlationData;
    out.replies.push({ ...(JSON.parse(payload.toString()) as MqttReply), ...(corr ? { correlation: corr.toString() } : {}) });
  });
  await client.subscribeAsync(`iov/v1/${gatewayId}/replies`, { qos: 1 });
  return out;
}

const silent = pino({ level: 'silent' });

/**
 * A private broker with the logins of `keys`, and an in-process gateway (no rate limit, silent)
 * over the private topology on the real Kafka and Redis; its segment topics exist.
 */
export interface MqttGateway {
  broker: TestBroker;
  topo: Topology;
  bus: Bus;
  state: VehicleState;
  gw: Gateway;
  /**
   * An MQTT ingest into the gateway from the broker, with the service login and a fresh
   * client id unless `config` says otherwise; metrics on the gateway's registry unless given.
   * Closed by close().
   */
  ingest(config?: Partial<MqttIngestConfig>, metrics?: Registry): Promise<MqttIngest>;
  /** Closes the ingests, the gateway, its bus and state, and stops the broker. */
  close(): Promise<void>;
}

export async function startMqttGateway(keys: Record<string, string>, opts: { schemaId?: number } = {}): Promise<MqttGateway> {
  const broker = await startBroker(keys);
  const topo = privateTopology();
  const bus = testBus();
  const state = testState();
  const ingests: MqttIngest[] = [];
  try {
    await bus.ensureTopics(segmentTopicSpecs(topo));
  } catch (err) {
    await Promise.allSettled([bus.close(), state.close(), broker.stop()]);
    throw err;
  }
  const gw = createGateway({ topology: topo, bus, state, logger: silent, config: { apiKeys: keys, rateLimit: null }, ...opts });
  return {
    broker, topo, bus, state, gw,
    async ingest(config = {}, metrics = gw.metrics) {
      const i = await startMqttIngest(
        { ingest: gw.ingest, config: gw.config, metrics, logger: silent },
        resolveMqttConfig({ url: broker.url, clientId: randomName('gw'), ...SERVICE, ...config }),
      );
      ingests.push(i);
      return i;
    },
    async close() {
      for (const i of ingests) await i.close();
      await gw.close();
      await bus.close();
      await state.close();
      await broker.stop();
    },
  };
}
