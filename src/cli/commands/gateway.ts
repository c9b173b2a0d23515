import type { Command } from 'commander';
import { badOption, listenOptions, portOption, stateDirOption, topologyOption } from '../options.ts';
import { onStopSignal } from '../signals.ts';

interface GatewayCliOptions {
  topology?: string;
  port: string;
  host: string;
  stateDir?: string;
  insecure?: boolean;
  producerThread?: boolean;
  mqtt?: string | boolean;
  mqttClientId?: string;
  mqttGroup?: string;
  tickInterval?: string;
  idleTimeout?: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

// `iov gateway`: the ingest gateway over HTTP, assembled by the composition root
// (src/runtime): Kafka and Redis come from the topology, or from the state folder's
// infra.json (`iov infra up`) when the topology names none. API keys and limits come from the
// environment (IOV_API_KEYS, see docs/gateway.md).
export function register(program: Command): void {
  listenOptions(stateDirOption(topologyOption(program
    .command('gateway')
    .description('HTTP ingest gateway: POST /v1/packets -> H3 segment routing -> Kafka (dual-write on boundary crossing)'))), 8080)
    .option('--insecure', 'allow listening on a non-loopback address without API keys')
    .option('--producer-thread', 'run the Kafka producer in its own worker thread (faster with a spare core; see docs/gateway.md)')
    .option('--mqtt [url]', 'also take packets over MQTT from this broker (default: the local one of `iov infra up`; login from IOV_MQTT_USERNAME/IOV_MQTT_PASSWORD or the local state; docs/mqtt.md)')
    .option('--mqtt-client-id <id>', 'MQTT client id of this replica, stable across its restarts (env IOV_MQTT_CLIENT_ID, default iov-gw-<hostname>)')
    .option('--mqtt-group <name>', 'shared subscription group of the gateway replicas', 'iov-ingest')
    .option('--tick-interval <ms>', 'watermark ticks into quiet segment partitions every <ms>, 0 = none (env IOV_GATEWAY_TICK_INTERVAL_MS, default 1000; docs/gateway.md)')
    .option('--idle-timeout <ms>', 'a tick carries the gateway clock minus this (env IOV_GATEWAY_IDLE_TIMEOUT_MS, default 5000)')
    .action(async (opts: GatewayCliOptions) => {
      const port = portOption('--port', opts.port);
      const { openRuntime } = await import('../../runtime/index.ts');
      const { kafkaEndpoint, redisEndpoint } = await import('../../topology/index.ts');
      const { createGatewayLogger, gatewayConfigFromEnv, resolveTicker } = await import('../../gateway/index.ts');
      let ticker: import('../../gateway/index.ts').TickerSettings;
      try {
        ticker = resolveTicker(opts);
      } catch (err) {
        throw badOption((err as Error).message);
      }

      // Fail fast towards Kafka: a client waits for the 503 at most ~2 request timeouts.
      const rt = await openRuntime({ topology: opts.topology, stateDir: opts.stateDir, clientId: 'iov-gateway', kafka: { requestTimeoutMs: 5_000, retries: 1 } });
      const topo = rt.topology;
      const local = rt.local;
      const kafka = kafkaEndpoint(topo, local);
      const redis = redisEndpoint(topo, local);
      const config = gatewayConfigFromEnv();
      const noKeys = !config.apiKeys || Object.keys(config.apiKeys).length === 0;
      if (noKeys && !LOOPBACK.has(opts.host) && !opts.insecure) {
        throw Object.assign(new Error(`refusing to listen on ${opts.host} without API keys: set IOV_API_KEYS="<gatewayId>:<secret>,..." (or pass --insecure)`), { code: 'NO_API_KEYS' });
      }
      // One log format: JSON lines, or readable lines on a terminal; banners included.
      const logger = createGatewayLogger();
      // With a Schema Registry: BACKWARD check + registration at start-up, its id in every message.
      let schemaId: number | undefined;
      if (kafka.schemaRegistry) {
        const { connectSchemaRegistry, registerPacketSchemas } = await import('../../schemas/index.ts');
        schemaId = (await registerPacketSchemas(connectSchemaRegistry(kafka.schemaRegistry))).enrichedPacket;
        logger.info({ registry: kafka.schemaRegistry, schemaId }, 'gateway: packet schemas registered');
      }
      let gw: import('../../gateway/index.ts').Gateway | undefined;
      let mqttIngest: import('../../gateway/index.ts').MqttIngest | undefined;
      // A start-up failure (port in use, Kafka unreachable, …) exits non-zero at once: the
      // error goes up to be printed, what was opened is closed in the background, and a
      // timer ends the process if a client library still holds it open (#17).
      const abandon = (err: unknown): never => {
        setTimeout(() => process.exit(1), 2_000).unref();
        void Promise.allSettled([mqttIngest?.close(), gw?.close(), rt.close()]);
        throw err;
      };
      let address: string;
      try {
        await rt.ensureTopics();
        gw = await rt.gateway({ config, logger, defaultMetrics: true, schemaId, ticker, ...(opts.producerThread ? { produceWorker: rt.kafkaOptions() } : {}) });
        address = await gw.app.listen({ port, host: opts.host });
      } catch (err) {
        return abandon(err);
      }
      const running = gw;
      // Signal handlers before the first banner (src/cli/signals.ts).
      onStopSignal(async (signal) => {
        logger.info({ signal }, 'gateway stopping: draining requests in flight');
        try {
          await mqttIngest?.close();
          await running.close();
          await rt.close();
        } catch (err) {
          logger.error({ err }, 'gateway: error while stopping');
          process.exit(1);
        }
        process.exit(0);
      });
      logger.info({ address, kafka: kafka.brokers, redis: redis.url, segments: topo.segments.map((s) => s.id), auth: gw.authEnabled },
        `gateway listening on ${address} (POST /v1/packets, /healthz, /readyz, /metrics)`);
      if (opts.mqtt) {
        const { startMqttIngest, resolveMqttConfig } = await import('../../gateway/index.ts');
        const url = typeof opts.mqtt === 'string' ? opts.mqtt : local?.mqtt?.url;
        if (!url) return abandon(Object.assign(new Error('--mqtt: no broker URL given and no local broker recorded (try `iov infra up`)'), { code: 'BAD_OPTION' }));
        const env = process.env;
        const login = env.IOV_MQTT_USERNAME ? { username: env.IOV_MQTT_USERNAME, password: env.IOV_MQTT_PASSWORD ?? '' } : local?.mqtt?.url === url ? local.mqtt.service : undefined;
        const { hostname } = await import('node:os');
        const clientId = opts.mqttClientId ?? env.IOV_MQTT_CLIENT_ID ?? `iov-gw-${hostname().replace(/[^A-Za-z0-9_.:-]/g, '-')}`;
        const config = resolveMqttConfig({ url, clientId, group: opts.mqttGroup ?? 'iov-ingest', ...(login ?? {}) });
        try {
          mqttIngest = await startMqttIngest({ ingest: running.ingest, config: running.config, metrics: running.metrics, logger }, config);
        } catch (err) {
          return abandon(err);
        }
        logger.info({ mqtt: url, clientId }, `gateway subscribed to ${url} as ${clientId} ($share/${config.group}/iov/v1/+/packets)`);
      }

    });
}
