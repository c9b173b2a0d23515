// `iov simulate --mqtt`: the fleet published over MQTT as a telematics gateway would (docs/mqtt.md):
// login = gatewayId + API key, QoS 1 to iov/v1/<gatewayId>/packets, one JSON array per batch,
// MQTT 5 correlation data = the batch number, so that the gateway's reply on
// iov/v1/<gatewayId>/replies (always sent for correlated messages) gives the same counts as
// an HTTP answer. The broker's PUBACK makes the batch safe (the client re-sends until then);
// the reply says what the gateway made of it.
import mqtt, { type MqttClient } from 'mqtt';
import type { PostResult } from './http.ts';

export interface MqttPublisherOptions {
  url: string;
  gatewayId: string;
  /** The gateway's API key = its broker password (absent: anonymous broker). */
  apiKey?: string;
  /** Wait this long for the gateway's reply to a batch (default 30 000 ms). */
  replyTimeoutMs?: number;
}

export interface MqttPublisher {
  send(batch: unknown[], n: number): Promise<PostResult>;
  close(): Promise<void>;
}

interface Reply {
  code?: string;
  message?: string;
  accepted?: number;
  duplicates?: number;
  rejected?: unknown[];
  crossings?: number;
}

/** HTTP status the HTTP path would have answered (for the report's bookkeeping). */
const STATUS: Record<string, number> = { ALL_REJECTED: 422, BODY_TOO_LARGE: 413, TOO_MANY_PACKETS: 413, INTERNAL: 500 };

export async function connectMqttPublisher(opts: MqttPublisherOptions): Promise<MqttPublisher> {
  const client: MqttClient = await mqtt.connectAsync(opts.url, {
    protocolVersion: 5,
    clientId: `iov-sim-${opts.gatewayId}-${process.pid}`,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...(opts.apiKey ? { username: opts.gatewayId, password: opts.apiKey } : {}),
  });
  const waiting = new Map<string, (r: Reply) => void>();
  const replies = `iov/v1/${opts.gatewayId}/replies`;
  client.on('message', (topic, payload, packet) => {
    const id = packet.properties?.correlationData?.toString();
    if (topic !== replies || id === undefined) return;
    waiting.get(id)?.(JSON.parse(payload.toString()) as Reply);
  });
  await client.subscribeAsync(replies, { qos: 1 });
  const timeoutMs = opts.replyTimeoutMs ?? 30_000;
  const topic = `iov/v1/${opts.gatewayId}/packets`;
  return {
    async send(batch, n) {
      const id = String(n);
      const reply = new Promise<Reply | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        waiting.set(id, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
      });
      try {
        await client.publishAsync(topic, JSON.stringify(batch), { qos: 1, properties: { correlationData: Buffer.from(id), contentType: 'application/json' } });
      } catch (err) {
        waiting.delete(id);
        return { status: 0, accepted: 0, duplicates: 0, rejected: 0, crossings: 0, retries: 0, failures: [`${opts.url}: publish refused: ${(err as Error).message}`], failed: true };
      }
      const r = await reply;
      waiting.delete(id);
      if (!r) return { status: 0, accepted: 0, duplicates: 0, rejected: 0, crossings: 0, retries: 0, failures: [`${opts.url}: no reply within ${timeoutMs} ms (the broker has the batch)`], failed: true };
      const status = r.code === undefined ? 200 : STATUS[r.code] ?? 400;
      const rejected = Array.isArray(r.rejected) ? r.rejected.length : status >= 400 ? batch.length : 0;
      return {
        status, accepted: r.accepted ?? 0, duplicates: r.duplicates ?? 0, rejected, crossings: r.crossings ?? 0, retries: 0,
        failures: status >= 400 && status !== 422 ? [`${opts.url}: ${r.code}: ${r.message}`] : [], failed: status >= 400 && status !== 422,
      };
    },
    async close() {
      await client.endAsync();
    },
  };
}
