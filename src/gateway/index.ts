// The ingest gateway's public surface (DESIGN.md §3). `createGateway` wires the ingest core
// (also callable directly, without HTTP, by the embedded demo) and the Fastify app.
// The bus and the state are owned by the caller: close() stops the gateway (HTTP server,
// waits for produces in flight) but does not close them.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus, KafkaBusOptions } from '../bus/index.ts';
import type { VehicleState } from '../state/index.ts';
import { segmentTopic, type Topology } from '../topology/index.ts';
import { resolveConfig, type GatewayConfig } from './config.ts';
import { buildApp } from './http.ts';
import { createIngest, type IngestContext, type IngestResult } from './ingest.ts';
import { createGatewayLogger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { createThreadedProducer } from './producer.ts';
import { createTicker, type TickerSettings } from './ticker.ts';

export {
  DEFAULT_CONFIG, GatewayConfigError, gatewayConfigFromEnv, parseApiKeys, resolveConfig,
  type GatewayConfig, type RateLimitConfig,
} from './config.ts';
export {
  GatewayError, PACKET_ERRORS, REQUEST_ERRORS,
  type PacketErrorCode, type PacketRejection, type RequestErrorCode,
} from './errors.ts';
export type { IngestContext, IngestResult } from './ingest.ts';
export { createTicker, resolveTicker, tickKey, DEFAULT_TICKER, type Ticker, type TickerOptions, type TickerSettings } from './ticker.ts';
export { createGatewayLogger, prettyLine, type GatewayLoggerOptions } from './log.ts';

export interface GatewayOptions {
  topology: Topology;
  bus: Bus;
  state: VehicleState;
  config?: Partial<GatewayConfig>;
  logger?: Logger;
  /** Gateway clock (epoch ms), for ingestTs and the ts bounds; injectable for tests. */
  now?: () => number;
  /**
   * Produce from a worker thread with its own Kafka connection (these options), instead of
   * `bus.produce` on the main thread: kafkajs' encoding then runs in parallel with the rest
   * of the ingest path (docs/gateway.md, "Threaded producer"). `bus` is still used for
   * readiness probes. Off by default.
   */
  produceWorker?: KafkaBusOptions;
  /** Schema Registry id of the EnrichedPacket schema (registerPacketSchemas); default the fixed id of schemas/ids.json. */
  schemaId?: number;
  /** Also export prom-client's process metrics (default false: several gateways may share a process). */
  defaultMetrics?: boolean;
  /**
   * Write watermark ticks into quiet partitions of every segment topic (docs/gateway.md,
   * "Watermark ticks"); the composition roots pass it (`iov gateway`, the demo). Absent or
   * intervalMs 0: no ticks.
   */
  ticker?: TickerSettings;
}

export interface Gateway {
  app: FastifyInstance;
  ingest(items: unknown[], ctx?: IngestContext): Promise<IngestResult>;
  metrics: Registry;
  config: GatewayConfig;
  /** Whether API keys are required (false when none are configured). */
  authEnabled: boolean;
  close(): Promise<void>;
}

export function createGateway(opts: GatewayOptions): Gateway {
  const config = resolveConfig(opts.config);
  if (opts.topology.segments.length === 0) throw new Error('createGateway: the topology has no segments');
  const logger = opts.logger ?? createGatewayLogger();
  const now = opts.now ?? Date.now;
  const metrics = createMetrics({ defaultMetrics: opts.defaultMetrics });
  const authEnabled = Object.keys(config.apiKeys).length > 0;
  if (!authEnabled) {
    logger.warn(
      `gateway: NO API KEYS CONFIGURED - authentication is DISABLED and every packet is stamped gatewayId "${config.defaultGatewayId}". ` +
        'Fine for embedded/loopback use only; set IOV_API_KEYS="<gatewayId>:<secret>,..." for anything else.',
    );
  }
  const producer = opts.produceWorker ? createThreadedProducer(opts.produceWorker) : undefined;
  const ticker = opts.ticker?.intervalMs
    ? createTicker({ ...opts.ticker, bus: opts.bus, topics: opts.topology.segments.map((s) => segmentTopic(s.id)), gatewayId: `${config.defaultGatewayId}.${process.pid}`, now, logger })
    : undefined;
  const core = createIngest({
    topology: opts.topology, bus: opts.bus, producer: ticker ? ticker.wrap(producer ?? opts.bus) : producer, state: opts.state, config, metrics, logger, now, schemaId: opts.schemaId,
  });
  ticker?.start();
  const app = buildApp({ topology: opts.topology, bus: opts.bus, state: opts.state, config, metrics, logger, core, now });
  let closed: Promise<void> | undefined;
  return {
    app,
    ingest: core.ingest,
    metrics: metrics.registry,
    config,
    authEnabled,
    close() {
      closed ??= (async () => {
        await app.close();
        await core.drain();
        await ticker?.stop();
        await producer?.close();
      })();
      return closed;
    },
  };
}

export {
  startMqttIngest, resolveMqttConfig, DEFAULT_MQTT_CONFIG, MqttIngestError, MQTT_ERRORS, mqttPacketsTopic, mqttRepliesTopic,
  type MqttIngest, type MqttIngestConfig, type MqttIngestDeps, type MqttReply,
} from './mqtt.ts';
