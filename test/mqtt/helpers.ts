// Helpers for the MQTT tests: a private mosquitto per test file (its own folder, free port,
// the logins of the test's gateway keys), a QoS 1 publisher that records which messages the
// broker acknowledged, and a reply collector.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startMosquitto, stopPid, type MosquittoHandle } from '../../src/infra/index.ts';
import type { MqttReply } from '../../src/gateway/index.ts';

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
