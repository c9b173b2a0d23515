// MQTT ingest (DESIGN.md §13, docs/mqtt.md): the gateway subscribes to an external broker
// (Debian's mosquitto) with an MQTT 5 shared subscription, $share/<group>/iov/v1/+/packets,
// so several gateway processes split the messages, and feeds every message through the same
// ingest core as POST /v1/packets.
//
//   iov/v1/<gatewayId>/packets   a telematics gateway publishes (QoS 1): one packet object
//                                or a JSON array of packets (NDJSON with content type
//                                application/x-ndjson); the broker's ACL lets only the login
//                                <gatewayId> publish there, so the topic names the gateway.
//   iov/v1/<gatewayId>/replies   the gateway answers: per-packet rejections and message-level
//                                errors, with the HTTP path's codes (errors.ts); always when
//                                the message carried MQTT 5 correlation data (echoed back).
//
// Acknowledgement: the PUBACK to the broker is sent only after Kafka acknowledged the
// message's packets (or they were duplicates, or rejected for good). Until then the broker
// keeps the message in this gateway's persistent session (clean start off, a session expiry,
// a client id stable per replica): if the gateway dies, the broker redelivers it when the
// replica reconnects, and the core's dedup (vehicleId + seq / ts, DESIGN.md §9) acknowledges
// the copies that had landed without producing them again.
//
// The mqtt client handles one incoming packet at a time and sends the PUBACK when its
// `handleMessage(packet, callback)` calls back: holding that callback for a Kafka round trip
// would process one message per round trip. So handleMessage only queues the message and
// calls back at once with a marker error (the client then goes on without sending a PUBACK
// of its own), and this module sends each PUBACK itself once the message is written, in the
// order the messages arrived (MQTT 5 §4.6 [MQTT-4.6.0-2]). The broker bounds the messages in
// flight to this client by our Receive Maximum. test/mqtt/ checks the behaviour this relies
// on against the real broker (no PUBACK from the client, redelivery on reconnect).
import { defineErrors } from '../errors.ts';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { GatewayConfig } from './config.ts';
import { allRejectedMessage, GatewayError, type PacketRejection, type RequestErrorCode } from './errors.ts';
import { OUTCOME, type IngestContext, type IngestResult } from './ingest.ts';
import { parseJsonBody, parseNdjsonBody } from './parse.ts';

export interface MqttIngestConfig {
  /** Broker URL, e.g. mqtt://127.0.0.1:1883. */
  url: string;
  /** The ingest gateways' broker login (absent: anonymous broker, loopback/dev only). */
  username?: string;
  password?: string;
  /**
   * This replica's MQTT client id. Keep it stable across restarts: the broker holds the
   * replica's unacknowledged messages in the session of that id (docs/mqtt.md).
   */
  clientId: string;
  /** Shared subscription group the gateway replicas split the messages in. */
  group: string;
  /** Take only this telematics gateway's topic (absent: every gateway's, iov/v1/+/packets). */
  gatewayId?: string;
  /** How long the broker keeps a disconnected replica's session (and its messages), s. */
  sessionExpirySec: number;
  /** Messages the broker may have in flight to this replica (MQTT 5 Receive Maximum). */
  receiveMaximum: number;
  /** A message whose packets could not be written (Kafka/Redis down, overload) is retried after this, doubling. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Start-up fails if the broker has not accepted the connection and the subscription by then. */
  connectTimeoutMs: number;
  /**
   * Small messages of one publisher (gateway id) are merged into one ingest call of up to this
   * many packets (capped by the gateway's maxPacketsPerRequest; a message is never split)...
   */
  coalesceMaxPackets: number;
  /** ...waiting at most this long for more after the first (0: only those of the same event-loop turn). */
  coalesceLingerMs: number;
}

export const DEFAULT_MQTT_CONFIG: Omit<MqttIngestConfig, 'url' | 'clientId'> = {
  group: 'iov-ingest',
  sessionExpirySec: 7 * 24 * 3600,
  receiveMaximum: 256,
  retryBaseMs: 250,
  retryMaxMs: 10_000,
  connectTimeoutMs: 10_000,
  coalesceMaxPackets: 500,
  coalesceLingerMs: 2,
};

const mqttErrors = defineErrors('MqttIngestError', {
  MQTT_CONFIG_INVALID: { status: null, retriable: false, message: '%s' },
  MQTT_CONNECT_FAILED: { status: null, retriable: true, message: 'MQTT broker %s: %s' },
  MQTT_SUBSCRIBE_REFUSED: { status: null, retriable: false, message: 'the broker refused the subscription %s (reason code %s): check the ACL of login %s' },
});

/** Start-up errors of the MQTT path (docs/mqtt.md); message-level answers use the gateway's codes. */
export const MQTT_ERRORS = mqttErrors.catalogue;
export class MqttIngestError extends mqttErrors.Base {}

const CLIENT_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const TOPIC_RE = /^iov\/v1\/([A-Za-z0-9_.-]{1,64})\/packets$/;
export const mqttPacketsTopic = (gatewayId: string): string => `iov/v1/${gatewayId}/packets`;
export const mqttRepliesTopic = (gatewayId: string): string => `iov/v1/${gatewayId}/replies`;

export function resolveMqttConfig(partial: Partial<MqttIngestConfig> & Pick<MqttIngestConfig, 'url' | 'clientId'>): MqttIngestConfig {
  const c: MqttIngestConfig = { ...DEFAULT_MQTT_CONFIG, ...partial };
  const bad = (m: string) => new MqttIngestError('MQTT_CONFIG_INVALID', [m]);
  if (!/^mqtts?:\/\/[^/]+$/.test(c.url)) throw bad(`mqtt.url must be mqtt://host:port or mqtts://host:port, got ${JSON.stringify(c.url)}`);
  if (!CLIENT_ID_RE.test(c.clientId)) throw bad(`mqtt.clientId must be 1-128 characters of [A-Za-z0-9_.:-], got ${JSON.stringify(c.clientId)}`);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(c.group)) throw bad(`mqtt.group must be 1-64 characters of [A-Za-z0-9_.-], got ${JSON.stringify(c.group)}`);
  if (c.gatewayId !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(c.gatewayId)) throw bad(`mqtt.gatewayId must be 1-64 characters of [A-Za-z0-9_.-], got ${JSON.stringify(c.gatewayId)}`);
  if ((c.username === undefined) !== (c.password === undefined)) throw bad('mqtt.username and mqtt.password go together');
  const int = (v: number, name: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isSafeInteger(v) || v < min || v > max) throw bad(`mqtt.${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
  };
  int(c.sessionExpirySec, 'sessionExpirySec', 1, 0xffffffff);
  int(c.receiveMaximum, 'receiveMaximum', 1, 65535);
  int(c.retryBaseMs, 'retryBaseMs', 1);
  int(c.retryMaxMs, 'retryMaxMs', c.retryBaseMs);
  int(c.connectTimeoutMs, 'connectTimeoutMs', 1);
  int(c.coalesceMaxPackets, 'coalesceMaxPackets', 1);
  int(c.coalesceLingerMs, 'coalesceLingerMs', 0, 1_000);
  return c;
}

/** What the MQTT path needs of a gateway (createGateway's result has it all). */
export interface MqttIngestDeps {
  ingest(items: unknown[], ctx?: IngestContext): Promise<IngestResult>;
  config: GatewayConfig;
  metrics: Registry;
  logger: Logger;
}

export interface MqttIngest {
  /** Messages received but not yet acknowledged to the broker. */
  pendingAcks(): number;
  /**
   * Stop taking messages (unsubscribe), finish and acknowledge the ones in flight (bounded
   * by timeoutMs), disconnect. What is not finished by then the broker redelivers later.
   */
  close(timeoutMs?: number): Promise<void>;
}

/** One reply on iov/v1/<gatewayId>/replies. */
export type MqttReply =
  | { accepted: number; duplicates: number; rejected: PacketRejection[]; crossings: number; produced: number; code?: 'ALL_REJECTED'; message?: string }
  | { code: RequestErrorCode; message: string };

/** A parsed message waiting in its publisher's batch; settles with "acknowledge it". */
interface Queued {
  packet: IPublishPacket;
  items: unknown[];
  resolve: (ack: boolean) => void;
  reject: (err: unknown) => void;
}

/** The messages of one publisher being gathered into one ingest call. */
interface Batch {
  gatewayId: string;
  messages: Queued[];
  packets: number;
  /** Cancels the linger timer (set with the batch's first message). */
  cancel: (() => void) | undefined;
}

/** A message in flight: its PUBACK waits for `done` and for every message before it. */
interface Delivery {
  messageId: number | undefined;
  connection: number;
  done: boolean;
}

// Handed to handleMessage's callback so that the client sends no PUBACK itself (see above).
const ACK_DEFERRED = new Error('PUBACK deferred until the packets are written');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

type ClientInternals = { _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode?: number }, cb?: () => void): void };

function createMqttMetrics(registry: Registry) {
  const registers = [registry];
  return {
    messages: new Counter({ name: 'iov_gateway_mqtt_messages_total', help: 'MQTT messages handled, by result code ("" = written)', labelNames: ['code'], registers }),
    retries: new Counter({ name: 'iov_gateway_mqtt_retries_total', help: 'MQTT messages retried after a retriable failure (not acknowledged meanwhile)', registers }),
    pending: new Gauge({ name: 'iov_gateway_mqtt_pending_acks', help: 'MQTT messages received and not yet acknowledged to the broker', registers }),
    reconnects: new Counter({ name: 'iov_gateway_mqtt_reconnects_total', help: 'Connections to the broker after the first', registers }),
  };
}

export async function startMqttIngest(deps: MqttIngestDeps, config: MqttIngestConfig): Promise<MqttIngest> {
  const { logger } = deps;
  const gw = deps.config;
  const metrics = createMqttMetrics(deps.metrics);
  const filter = `$share/${config.group}/${mqttPacketsTopic(config.gatewayId ?? '+')}`;
  const opts: IClientOptions = {
    clientId: config.clientId,
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: config.sessionExpirySec, receiveMaximum: config.receiveMaximum },
    reconnectPeriod: 1000,
    connectTimeout: config.connectTimeoutMs,
    resubscribe: false,
    ...(config.username !== undefined ? { username: config.username, password: config.password } : {}),
  };
  const client: MqttClient = mqtt.connect(config.url, opts);
  let connection = 0;
  let closing = false;
  const deliveries: Delivery[] = [];
  const inflight = new Set<Promise<void>>();

  // ---- acknowledgements, in arrival order, only on the connection that delivered ----
  const flushAcks = () => {
    while (deliveries.length > 0 && deliveries[0]!.done) {
      const d = deliveries.shift()!;
      if (d.messageId !== undefined && d.connection === connection && client.connected) {
        (client as unknown as ClientInternals)._sendPacket({ cmd: 'puback', messageId: d.messageId, reasonCode: 0 });
      }
    }
    metrics.pending.set(deliveries.length);
  };

  // ---- replies ----
  const reply = (gatewayId: string, body: MqttReply, packet: IPublishPacket) => {
    const correlationData = packet.properties?.correlationData;
    client.publish(mqttRepliesTopic(gatewayId), JSON.stringify(body), {
      qos: 1,
      properties: { contentType: 'application/json', ...(correlationData ? { correlationData } : {}) },
    }, (err) => {
      if (err && !closing) logger.warn({ err: err.message, gatewayId }, 'gateway: MQTT reply not sent');
    });
  };

  const track = (p: Promise<void>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  /** Ingest packets until they are written or refused for good. */
  async function written(ctx: IngestContext, items: unknown[]): Promise<IngestResult | GatewayError> {
    const gatewayId = ctx.gatewayId;
    let wait = config.retryBaseMs;
    for (;;) {
      try {
        return await deps.ingest(items, ctx);
      } catch (err) {
        const e = err instanceof GatewayError ? err : new GatewayError('INTERNAL', [(err as Error)?.message ?? String(err)]);
        if (!e.retriable) logger.error({ code: e.code, err: e.message, gatewayId }, 'gateway: MQTT message refused');
        // Closing: nothing of it was acknowledged; the broker redelivers it to the session later.
        if (!e.retriable || closing) return e;
        metrics.retries.inc();
        logger.warn({ code: e.code, err: e.message, gatewayId, retryInMs: wait }, 'gateway: MQTT message not written, retrying (not acknowledged meanwhile)');
        await sleep(Math.max(wait, (e.retryAfterSec ?? 0) * 1000));
        wait = Math.min(config.retryMaxMs, wait * 2);
      }
    }
  }

  const refuse = (gatewayId: string, packet: IPublishPacket, err: GatewayError) => {
    metrics.messages.inc({ code: err.code });
    reply(gatewayId, { code: err.code, message: err.message }, packet);
    return true;
  };

  // ---- coalescing: one ingest call for the small messages of one publisher ----
  // Each publisher's messages are appended, in arrival order, to its open batch; the batch
  // goes to the core when it holds coalesceMaxPackets packets or coalesceLingerMs after its
  // first message. One call then pays the state round trip and the produce turn for all of
  // them; each message still gets its own answer (from the per-packet outcomes) and its
  // PUBACK only after Kafka's ack. A message is never split, and a retriable failure retries
  // the whole batch (nothing of it was acknowledged).
  const maxPackets = Math.min(config.coalesceMaxPackets, gw.maxPacketsPerRequest);
  const open = new Map<string, Batch>();
  const enqueue = (gatewayId: string, packet: IPublishPacket, items: unknown[]) => new Promise<boolean>((resolve, reject) => {
    let b = open.get(gatewayId);
    if (b && b.packets + items.length > maxPackets) {
      flush(b);
      b = undefined;
    }
    if (!b) {
      b = { gatewayId, messages: [], packets: 0, cancel: undefined };
      open.set(gatewayId, b);
    }
    b.messages.push({ packet, items, resolve, reject });
    b.packets += items.length;
    if (b.packets >= maxPackets) flush(b);
    else if (!b.cancel) b.cancel = linger(b);
  });

  const linger = (b: Batch): (() => void) => {
    if (config.coalesceLingerMs === 0) {
      const i = setImmediate(() => flush(b));
      return () => clearImmediate(i);
    }
    const t = setTimeout(() => flush(b), config.coalesceLingerMs);
    return () => clearTimeout(t);
  };

  const flush = (b: Batch) => {
    if (open.get(b.gatewayId) === b) open.delete(b.gatewayId);
    b.cancel?.();
    ingestBatch(b).catch((err: unknown) => {
      for (const m of b.messages) m.reject(err);
    });
  };

  async function ingestBatch(b: Batch): Promise<void> {
    const { gatewayId, messages } = b;
    const items = messages.length === 1 ? messages[0]!.items : messages.flatMap((m) => m.items);
    const outcomes = new Uint8Array(items.length);
    // A redelivered message (DUP) from a replica that died between its dedup reservation and
    // Kafka is not lost: the core takes over reservations that were never committed.
    const res = await written({ gatewayId, outcomes }, items);
    if (res instanceof GatewayError) {
      for (const m of messages) m.resolve(res.retriable ? false : refuse(gatewayId, m.packet, res));
      return;
    }
    let from = 0;
    let r = 0; // res.rejected is in item order
    for (const m of messages) {
      const to = from + m.items.length;
      const own: IngestResult = { accepted: 0, duplicates: 0, rejected: [], crossings: 0, produced: 0 };
      for (let i = from; i < to; i++) {
        const o = outcomes[i];
        if (o === OUTCOME.DUPLICATE) own.duplicates++;
        else if (o !== OUTCOME.REJECTED) {
          own.accepted++;
          if (o === OUTCOME.CROSSING) own.crossings++;
        }
      }
      own.produced = own.accepted + own.crossings;
      for (; r < res.rejected.length && res.rejected[r]!.index < to; r++) own.rejected.push({ ...res.rejected[r]!, index: res.rejected[r]!.index - from });
      answer(gatewayId, m.packet, own);
      m.resolve(true);
      from = to;
    }
  }

  const answer = (gatewayId: string, packet: IPublishPacket, res: IngestResult) => {
    const allRejected = res.accepted + res.duplicates === 0;
    metrics.messages.inc({ code: allRejected ? 'ALL_REJECTED' : '' });
    if (allRejected) reply(gatewayId, { code: 'ALL_REJECTED', message: allRejectedMessage(res.rejected), ...res }, packet);
    else if (res.rejected.length > 0 || packet.properties?.correlationData !== undefined) reply(gatewayId, res, packet);
  };

  // ---- one message: true = acknowledge it, false = leave it to the broker to redeliver ----
  function handle(packet: IPublishPacket): Promise<boolean> {
    const m = TOPIC_RE.exec(packet.topic);
    if (!m) {
      // Only reachable with an anonymous broker (the ACLs allow gateway ids only).
      metrics.messages.inc({ code: 'BAD_TOPIC' });
      logger.warn({ topic: packet.topic }, 'gateway: MQTT message on a topic that names no valid gateway id, dropped');
      return Promise.resolve(true);
    }
    const gatewayId = m[1]!;
    const payload = packet.payload as Buffer;
    if (payload.length > gw.maxBodyBytes) return Promise.resolve(refuse(gatewayId, packet, new GatewayError('BODY_TOO_LARGE', [gw.maxBodyBytes])));
    let items: unknown[];
    try {
      const text = payload.toString('utf8');
      items = packet.properties?.contentType === 'application/x-ndjson' ? parseNdjsonBody(text, gw.maxPacketsPerRequest) : parseJsonBody(text, gw.maxPacketsPerRequest);
    } catch (err) {
      if (err instanceof GatewayError) return Promise.resolve(refuse(gatewayId, packet, err));
      return Promise.reject(err);
    }
    return enqueue(gatewayId, packet, items);
  }

  client.handleMessage = (packet, callback) => {
    if (packet.cmd !== 'publish') return callback();
    const delivery: Delivery = { messageId: packet.qos > 0 ? packet.messageId : undefined, connection, done: false };
    deliveries.push(delivery);
    metrics.pending.set(deliveries.length);
    track(handle(packet).then(
      (ack) => {
        if (ack) delivery.done = true;
        else abandon(delivery);
        flushAcks();
      },
      (err: unknown) => {
        logger.error({ err }, 'gateway: MQTT message handling failed (not acknowledged; the broker redelivers it on reconnection)');
        abandon(delivery);
        flushAcks();
      },
    ));
    callback(ACK_DEFERRED);
  };

  /** Give up a message without acknowledging it (closing, or a bug): it must not hold the later ones back. */
  const abandon = (d: Delivery) => {
    const i = deliveries.indexOf(d);
    if (i >= 0) deliveries.splice(i, 1);
  };

  // ---- connection ----
  const subscribe = async () => {
    const granted = await client.subscribeAsync(filter, { qos: 1 });
    const g = granted[0];
    if (!g || g.qos > 1) throw new MqttIngestError('MQTT_SUBSCRIBE_REFUSED', [filter, g?.qos ?? 'none', config.username ?? '(anonymous)']);
  };

  client.on('connect', (connack) => {
    connection++;
    if (connection > 1) {
      metrics.reconnects.inc();
      // What the old connection delivered and we did not acknowledge is redelivered on this
      // one (persistent session); its PUBACKs must not be sent here, nor hold the queue.
      for (let i = deliveries.length - 1; i >= 0; i--) if (deliveries[i]!.connection !== connection) deliveries.splice(i, 1);
      flushAcks();
      logger.info({ sessionPresent: connack.sessionPresent }, 'gateway: MQTT reconnected');
      if (!closing) subscribe().catch((err: Error) => logger.error({ err: err.message }, 'gateway: MQTT resubscription failed'));
    }
  });

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new MqttIngestError('MQTT_CONNECT_FAILED', [config.url, `no connection within ${config.connectTimeoutMs} ms`])), config.connectTimeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      client.removeListener('error', onError);
      client.end(true);
      reject(err);
    };
    const onError = (err: Error & { code?: number | string }) => {
      const why = typeof err.code === 'number' && (err.code === 134 || err.code === 135) ? ' (wrong login or not authorised)' : '';
      fail(new MqttIngestError('MQTT_CONNECT_FAILED', [config.url, `refused the connection${why}: ${err.message}`]));
    };
    client.once('error', onError);
    client.once('connect', () => {
      subscribe().then(() => {
        clearTimeout(timer);
        client.removeListener('error', onError);
        resolve();
      }, fail);
    });
  });
  client.on('error', (err) => logger.warn({ err: err.message }, 'gateway: MQTT client error'));
  client.on('offline', () => logger.warn({ url: config.url }, 'gateway: MQTT broker unreachable, reconnecting'));
  logger.info({ url: config.url, clientId: config.clientId, subscription: filter }, 'gateway: MQTT ingest subscribed');

  let closed: Promise<void> | undefined;
  return {
    pendingAcks: () => deliveries.length,
    close(timeoutMs = 10_000) {
      closed ??= (async () => {
        // Stop new deliveries, finish what is in flight and acknowledge it, then disconnect.
        await Promise.race([client.unsubscribeAsync(filter).catch(() => {}), sleep(timeoutMs)]);
        const deadline = Date.now() + timeoutMs;
        while (inflight.size > 0 && Date.now() < deadline) await Promise.race([...inflight, sleep(deadline - Date.now())]);
        closing = true;
        flushAcks();
        await client.endAsync().catch(() => {});
      })();
      return closed;
    },
  };
}
