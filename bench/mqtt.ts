// Benchmark: MQTT vs HTTP ingest, packets/s through one gateway on this box, in one run.
//   flock /work/bench.lock nice npx tsx bench/mqtt.ts [--reps 3] [--seconds 8] [--warmup 3] [--modes http,mqtt500,mqtt1,mqtt1solo]
// Starts its own redis-server, Kafka mock cluster and mosquitto (src/infra), one gateway in
// this process taking both HTTP (POST /v1/packets) and MQTT (shared subscription, PUBACK after
// Kafka), and for each rep runs three points back to back, each with a fresh client process
// (so the client's CPU is not the gateway's):
//   http      500-packet JSON requests, 48 in flight (keep-alive)           — the baseline
//   mqtt500   500-packet messages, QoS 1, 48 in flight awaiting the reply
//   mqtt1     1-packet messages, QoS 1, 256 in flight awaiting the reply (coalesced by the gateway)
//   mqtt1solo the same through a second subscription that does not coalesce (one ingest call
//             per message, as before coalescing): the in-run baseline of mqtt1
// MQTT clients send MQTT 5 correlation data, so the gateway replies to every message: the
// closed loop of HTTP (a request waits for its answer), with the same bound on work in flight.
// A point's figure is the packets the client saw acknowledged in its measured window (after
// the warm-up) per second. Every point gets fresh vehicle ids (no duplicates). Bodies are
// rendered before the client's clock starts. Reports every rep, medians and the ratios
// mqtt/http (median of per-rep ratios), and the CPU µs per accepted packet of the gateway
// (this process), mosquitto and Redis per point (less load-dependent than the rates). Prints
// JSON; writes bench/results/<date>-mqtt.json.
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createKafkaBus } from '../src/bus/index.ts';
import { createGateway, mqttPacketsTopic, mqttRepliesTopic, resolveMqttConfig, startMqttIngest } from '../src/gateway/index.ts';
import { startKafka, startMosquitto, startRedis, stopPid } from '../src/infra/index.ts';
import { createRedisState } from '../src/state/index.ts';
import { loadTopology, segmentTopicSpecs } from '../src/topology/index.ts';
import { procCpuSeconds } from './run.ts';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const REPS = Number(arg('reps', '3'));
const SECONDS = Number(arg('seconds', '8'));
const WARMUP_S = Number(arg('warmup', '3'));
const WRITE = arg('write', '1') !== '0';
/** Points to run (comma list; the ratios need http). */
const MODES = arg('modes', 'http,mqtt500,mqtt1,mqtt1solo').split(',') as Mode[];
const KEY = { id: 'bench-gw', secret: 'bench-secret-1' };
/** The publisher of mqtt1solo: its topic is taken by a second subscription without coalescing (the in-run baseline). */
const KEY_SOLO = { id: 'bench-gw-solo', secret: 'bench-secret-2' };
const SERVICE = { username: 'iov-ingest', password: 'bench-service-1' };

type Mode = 'http' | 'mqtt500' | 'mqtt1' | 'mqtt1solo';
const POINTS: Record<Mode, { batch: number; inFlight: number }> = {
  http: { batch: 500, inFlight: 48 },
  mqtt500: { batch: 500, inFlight: 48 },
  mqtt1: { batch: 1, inFlight: 256 },
  mqtt1solo: { batch: 1, inFlight: 256 },
};

interface ClientResult {
  mode: Mode;
  packets: number;
  seconds: number;
  packetsPerS: number;
  failures: number;
  /** CPU µs per accepted packet over the point (warm-up included), from the gateway's counter: rates depend on the box's load, these much less. */
  cpuUsPerPacket?: { gateway: number; mosquitto: number; redis: number };
  /** Mean packets per call of the ingest core (the MQTT path's coalescing). */
  packetsPerIngestCall?: number;
}

// ---------------- client (a child process) ----------------

/** Bodies for ~ (warm-up + seconds) at `pps`, fresh vehicles per point (tag). */
function render(tag: string, batch: number, count: number): string[] {
  const t0 = Date.now() - 3_600_000;
  const vehicles = 20_000;
  const bodies: string[] = [];
  let k = 0;
  for (let b = 0; b < Math.ceil(count / batch); b++) {
    const ps = [];
    for (let j = 0; j < batch; j++, k++) {
      const v = k % vehicles;
      const seq = Math.floor(k / vehicles) + 1;
      // Spread over the Shanghai segments (30.9–31.5 N, 121.1–121.8 E).
      ps.push({ vehicleId: `${tag}-${v}`, seq, ts: t0 + seq * 1000, lat: 30.95 + ((v * 7919) % 5000) / 10_000, lng: 121.15 + ((v * 104729) % 6000) / 10_000, speedKmh: 20 + (v % 80) });
    }
    bodies.push(batch === 1 ? JSON.stringify(ps[0]) : JSON.stringify(ps));
  }
  return bodies;
}

async function client(mode: Mode, target: string, tag: string, expectPps: number): Promise<void> {
  const { batch, inFlight } = POINTS[mode];
  const bodies = render(tag, batch, Math.ceil(expectPps * (WARMUP_S + SECONDS) * 1.5));
  let next = 0;
  const tStart = performance.now();
  const from = tStart + WARMUP_S * 1000;
  const to = from + SECONDS * 1000;
  let packets = 0;
  let failures = 0;
  const count = (n: number) => {
    const t = performance.now();
    if (t >= from && t < to) packets += n;
  };
  let send: (body: string, n: number) => Promise<number>;
  let close = async () => {};
  if (mode === 'http') {
    const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
    const url = new URL('/v1/packets', target);
    send = (body) => new Promise((resolve) => {
      const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY.secret}` } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(res.statusCode === 200 ? (JSON.parse(text) as { accepted: number }).accepted : -1));
      });
      req.on('error', () => resolve(-1));
      req.end(body);
    });
    close = async () => agent.destroy();
  } else {
    const key = mode === 'mqtt1solo' ? KEY_SOLO : KEY;
    const c = await mqtt.connectAsync(target, { protocolVersion: 5, username: key.id, password: key.secret, clientId: `bench-${tag}` });
    const waiting = new Map<string, (n: number) => void>();
    c.on('message', (_t, payload, packet) => {
      const id = packet.properties?.correlationData?.toString();
      const r = JSON.parse(payload.toString()) as { accepted?: number };
      if (id) waiting.get(id)?.(r.accepted ?? -1);
    });
    await c.subscribeAsync(mqttRepliesTopic(key.id), { qos: 1 });
    let n = 0;
    send = (body) => new Promise((resolve) => {
      const id = String(n++);
      waiting.set(id, (accepted) => {
        waiting.delete(id);
        resolve(accepted);
      });
      c.publish(mqttPacketsTopic(key.id), body, { qos: 1, properties: { correlationData: Buffer.from(id) } });
    });
    close = async () => void (await c.endAsync(true));
  }
  const worker = async () => {
    while (performance.now() < to && next < bodies.length) {
      const accepted = await send(bodies[next++]!, batch);
      if (accepted < 0) failures++;
      else count(accepted);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  await close();
  const out: ClientResult = { mode, packets, seconds: SECONDS, packetsPerS: Math.round(packets / SECONDS), failures };
  process.send!(out);
}

// ---------------- runner ----------------

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function runClient(mode: Mode, target: string, tag: string, expectPps: number): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--client', mode, '--target', target, '--tag', tag, '--expect', String(expectPps), '--seconds', String(SECONDS), '--warmup', String(WARMUP_S)], {
      execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: ClientResult | undefined;
    child.on('message', (m: ClientResult) => (result = m));
    child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`client ${mode} exited ${code} without a result`))));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'iov-bench-mqtt-'));
  const redis = await startRedis(join(dir, 'redis'));
  const kafka = await startKafka(join(dir, 'kafka'));
  const broker = await startMosquitto(join(dir, 'mosquitto'), { users: { [KEY.id]: KEY.secret, [KEY_SOLO.id]: KEY_SOLO.secret }, service: SERVICE });
  const topo = loadTopology(fileURLToPath(new URL('../infra/topology/shanghai.yaml', import.meta.url)));
  const bus = createKafkaBus({ brokers: kafka.brokers, clientId: 'bench-mqtt' });
  const state = createRedisState({ url: redis.url });
  const logger = pino({ level: 'warn' });
  try {
    await bus.ensureTopics(segmentTopicSpecs(topo));
    const gw = createGateway({ topology: topo, bus, state, logger, config: { apiKeys: { [KEY.id]: KEY.secret, [KEY_SOLO.id]: KEY_SOLO.secret }, rateLimit: null } });
    const address = await gw.app.listen({ port: 0, host: '127.0.0.1' });
    const deps = { ingest: gw.ingest, config: gw.config, metrics: gw.metrics, logger };
    const ingest = await startMqttIngest(deps, resolveMqttConfig({ url: broker.url, clientId: 'bench-gw-1', gatewayId: KEY.id, ...SERVICE }));
    // A second subscription of the same gateway, for KEY_SOLO's topic only, one message per ingest call.
    const solo = MODES.includes('mqtt1solo')
      ? await startMqttIngest({ ...deps, metrics: new Registry() }, resolveMqttConfig({ url: broker.url, clientId: 'bench-gw-solo', group: 'solo', gatewayId: KEY_SOLO.id, coalesceMaxPackets: 1, ...SERVICE }))
      : undefined;
    const reps: Record<Mode, ClientResult>[] = [];
    for (let rep = 1; rep <= REPS; rep++) {
      const r = {} as Record<Mode, ClientResult>;
      for (const mode of MODES) {
        const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(await gw.metrics.metrics())?.[1] ?? NaN);
        const accepted = () => metric('iov_gateway_packets_accepted_total');
        const calls = async () => [await metric('iov_gateway_request_packets_sum'), await metric('iov_gateway_request_packets_count')];
        const [n0, k0, c0, m0, r0] = [await accepted(), await calls(), process.cpuUsage(), procCpuSeconds(broker.pid), procCpuSeconds(redis.pid)];
        r[mode] = await runClient(mode, mode === 'http' ? address : broker.url, `r${rep}${mode}`, mode.startsWith('mqtt1') ? 15_000 : 60_000);
        const n = Math.max(1, (await accepted()) - n0);
        const c = process.cpuUsage(c0);
        const us = (s: number) => Math.round((s * 1e6 * 10) / n) / 10;
        r[mode].cpuUsPerPacket = { gateway: us((c.user + c.system) / 1e6), mosquitto: us(procCpuSeconds(broker.pid) - m0), redis: us(procCpuSeconds(redis.pid) - r0) };
        const k1 = await calls();
        r[mode].packetsPerIngestCall = Math.round(((k1[0]! - k0[0]!) / Math.max(1, k1[1]! - k0[1]!)) * 10) / 10;
        process.stderr.write(`[bench mqtt] rep ${rep} ${mode}: ${r[mode].packetsPerS} packets/s (${r[mode].failures} failures), CPU µs/packet ${JSON.stringify(r[mode].cpuUsPerPacket)}, packets per ingest call ${r[mode].packetsPerIngestCall}\n`);
      }
      reps.push(r);
    }
    await ingest.close();
    await solo?.close();
    await gw.close();
    const modes = MODES;
    const medians = Object.fromEntries(modes.map((m) => [m, median(reps.map((r) => r[m].packetsPerS))]));
    const ratio = (m: Mode) => Math.round(median(reps.map((r) => r[m].packetsPerS / Math.max(1, r.http.packetsPerS))) * 1000) / 1000;
    const out = {
      bench: 'mqtt', date: new Date().toISOString(), reps: REPS, seconds: SECONDS, warmupS: WARMUP_S, points: POINTS,
      packetsPerS: { median: medians, perRep: reps.map((r) => Object.fromEntries(modes.map((m) => [m, r[m].packetsPerS]))) },
      failures: reps.reduce((a, r) => a + modes.reduce((b, m) => b + r[m].failures, 0), 0),
      ratioToHttp: MODES.includes('http') ? Object.fromEntries(modes.filter((m) => m !== 'http').map((m) => [m, ratio(m)])) : {},
      cpuUsPerPacket: { median: Object.fromEntries(modes.map((m) => [m, Object.fromEntries((['gateway', 'mosquitto', 'redis'] as const).map((k) => [k, median(reps.map((r) => r[m].cpuUsPerPacket![k]))]))])) },
      loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    };
    const text = JSON.stringify(out, null, 2);
    if (WRITE) {
      const results = fileURLToPath(new URL('./results/', import.meta.url));
      mkdirSync(results, { recursive: true });
      writeFileSync(join(results, `${new Date().toISOString().slice(0, 10)}-mqtt.json`), `${text}\n`);
    }
    process.stdout.write(`${text}\n`);
  } finally {
    await bus.close();
    await state.close();
    await stopPid(broker.pid);
    await stopPid(kafka.pid);
    await stopPid(redis.pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--client')) {
  await client(arg('client', 'http') as Mode, arg('target', ''), arg('tag', 't'), Number(arg('expect', '50000')));
} else {
  await main();
}
