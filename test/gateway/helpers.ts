// Helpers for the gateway tests: a topology with private segment ids (so concurrent tests
// never share topics), a deterministic fleet that crosses the Shanghai segment boundaries
// (~31.1 N and ~31.3 N), an independent topic reader (plain kafkajs consumer), and the
// oracle that says where each packet must land.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { enrichedPacketCodec, isTick, type EnrichedPacket } from '../../src/schemas/index.ts';
import { createSegmentLookup, loadTopology, segmentTopic, type LocalInfraState, type Topology } from '../../src/topology/index.ts';
import { randomName } from '../helpers/index.ts';

export const SHANGHAI = new URL('../../infra/topology/shanghai.yaml', import.meta.url).pathname;

/** The Shanghai topology with segment ids made unique to this test (north_ab12cd34, ...). */
export function privateTopology(): Topology {
  const topo = loadTopology(SHANGHAI);
  const suffix = randomName('').slice(1).toLowerCase();
  return { ...topo, segments: topo.segments.map((s) => ({ ...s, id: `${s.id}-${suffix}` })) };
}

export function topics(topo: Topology): string[] {
  return topo.segments.map((s) => segmentTopic(s.id));
}

export interface TestPacket {
  vehicleId: string;
  seq: number;
  ts: number;
  lat: number;
  lng: number;
  speedKmh: number;
  heading: number;
  extra?: Record<string, string>;
}

import { rng } from '../helpers/index.ts';

export { rng };

/**
 * `vehicles` vehicles, `steps` packets each, one per second from `t0`. Half drive north from
 * ~31.02 N to ~31.42 N, half south: every vehicle crosses both boundaries. Packets are
 * returned in time order, vehicles interleaved, as a telematics gateway would send them.
 */
export function fleet(opts: { vehicles: number; steps: number; t0: number; seed?: number; prefix?: string }): TestPacket[] {
  const rand = rng(opts.seed ?? 1);
  const tracks: TestPacket[][] = [];
  for (let v = 0; v < opts.vehicles; v++) {
    const north = v % 2 === 0;
    const lng = 121.25 + rand() * 0.45;
    const lat0 = north ? 31.02 : 31.42;
    const dLat = ((north ? 1 : -1) * 0.4) / Math.max(1, opts.steps - 1);
    const track: TestPacket[] = [];
    for (let k = 0; k < opts.steps; k++) {
      track.push({
        vehicleId: `${opts.prefix ?? 'veh'}-${v}`,
        seq: k + 1,
        ts: opts.t0 + k * 1000,
        lat: Number((lat0 + dLat * k + (rand() - 0.5) * 0.002).toFixed(6)),
        lng: Number((lng + (rand() - 0.5) * 0.002).toFixed(6)),
        speedKmh: Math.round(rand() * 1200) / 10,
        heading: north ? 0 : 180,
        extra: k % 7 === 0 ? { ignition: 'on', fw: `1.${v}` } : undefined,
      });
    }
    tracks.push(track);
  }
  const out: TestPacket[] = [];
  for (let k = 0; k < opts.steps; k++) for (const t of tracks) out.push(t[k]!);
  return out;
}

export function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

export function ndjson(xs: unknown[]): string {
  return `${xs.map((x) => JSON.stringify(x)).join('\n')}\n`;
}

export interface Expected {
  /** vehicleId/seq -> owning segment id */
  owned: Map<string, { segment: string; cell: string; prevSegment: string | null }>;
  /** vehicleId/seq -> { old, new } for packets that must also be in the old segment's topic */
  crossings: Map<string, { from: string; to: string }>;
}

export const pkey = (vehicleId: string, seq: number | null, ts?: number) => (seq !== null ? `${vehicleId}/s${seq}` : `${vehicleId}/t${ts}`);

/**
 * The oracle, written from the spec (DESIGN.md §3) and independent of the gateway's code:
 * packets processed in the given order; a packet's segment is its H3 route; the vehicle's
 * state moves only for packets not older than it; a crossing is a state-moving packet whose
 * segment differs from the state's segment. Duplicates (same vehicle + seq) count once.
 */
export function expectedLanding(topo: Topology, sent: TestPacket[]): Expected {
  const lookup = createSegmentLookup(topo);
  const last = new Map<string, { segment: string; ts: number }>();
  const owned: Expected['owned'] = new Map();
  const crossings: Expected['crossings'] = new Map();
  for (const p of sent) {
    const k = pkey(p.vehicleId, p.seq);
    if (owned.has(k)) continue;
    const r = lookup.route(p.lat, p.lng);
    if (!r.segment) throw new Error(`fleet packet ${k} is outside every segment`);
    const prev = last.get(p.vehicleId);
    owned.set(k, { segment: r.segment, cell: r.cell, prevSegment: prev?.segment ?? null });
    if (!prev || p.ts >= prev.ts) {
      if (prev && prev.segment !== r.segment) crossings.set(k, { from: prev.segment, to: r.segment });
      last.set(p.vehicleId, { segment: r.segment, ts: p.ts });
    }
  }
  return { owned, crossings };
}

export interface ReadBack {
  topic: string;
  partition: number;
  key: string | null;
  packet: EnrichedPacket;
}

/**
 * Read every message of `topicList` from the beginning with a plain kafkajs consumer (not
 * the Bus), until `count` messages arrived and no more come for `quietMs`.
 */
export async function readAll(brokers: string[], topicList: string[], count: number, opts: { timeoutMs?: number; quietMs?: number } = {}): Promise<ReadBack[]> {
  const codec = enrichedPacketCodec();
  const kafka = new Kafka({ clientId: randomName('reader'), brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: randomName('reader'), sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
  const out: ReadBack[] = [];
  let lastAt = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: topicList, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        // `iov gateway` writes watermark ticks into quiet partitions (docs/gateway.md): not packets.
        if (isTick(message.value!)) return;
        out.push({ topic, partition, key: message.key?.toString() ?? null, packet: codec.decode(message.value!) });
        lastAt = Date.now();
      },
    });
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    const quiet = opts.quietMs ?? 500;
    while (Date.now() < deadline && !(out.length >= count && Date.now() - lastAt >= quiet)) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return out;
}

/**
 * A front for `target` that spoils its first request: `answer-lost` forwards it, waits for
 * the gateway's answer (the attempt landed and was committed) and then drops the client's
 * connection without answering; `request-lost` never forwards it nor answers (the client
 * times out). Later requests pass through.
 */
export async function lossyFront(target: string, mode: 'answer-lost' | 'request-lost'): Promise<{ url: string; server: Server; spoiled: () => number }> {
  let n = 0;
  let spoiled = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const first = n++ === 0;
      const forward = () => fetch(new URL(req.url!, target), { method: 'POST', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) });
      if (first) {
        spoiled++;
        if (mode === 'answer-lost') void forward().then((r) => r.text()).then(() => req.socket.destroy());
        return; // request-lost: never answered
      }
      void forward().then(async (r) => {
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
        res.end(await r.text());
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, spoiled: () => spoiled };
}

const ROOT = new URL('../..', import.meta.url).pathname;

/** `topo` (private segment ids: own topics) as a file naming the test servers' Kafka and Redis. */
export function writeTopologyFile(file: string, topo: Topology, servers: LocalInfraState): void {
  const clouds = topo.clouds.map((c) => (c.roles.includes('ingest') ? { ...c, kafka: { brokers: servers.kafka!.brokers }, redis: { url: servers.redis!.url } } : c));
  writeFileSync(file, JSON.stringify({ name: topo.name, h3: topo.h3, clouds, segments: topo.segments.map((s) => ({ id: s.id, cloud: s.cloud, cells: s.cells, maxReplicas: s.maxReplicas })) }));
}

export interface GatewayProcess {
  url: string;
  proc: ChildProcess;
  /** Everything it wrote to stdout so far (its log). */
  stdout: () => string;
  stderr: () => string;
}

/** `iov gateway --topology <file> --port 0` as a process of its own; resolves once it listens. */
export async function startGateway(topologyFile: string): Promise<GatewayProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, IOV_GATEWAY_RATE: 'off', IOV_LOG_LEVEL: 'info' };
  delete env.IOV_API_KEYS;
  const proc = spawn(process.execPath, [join(ROOT, 'bin/iov.mjs'), 'gateway', '--topology', topologyFile, '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start within 60 s: ${err}`)), 60_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /gateway listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}: ${err}`));
    });
  });
  return { url, proc, stdout: () => out, stderr: () => err };
}

/** SIGTERM, and wait for the exit; resolves with the exit code. */
export function stopGateway(g: GatewayProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (g.proc.exitCode !== null) return resolve(g.proc.exitCode);
    g.proc.once('exit', (code) => resolve(code));
    g.proc.kill('SIGTERM');
  });
}
