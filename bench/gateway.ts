// Benchmark: ingest gateway end to end over loopback, against the raw producer ceiling.
//   npx tsx bench/gateway.ts [--seconds 15] [--concurrency 8] [--batch 500] [--vehicles 20000]
// Starts its own redis-server and Kafka mock cluster (src/infra), runs
//   1. ceiling: Bus.produce alone on pre-encoded EnrichedPackets (same adapter, acks = all);
//   2. end to end: a client in a SECOND process posts 500-packet JSON requests over HTTP
//      (keep-alive, N in flight) to the gateway listening on 127.0.0.1;
// prints JSON and writes bench/results/<date>-gateway.json. Both servers are stopped at the end.
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createKafkaBus, type ProduceRecord } from '../src/bus/index.ts';
import { createGateway, ensureSegmentTopics } from '../src/gateway/index.ts';
import { startKafka, startRedis, stopPid } from '../src/infra/index.ts';
import { enrichedPacketCodec } from '../src/schemas/index.ts';
import { createRedisState } from '../src/state/index.ts';
import { createSegmentLookup, loadTopology, segmentTopic } from '../src/topology/index.ts';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SECONDS = arg('seconds', 15);
const WARMUP_S = arg('warmup', 3);
const CONCURRENCY = arg('concurrency', 8);
const BATCH = arg('batch', 500);
const VEHICLES = arg('vehicles', 20_000);
const PRODUCES = arg('produces', 2);
const API_KEY = 'bench-secret-0001';

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

// ---------------------------------------------------------------- client (second process)
interface ClientReport {
  requests: number;
  packets: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  crossings: number;
  errors: Record<string, number>;
  seconds: number;
  latenciesMs: { p50: number; p90: number; p99: number; max: number };
}

async function client(port: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  // Each vehicle drives north or south across Shanghai at ~60 km/h equivalent; requests take
  // BATCH consecutive vehicles (round robin), one new packet per vehicle, seq increasing.
  const lat = new Float64Array(VEHICLES);
  const lng = new Float64Array(VEHICLES);
  const dir = new Float64Array(VEHICLES);
  const seq = new Uint32Array(VEHICLES);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let v = 0; v < VEHICLES; v++) {
    lat[v] = 30.95 + rand() * 0.5;
    lng[v] = 121.2 + rand() * 0.5;
    dir[v] = rand() < 0.5 ? 1 : -1;
  }
  let next = 0;
  const body = (): string => {
    const now = Date.now();
    const parts: string[] = [];
    for (let i = 0; i < BATCH; i++) {
      const v = next;
      next = (next + 1) % VEHICLES;
      let la = lat[v]! + dir[v]! * 0.0003;
      if (la > 31.45 || la < 30.95) {
        dir[v] = -dir[v]!;
        la = lat[v]! + dir[v]! * 0.0003;
      }
      lat[v] = la;
      seq[v]! += 1;
      parts.push(`{"vehicleId":"veh-${v}","seq":${seq[v]},"ts":${now},"lat":${la.toFixed(6)},"lng":${lng[v]!.toFixed(6)},"speedKmh":${(30 + (v % 70)).toFixed(1)},"heading":${dir[v]! > 0 ? 0 : 180}}`);
    }
    return `[${parts.join(',')}]`;
  };
  const post = (payload: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/v1/packets', method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, 'content-length': Buffer.byteLength(payload) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(payload);
    });

  const rep: ClientReport = { requests: 0, packets: 0, accepted: 0, duplicates: 0, rejected: 0, crossings: 0, errors: {}, seconds: 0, latenciesMs: { p50: 0, p90: 0, p99: 0, max: 0 } };
  const lats: number[] = [];
  const t0 = Date.now();
  const measureFrom = t0 + WARMUP_S * 1000;
  const end = measureFrom + SECONDS * 1000;
  const worker = async () => {
    while (Date.now() < end) {
      const payload = body();
      const s = performance.now();
      const res = await post(payload);
      const ms = performance.now() - s;
      if (Date.now() < measureFrom) continue;
      rep.requests++;
      lats.push(ms);
      if (res.status === 200) {
        const r = JSON.parse(res.body) as { accepted: number; duplicates: number; rejected: unknown[]; crossings: number };
        rep.packets += BATCH;
        rep.accepted += r.accepted;
        rep.duplicates += r.duplicates;
        rep.rejected += r.rejected.length;
        rep.crossings += r.crossings;
      } else {
        const code = `${res.status} ${(JSON.parse(res.body) as { code?: string }).code ?? ''}`;
        rep.errors[code] = (rep.errors[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  rep.seconds = (Date.now() - measureFrom) / 1000;
  rep.latenciesMs = { p50: round(pct(lats, 50)), p90: round(pct(lats, 90)), p99: round(pct(lats, 99)), max: round(pct(lats, 100)) };
  agent.destroy();
  process.send!(rep);
}

// ---------------------------------------------------------------- main
async function ceiling(bus: ReturnType<typeof createKafkaBus>, topics: string[], lookup: ReturnType<typeof createSegmentLookup>) {
  const codec = enrichedPacketCodec();
  const N = 200_000;
  const records: ProduceRecord[] = [];
  const now = Date.now();
  for (let i = 0; i < N; i++) {
    const v = i % VEHICLES;
    const lat = 30.95 + ((i * 7919) % 5000) / 10_000;
    const lng = 121.2 + ((i * 104729) % 5000) / 10_000;
    const r = lookup.route(lat, lng);
    const vehicleId = `ceil-${v}`;
    records.push({
      topic: segmentTopic(r.segment!),
      key: vehicleId,
      value: codec.encode({ vehicleId, seq: i, ts: now, lat, lng, speedKmh: 50, heading: 90, extra: {}, cell: r.cell, segment: r.segment!, ownerSegment: r.segment!, crossing: false, prevSegment: r.segment!, ingestTs: now, gatewayId: 'bench' }),
    });
  }
  void topics;
  const runs: { batch: number; concurrency: number; msgsPerSec: number }[] = [];
  for (const [batch, conc] of [[5_000, 1], [5_000, 2], [20_000, 1]] as const) {
    // warm-up pass on a slice, then the measured pass over all records
    await bus.produce(records.slice(0, batch));
    const t = performance.now();
    let i = 0;
    const lane = async () => {
      while (i < N) {
        const start = i;
        i += batch;
        await bus.produce(records.slice(start, Math.min(N, start + batch)));
      }
    };
    await Promise.all(Array.from({ length: conc }, lane));
    const s = (performance.now() - t) / 1000;
    runs.push({ batch, concurrency: conc, msgsPerSec: Math.round(N / s) });
  }
  return runs;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'iov-bench-gw-'));
  const redis = await startRedis(join(dir, 'redis'));
  const kafka = await startKafka(join(dir, 'kafka'));
  const out: Record<string, unknown> = {};
  try {
    const topo = loadTopology(fileURLToPath(new URL('../infra/topology/shanghai.yaml', import.meta.url)));
    const lookup = createSegmentLookup(topo);
    const bus = createKafkaBus({ brokers: kafka.brokers, clientId: 'bench-gateway' });
    const state = createRedisState({ url: redis.url });
    await ensureSegmentTopics(bus, topo);
    const topics = topo.segments.map((s) => segmentTopic(s.id));

    const ceilingRuns = await ceiling(bus, topics, lookup);
    const best = Math.max(...ceilingRuns.map((r) => r.msgsPerSec));

    const gw = createGateway({
      topology: topo, bus, state, logger: pino({ level: 'warn' }),
      config: { apiKeys: { bench: API_KEY }, rateLimit: null, dedupHorizonMs: 120_000, stateTtlMs: 600_000, maxConcurrentProduces: PRODUCES },
    });
    await gw.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (gw.app.server.address() as { port: number }).port;
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    const child = fork(fileURLToPath(import.meta.url), ['--client', String(port), ...process.argv.slice(2)], { execArgv: ['--import', 'tsx'] });
    const rep = await new Promise<ClientReport>((resolve, reject) => {
      child.once('message', (m) => resolve(m as ClientReport));
      child.once('exit', (code) => reject(new Error(`client exited with ${code}`)));
    });
    child.kill();
    const cpu = process.cpuUsage(cpu0);
    const wall = (performance.now() - w0) / 1000;
    const metricsText = await gw.metrics.metrics();
    const mean = (name: string) => {
      const sum = Number(new RegExp(`${name}_sum\\{result="ok"\\} (\\S+)`).exec(metricsText)?.[1] ?? NaN);
      const cnt = Number(new RegExp(`${name}_count\\{result="ok"\\} (\\S+)`).exec(metricsText)?.[1] ?? NaN);
      return round((sum / cnt) * 1000, 2);
    };
    const meanStateMs = mean('iov_gateway_state_seconds');
    const meanProduceMs = mean('iov_gateway_kafka_produce_seconds');
    const batchSum = Number(/iov_gateway_kafka_batch_records_sum (\S+)/.exec(metricsText)?.[1] ?? NaN);
    const batchCount = Number(/iov_gateway_kafka_batch_records_count (\S+)/.exec(metricsText)?.[1] ?? NaN);
    await gw.close();
    await bus.close();
    await state.close();

    const pps = rep.accepted / rep.seconds;
    const messagesPerSec = (rep.accepted + rep.crossings) / rep.seconds;
    Object.assign(out, {
      bench: 'gateway',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}`, loadavg: os.loadavg().map((x) => round(x, 2)) },
      params: { seconds: SECONDS, warmupSeconds: WARMUP_S, concurrency: CONCURRENCY, packetsPerRequest: BATCH, vehicles: VEHICLES, maxConcurrentProduces: PRODUCES, kafka: 'librdkafka mock cluster (3 brokers, kcat)', redis: 'redis-server (loopback)' },
      ceiling: { what: 'Bus.produce alone (kafkajs, acks=all) on pre-encoded EnrichedPackets, 200k messages per run', runs: ceilingRuns, bestMsgsPerSec: best },
      endToEnd: {
        acceptedPacketsPerSec: Math.round(pps),
        kafkaMessagesPerSec: Math.round(messagesPerSec),
        requestsPerSec: round(rep.requests / rep.seconds),
        latencyMs: rep.latenciesMs,
        ...rep,
        latenciesMs: undefined,
        gatewayCpuCores: round((cpu.user + cpu.system) / 1e6 / wall, 2),
        meanRecordsPerProduceCall: round(batchSum / batchCount),
        meanStateRoundTripMs: meanStateMs,
        meanProduceCallMs: meanProduceMs,
      },
      ratio: { acceptedVsCeiling: round(pps / best, 3), messagesVsCeiling: round(messagesPerSec / best, 3) },
      target: { packetsPerSec: 100_000, ceilingRatio: 0.6, met: pps >= 100_000 || pps / best >= 0.6 },
    });
  } finally {
    await stopPid(kafka.pid);
    await stopPid(redis.pid);
    rmSync(dir, { recursive: true, force: true });
  }
  const text = JSON.stringify(out, null, 2);
  process.stdout.write(`${text}\n`);
  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${new Date().toISOString().slice(0, 10)}-gateway.json`), `${text}\n`);
  process.exit(0);
}

const ci = process.argv.indexOf('--client');
if (ci > 0) void client(Number(process.argv[ci + 1]));
else
  main().catch((err) => {
    process.stderr.write(`bench/gateway: ${(err as Error).stack}\n`);
    process.exit(1);
  });
