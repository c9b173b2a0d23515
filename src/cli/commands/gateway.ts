import type { Command } from 'commander';

const DEFAULT_TOPOLOGY = 'infra/topology/shanghai.yaml';

interface GatewayCliOptions {
  topology: string;
  port: string;
  host: string;
  stateDir?: string;
  insecure?: boolean;
  producerThread?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

// `iov gateway`: the ingest gateway over HTTP. Kafka and Redis come from the topology, or
// from the local infrastructure's state file (`iov infra up`) when the topology names none.
// API keys and limits come from the environment (IOV_API_KEYS, see docs/gateway.md).
export function register(program: Command): void {
  program
    .command('gateway')
    .description('HTTP ingest gateway: POST /v1/packets -> H3 segment routing -> Kafka (dual-write on boundary crossing)')
    .option('-t, --topology <file>', 'topology file', DEFAULT_TOPOLOGY)
    .option('-p, --port <n>', 'port to listen on', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--state-dir <dir>', 'local infrastructure folder (env IOV_STATE_DIR, default .iov)')
    .option('--insecure', 'allow listening on a non-loopback address without API keys')
    .option('--producer-thread', 'run the Kafka producer in its own worker thread (faster with a spare core; see docs/gateway.md)')
    .action(async (opts: GatewayCliOptions) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw Object.assign(new Error(`--port must be an integer from 0 to 65535, got ${opts.port}`), { code: 'BAD_OPTION' });
      const { loadTopology, readLocalState, stateFile, kafkaEndpoint, redisEndpoint } = await import('../../topology/index.ts');
      const { createKafkaBus } = await import('../../bus/index.ts');
      const { createRedisState } = await import('../../state/index.ts');
      const { createGateway, ensureSegmentTopics, gatewayConfigFromEnv } = await import('../../gateway/index.ts');
      const { pino } = await import('pino');

      const topo = loadTopology(opts.topology);
      const local = readLocalState(stateFile(opts.stateDir));
      const kafka = kafkaEndpoint(topo, local);
      const redis = redisEndpoint(topo, local);
      const config = gatewayConfigFromEnv();
      const noKeys = !config.apiKeys || Object.keys(config.apiKeys).length === 0;
      if (noKeys && !LOOPBACK.has(opts.host) && !opts.insecure) {
        throw Object.assign(new Error(`refusing to listen on ${opts.host} without API keys: set IOV_API_KEYS="<gatewayId>:<secret>,..." (or pass --insecure)`), { code: 'NO_API_KEYS' });
      }
      const logger = pino({ level: process.env.IOV_LOG_LEVEL ?? 'info', name: 'iov-gateway' });
      // Fail fast towards Kafka: a client waits for the 503 at most ~2 request timeouts.
      const busOptions = { brokers: kafka.brokers, clientId: 'iov-gateway', requestTimeoutMs: 5_000, retries: 1 };
      const bus = createKafkaBus(busOptions);
      const state = createRedisState({ url: redis.url });
      await ensureSegmentTopics(bus, topo);
      const gw = createGateway({ topology: topo, bus, state, config, logger, defaultMetrics: true, ...(opts.producerThread ? { produceWorker: busOptions } : {}) });
      const address = await gw.app.listen({ port, host: opts.host });
      logger.info({ address, kafka: kafka.brokers, redis: redis.url, segments: topo.segments.map((s) => s.id), auth: gw.authEnabled }, 'gateway listening');
      process.stdout.write(`gateway listening on ${address} (POST /v1/packets, /healthz, /readyz, /metrics)\n`);

      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'gateway stopping: draining requests in flight');
        await gw.close();
        await bus.close();
        await state.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}
