// Segment processor benchmark. Prints JSON and writes bench/results/<date>-segment.json.
//
//   npx tsx bench/segment.ts [--packets 150000] [--reps 5] [--rate 20000] [--seconds 20] [--window 5]
//     [--skip-compute] [--skip-latency] [--pool-only | --inprocess-only] [--json-rows] [--profile]
//
// Servers: the local infrastructure of IOV_STATE_DIR (`iov infra up`) when it runs, else a
// private Kafka mock cluster + clickhouse-server started (and stopped) by this script.
// 1. compute: decode + aggregate of the same packed batches, in-process vs a 2-thread pool
//    (no Kafka, no ClickHouse): what the pool can win at most.
// 2. throughput: N pre-produced packets through one segment process (Kafka → processor →
//    ClickHouse, packets + traffic_flow), 2-thread pool vs in-process baseline, fresh group
//    and database per run; timed from the first fetched batch handed to the processor to the
//    end of drain().
// 3. latency: a live producer at --rate packets/s stamping ts = now; a window is queryable
//    when every partition's rows for it are acknowledged by ClickHouse; per packet,
//    event-to-queryable = that moment − ts (target p99 ≤ window + 2 s).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { latLngToCell } from 'h3-js';
import { createKafkaBus, type Bus, type ProduceRecord } from '../src/bus/index.ts';
import { packMessages, processBatch, unpackRows, type BatchTask } from '../src/flow/index.ts';
import { startClickHouse, startKafka, stopPid } from '../src/infra/index.ts';
import { enrichedPacketCodec, type EnrichedPacket } from '../src/schemas/index.ts';
import { createSegmentProcessor, piscinaRunner, type FlushEvent } from '../src/segment/index.ts';
import { createClickHouseStore, type Store } from '../src/store/index.ts';
import { readLocalState, segmentTopic, stateFile } from '../src/topology/index.ts';
import { procCpuSeconds } from './run.ts';

const argv = process.argv.slice(2);
const arg = (f: string, d: number): number => { const k = argv.indexOf(f); return k >= 0 ? Number(argv[k + 1]) : d; };
const N = arg('--packets', 150_000); // the mock cluster keeps only ~40 000 messages per partition
const REPS = arg('--reps', 5);
const RATE = arg('--rate', 20_000);
const SECONDS = arg('--seconds', 20);
const WINDOW_S = arg('--window', 5);
const LATENESS_S = 1;
const log = (s: string) => process.stderr.write(`${s}\n`);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]!; };
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]!; };
const rnd = (s: string) => `${s}_${Math.random().toString(16).slice(2, 10)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const codec = enrichedPacketCodec();
const CELLS = Array.from({ length: 400 }, (_, i) => latLngToCell(31.2 + (i % 20) * 0.004, 121.4 + Math.floor(i / 20) * 0.004, 9));

function packet(seg: string, i: number, ts: number): EnrichedPacket {
  const v = i % 5000;
  return {
    vehicleId: `veh-${v}`, seq: i, ts, lat: 31.2, lng: 121.4, speedKmh: (i * 7) % 120, heading: 90, extra: {},
    cell: CELLS[(v * 31 + Math.floor(i / 5000)) % CELLS.length]!, segment: seg, ownerSegment: seg, crossing: false, prevSegment: null,
    ingestTs: ts, gatewayId: 'bench',
  };
}

interface Servers { brokers: string[]; chUrl: string; chPid?: number; cleanup: () => Promise<void>; private: boolean }

async function servers(): Promise<Servers> {
  const st = readLocalState(stateFile());
  const ch = st?.clickhouse['cloud-a'] ?? Object.values(st?.clickhouse ?? {})[0];
  if (st?.kafka && ch) return { brokers: st.kafka.brokers, chUrl: ch.url, chPid: ch.pid, cleanup: async () => {}, private: false };
  const dir = mkdtempSync(join(tmpdir(), 'iov-bench-seg-'));
  log(`starting private Kafka + ClickHouse under ${dir}`);
  const k = await startKafka(join(dir, 'kafka'));
  const c = await startClickHouse('bench', join(dir, 'ch'));
  return { brokers: k.brokers, chUrl: c.url, chPid: c.pid, private: true, cleanup: async () => { await stopPid(c.pid); await stopPid(k.pid); rmSync(dir, { recursive: true, force: true }); } };
}

// ---------- 1. compute only ----------
async function computeBench(): Promise<Record<string, unknown>> {
  const seg = 'bench';
  const batches: BatchTask[] = [];
  const per = 5000;
  const t0 = Date.UTC(2024, 4, 1);
  for (let b = 0; b < 40; b++) {
    const vals = Array.from({ length: per }, (_, i) => codec.encode(packet(seg, b * per + i, t0 + (b * per + i) * 2)));
    const { data, ends } = packMessages(vals);
    // encode: packets rows come back as JSONEachRow bytes, as the processor asks for them.
    batches.push({ segment: seg, partition: b % 4, rules: { windowS: 60, allowedLatenessMs: 1000 }, data, ends, offsets: Float64Array.from(vals, (_, i) => b * per + i), wm: -Infinity, skipWindows: [], packetsFrom: 0, encode: true });
  }
  const total = batches.length * per;
  const inproc: number[] = [];
  const pooled: number[] = [];
  const pool = piscinaRunner(2);
  await Promise.all([pool.run(batches[0]!, 0), pool.run(batches[1]!, 1)]); // warm both threads
  for (let r = 0; r < 3; r++) {
    let s = performance.now();
    for (const b of batches) processBatch(b);
    inproc.push(total / ((performance.now() - s) / 1000));
    s = performance.now();
    // Four partitions in flight, as the processor does.
    const lanes = [0, 1, 2, 3].map(async (lane) => { for (let i = lane; i < batches.length; i += 4) { const res = await pool.run(batches[i]!, lane); if (res.packed) unpackRows(res.packed); } });
    await Promise.all(lanes);
    pooled.push(total / ((performance.now() - s) / 1000));
  }
  await pool.destroy();
  return { packets_per_batch: per, batches: batches.length, inprocess_pps: Math.round(median(inproc)), pool2_pps: Math.round(median(pooled)), ratio: Math.round((median(pooled) / median(inproc)) * 100) / 100 };
}

// ---------- 2. throughput ----------
// Large produce requests: librdkafka's mock cluster keeps only the last ~32 message sets of a
// partition (older ones are dropped from the log), so small requests would lose the head.
async function produceAll(bus: Bus, records: ProduceRecord[]): Promise<void> {
  const chunk = 20_000;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < records.length; i += chunk) {
    inflight.push(bus.produce(records.slice(i, i + chunk)));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
}

/** `bus` with a hook on the first batch its consumers hand to a handler (the timer start). */
function markFirstBatch(bus: Bus, mark: () => void): Bus {
  return new Proxy(bus, {
    get(target, prop, recv) {
      if (prop !== 'consumer') {
        const v = Reflect.get(target, prop, recv) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      }
      return (o: Parameters<Bus['consumer']>[0]) => {
        const c = target.consumer(o);
        return new Proxy(c, {
          get(ct, cp, cr) {
            const v = Reflect.get(ct, cp, cr) as unknown;
            if (cp === 'run') return (h: Parameters<typeof c.run>[0]) => c.run((b, ctx) => { mark(); return h(b, ctx); });
            return typeof v === 'function' ? v.bind(ct) : v;
          },
        });
      };
    },
  });
}

interface RunResult { pps: number; seconds: number; rows: number; main_thread_busy: number; cpu_us_per_packet: { node: number; clickhouse?: number } }

async function throughputRun(bus: Bus, chUrl: string, seg: string, workers: number, chPid?: number): Promise<RunResult> {
  const ch: Store = createClickHouseStore({ cloud: 'bench', endpoint: { url: chUrl, database: rnd('bench') } });
  // --json-rows: the store offers JSONEachRow only, as before RowBinary (the A/B of that change).
  const store: Store = argv.includes('--json-rows') ? Object.assign(Object.create(ch) as Store, { encodedFormats: ['JSONEachRow'] as const }) : ch;
  // Timed from the first fetched batch reaching the processor (after the group join) to the
  // end of drain(): every packet's decode, aggregation, inserts and commits are inside. (The
  // stats().messages counter moves only when a step ends, and the first step coalesces
  // everything fetched during partition recovery, so timing from it missed most of the work.)
  let t0 = 0;
  let elu0 = performance.eventLoopUtilization();
  // CPU used over the timed span by this process (main + pool threads) and by ClickHouse:
  // a measure that, unlike packets/s, does not depend on how busy the shared box is.
  let cpu0 = process.cpuUsage();
  let ch0 = procCpuSeconds(chPid);
  // --profile: a CPU profile of the main thread over the timed span (node:inspector).
  const prof = argv.includes('--profile') ? new Session() : undefined;
  if (prof) {
    prof.connect();
    await prof.post('Profiler.enable');
  }
  const timed = markFirstBatch(bus, () => {
    if (t0 !== 0) return;
    t0 = performance.now();
    elu0 = performance.eventLoopUtilization();
    cpu0 = process.cpuUsage();
    ch0 = procCpuSeconds(chPid);
    if (prof) void prof.post('Profiler.start');
  });
  const p = createSegmentProcessor({ segmentId: seg, bus: timed, store, workers, windowS: 60, allowedLatenessS: LATENESS_S, groupId: rnd('bench-g') });
  await p.start();
  while (t0 === 0) await sleep(2);
  await p.drain({ timeoutMs: 600_000 });
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const ch1 = procCpuSeconds(chPid);
  if (prof) {
    const { profile } = await prof.post('Profiler.stop');
    const file = join(tmpdir(), `segment-bench-w${workers}-${Date.now()}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    log(`  main-thread profile: ${file}`);
    prof.disconnect();
  }
  // Share of the timed span the main thread's event loop was busy (1 = saturated).
  const busy = performance.eventLoopUtilization(elu0).utilization;
  const st = p.stats();
  await p.stop();
  await store.command(`DROP DATABASE IF EXISTS ${store.database}`).catch(() => {});
  await store.close();
  return { pps: Math.round(N / secs), seconds: Math.round(secs * 100) / 100, rows: st.rowsWritten.packets, main_thread_busy: Math.round(busy * 100) / 100,
    cpu_us_per_packet: {
      node: Math.round(((cpu.user + cpu.system) / N) * 100) / 100,
      ...(Number.isFinite(ch1 - ch0) ? { clickhouse: Math.round((((ch1 - ch0) * 1e6) / N) * 100) / 100 } : {}),
    } };
}

// ---------- 3. latency ----------
async function latencyRun(bus: Bus, chUrl: string, workers: number): Promise<Record<string, unknown>> {
  const seg = rnd('lat');
  const topic = segmentTopic(seg);
  await bus.ensureTopics([{ topic, partitions: 4 }]);
  const store = createClickHouseStore({ cloud: 'bench', endpoint: { url: chUrl, database: rnd('benchlat') } });
  const flushes: FlushEvent[] = [];
  const p = createSegmentProcessor({ segmentId: seg, bus, store, workers, windowS: WINDOW_S, allowedLatenessS: LATENESS_S, onFlush: (e) => flushes.push(e) });
  await p.start();
  await sleep(4000); // group join
  const sent: number[] = [];
  const tickMs = 50;
  const end = Date.now() + SECONDS * 1000;
  let i = 0;
  let behind = 0;
  while (Date.now() < end) {
    const t = Date.now();
    const n = Math.round((RATE * tickMs) / 1000);
    const recs: ProduceRecord[] = [];
    for (let k = 0; k < n; k++, i++) {
      const ts = Date.now();
      sent.push(ts);
      recs.push({ topic, key: `veh-${i % 5000}`, value: codec.encode(packet(seg, i, ts)) });
    }
    await bus.produce(recs);
    const spent = Date.now() - t;
    if (spent > tickMs) behind++;
    else await sleep(tickMs - spent);
  }
  // Let the last complete windows close: keep a trickle of fresh packets on every partition.
  const lastFull = Math.floor(sent[sent.length - 1]! / 1000 / WINDOW_S) * WINDOW_S - WINDOW_S;
  const tail = Date.now() + (WINDOW_S + LATENESS_S + 3) * 1000;
  while (Date.now() < tail) {
    await bus.produce(Array.from({ length: 40 }, (_, k) => ({ topic, key: `veh-${k}`, value: codec.encode(packet(seg, k, Date.now())) })));
    await sleep(100);
  }
  await p.stop();
  await store.command(`DROP DATABASE IF EXISTS ${store.database}`).catch(() => {});
  await store.close();
  const queryable = new Map<number, number>();
  const parts = new Map<number, Set<number>>();
  for (const f of flushes) {
    queryable.set(f.windowStart, Math.max(queryable.get(f.windowStart) ?? 0, f.at));
    (parts.get(f.windowStart) ?? parts.set(f.windowStart, new Set()).get(f.windowStart)!).add(f.partition);
  }
  const lat: number[] = [];
  const beyond: number[] = [];
  for (const ts of sent) {
    const ws = Math.floor(ts / 1000 / WINDOW_S) * WINDOW_S;
    if (ws > lastFull) continue;
    const q = queryable.get(ws);
    if (q === undefined || (parts.get(ws)?.size ?? 0) < 4) continue;
    lat.push(q - ts);
    beyond.push(q - (ws + WINDOW_S) * 1000);
  }
  return {
    workers, target_rate_pps: RATE, produced: sent.length, producer_ticks_late: behind, measured_packets: lat.length,
    event_to_queryable_ms: { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: lat.reduce((m, x) => Math.max(m, x), 0) },
    beyond_window_end_ms: { p50: pct(beyond, 0.5), p99: pct(beyond, 0.99) },
    target_p99_ms: (WINDOW_S + 2) * 1000,
    met: pct(lat, 0.99) <= (WINDOW_S + 2) * 1000,
  };
}

async function main(): Promise<void> {
  const srv = await servers();
  const bus = createKafkaBus({ brokers: srv.brokers, clientId: 'bench-segment', requestTimeoutMs: 30_000 });
  try {
    log('1/3 compute-only: in-process vs 2-thread pool');
    const compute = argv.includes('--skip-compute') ? {} : await computeBench();
    const onlyWorkers = argv.includes('--pool-only') ? [2] : argv.includes('--inprocess-only') ? [0] : [2, 0];
    log(JSON.stringify(compute));

    log(`2/3 throughput: producing ${N} packets`);
    const seg = rnd('thr');
    const topic = segmentTopic(seg);
    await bus.ensureTopics([{ topic, partitions: 4 }]);
    const t0 = Date.UTC(2024, 4, 1, 8);
    const records = Array.from({ length: N }, (_, i) => ({ topic, key: `veh-${i % 5000}`, value: codec.encode(packet(seg, i, t0 + Math.floor(i / 4))) }));
    await produceAll(bus, records);
    const pool: number[] = [];
    const base: number[] = [];
    const busyPool: number[] = [];
    const busyBase: number[] = [];
    const cpuPool: RunResult['cpu_us_per_packet'][] = [];
    const cpuBase: RunResult['cpu_us_per_packet'][] = [];
    let rowsOk = true;
    for (let r = 0; r < REPS; r++) {
      if (onlyWorkers.includes(2)) {
        const a = await throughputRun(bus, srv.chUrl, seg, 2, srv.chPid);
        log(`  pool(2): ${JSON.stringify(a)}`);
        pool.push(a.pps);
        busyPool.push(a.main_thread_busy);
        cpuPool.push(a.cpu_us_per_packet);
        rowsOk &&= a.rows === N;
      }
      if (onlyWorkers.includes(0)) {
        const b = await throughputRun(bus, srv.chUrl, seg, 0, srv.chPid);
        log(`  in-process: ${JSON.stringify(b)}`);
        base.push(b.pps);
        busyBase.push(b.main_thread_busy);
        cpuBase.push(b.cpu_us_per_packet);
        rowsOk &&= b.rows === N;
      }
    }
    const throughput = {
      packets: N, reps: REPS, pool2_pps: median(pool), inprocess_pps: median(base), ratio: Math.round((median(pool) / median(base)) * 100) / 100,
      runs: { pool2: pool, inprocess: base }, main_thread_busy: { pool2: busyPool, inprocess: busyBase }, cpu_us_per_packet: { pool2: cpuPool, inprocess: cpuBase }, all_rows_stored: rowsOk, target_pps: 100_000, met: median(pool) >= 100_000,
    };

    log(`3/3 latency: ${RATE} packets/s for ${SECONDS} s, window ${WINDOW_S} s, lateness ${LATENESS_S} s`);
    const latency = argv.includes('--skip-latency') ? {} : { pool2: await latencyRun(bus, srv.chUrl, 2), inprocess: await latencyRun(bus, srv.chUrl, 0) };

    const out = {
      bench: 'segment',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, totalmem_gb: Math.round(totalmem() / 2 ** 30), freemem_gb: Math.round(freemem() / 2 ** 30), loadavg: loadavg(), node: process.version },
      servers: srv.private ? 'private (started by the bench)' : 'local infrastructure (IOV_STATE_DIR)',
      params: { packets: N, reps: REPS, rate: RATE, seconds: SECONDS, window_s: WINDOW_S, lateness_s: LATENESS_S, partitions: 4, packets_rows: argv.includes('--json-rows') ? 'JSONEachRow' : 'RowBinary' },
      compute, throughput, latency,
    };
    const text = JSON.stringify(out, null, 2);
    process.stdout.write(`${text}\n`);
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(new URL(`./results/${out.date.slice(0, 10)}-segment.json`, import.meta.url), `${text}\n`);
  } finally {
    await bus.close();
    await srv.cleanup();
  }
}

await main();
