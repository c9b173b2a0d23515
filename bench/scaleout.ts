// Scale-out bench (`iov bench scaleout`): one segment (north) processed by 1, 2 and 3
// `iov segment` processes of one consumer group, on the local servers (`iov infra up`,
// IOV_STATE_DIR). Every scenario is a run of its own (the segment renamed north_<run>: own
// topic, group, lease keys and databases), opened through the composition root. Prints JSON
// and writes bench/results/<date>-scaleout.{json,md}; the load average is kept beside every
// rate (the box is shared).
//
//   flock /work/bench.lock nice npx tsx bench/scaleout.ts [--packets 60000] [--processes 1,2,3]
//     [--rate 1000] [--phase 12] [--kill-members 2,3] [--kills 3] [--steady 15] [--kill-bound 45]
//     [--kill-fraction 0.25] [--kill-rate R] [--ab-reps 5] [--ab-packets 60000]
//     [--only throughput,profile,rebalances,kills,fencing]
//
// The group as the bench sees it: each process's /readyz (the partitions it owns, recovered)
// and the group's commits. A commit carries offset R (the oldest open window's first message,
// where a restart resumes) and in its metadata E (every message below it processed and
// stored); the lag is the log end minus E, summed over the partitions. (End minus R is what
// Kafka tools show: it holds a window and its lateness of traffic even when nothing is behind.)
//
// 1. throughput: P processes start and their group settles (every member owns a partition);
//    then N packets are produced and timed from the produce's start until every one is stored
//    (produce time reported beside). CPU (from /proc) of each process and of the servers (the
//    segment cloud's ClickHouse, the Kafka mock cluster) over that interval, as µs per packet.
//    On 2 cores the rate is expected to stay flat. Then one more 1-process run under
//    --cpu-prof: where a process's CPU goes, by module.
// 2. rebalances under a steady producer (--rate): 2 processes for a phase; a 3rd joins (a phase
//    after it is ready), leaves (SIGTERM, a phase). Sampled every 250 ms; per event the longest
//    time E (consumed) or the stored rows did not move while there was lag.
// 3. kills: M processes (--kill-members) under a steady rate they keep up with, one SIGKILLed
//    (not restarted: the survivors take over), --kills times each on a fresh run, medians.
//    The rate: --kill-fraction of this run's 1-process throughput (or --rate without it),
//    capped so no partition's log passes what the mock cluster keeps; halved (at most twice)
//    when the lag before the kill is not flat. Per kill: the group's new assignment, the dead
//    member's partitions owned again, their commits moving, and the lag back to its pre-kill
//    level, each bounded by --kill-bound s.
// 4. fencing per insert: the same batch through one in-process processor with the Redis lease
//    fence and without it (A/B, alternating, medians): packets/s and every insert's latency;
//    the lease renewals the fenced runs made, and a renewal's round trip timed alone.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latLngToCell } from 'h3-js';
import { GROUP_TIMINGS, type Bus, type ProduceRecord } from '../src/bus/index.ts';
import { collectLines, drainUntilCommitted, endOffsets, runTopology, seekGroup, type Offsets } from '../src/chaos/index.ts';
import { createRedisFence, isLease, type Fence } from '../src/fence/index.ts';
import { createSupervisor, READY_LINES, type RestartPolicy, type Supervisor } from '../src/local/index.ts';
import { openRuntime, type Runtime } from '../src/runtime/index.ts';
import { enrichedPacketCodec, type EnrichedPacket } from '../src/schemas/index.ts';
import { parseCommitMeta } from '../src/segment/index.ts';
import type { EncodedFormat, InsertOptions, Store } from '../src/store/index.ts';
import { DEFAULT_TOPOLOGY_FILE, loadTopology, readLocalState, redisEndpoint, segmentGroup, segmentTopic, stateFile } from '../src/topology/index.ts';
import { machineInfo, procCpuSeconds, RESULTS_DIR } from './run.ts';

const argv = process.argv.slice(2);
const arg = (f: string, d: string): string => { const k = argv.indexOf(f); return k >= 0 ? argv[k + 1]! : d; };
const N = Number(arg('--packets', '60000')); // the mock cluster keeps ~40 000 messages per partition
const PROCESSES = arg('--processes', '1,2,3').split(',').map(Number);
/** Offered rate of the rebalance scenario, and of the kills when no throughput was measured. */
const RATE = Number(arg('--rate', '1000'));
/** Length of each phase of the rebalance scenario, seconds. */
const PHASE = Number(arg('--phase', '12'));
const KILL_MEMBERS = arg('--kill-members', '2,3').split(',').map(Number);
const KILLS = Number(arg('--kills', '3'));
/** Seconds of steady lag sampled before each kill. */
const STEADY = Number(arg('--steady', '15'));
/** Longest wait for each milestone after a kill, seconds. */
const KILL_BOUND = Number(arg('--kill-bound', '45'));
const KILL_FRACTION = Number(arg('--kill-fraction', '0.25'));
const KILL_RATE = argv.includes('--kill-rate') ? Number(arg('--kill-rate', '0')) : undefined;
const AB_REPS = Number(arg('--ab-reps', '5'));
const AB_PACKETS = Number(arg('--ab-packets', String(N)));
/** Parts to run (default all): throughput,profile,rebalances,kills,fencing. */
const ONLY = new Set(arg('--only', 'throughput,profile,rebalances,kills,fencing').split(','));
/** Messages the mock cluster keeps per partition (docs/e2e.md): a run's log stays below it. */
const PARTITION_LIMIT = 40_000;
const SAMPLE_MS = 250;
const SEGMENT = 'north';
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) * q)] ?? 0; };
const median = (xs: number[]) => quantile(xs, 0.5);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const rnd = () => Math.random().toString(16).slice(2, 8);
const sum = (m: Offsets) => [...m.values()].reduce((a, b) => a + b, 0);
const load1 = () => round(os.loadavg()[0]!);

const state = readLocalState(stateFile());
if (!state?.kafka || !state.redis) throw new Error(`bench/scaleout needs the local servers: run \`iov infra up\` and set IOV_STATE_DIR (looked in ${stateFile()})`);
const topo = loadTopology(DEFAULT_TOPOLOGY_FILE);
const seg = topo.segments.find((s) => s.id === SEGMENT)!;
const codec = enrichedPacketCodec();
// Cells of the segment at the packets' resolution, spread over its area.
const CELLS = Array.from({ length: 300 }, (_, i) => latLngToCell(31.32 + (i % 15) * 0.01, 121.15 + Math.floor(i / 15) * 0.03, topo.h3.resolution));

/** A run of its own: the topology with north renamed north_<id> and databases of the run. */
interface Run {
  rt: Runtime;
  bus: Bus;
  segment: string;
  topic: string;
  group: string;
  topologyFile: string;
  store: Store;
  start: Offsets;
  close(): Promise<void>;
}

async function freshRun(): Promise<Run> {
  const id = rnd();
  const dir = mkdtempSync(join(tmpdir(), 'iov-bench-scale-'));
  const topologyFile = runTopology(DEFAULT_TOPOLOGY_FILE, topo, state, `bench_${id}`, dir, id);
  const rt = await openRuntime({ topology: topologyFile, clientId: `bench-scaleout-${id}` });
  const segment = `${SEGMENT}_${id}`;
  const topic = segmentTopic(segment);
  const group = segmentGroup(segment);
  const bus = rt.bus();
  await rt.ensureTopics();
  const store = await rt.store(seg.cloud);
  await store.migrate();
  const start = await endOffsets(bus, topic);
  await seekGroup(bus, group, topic, start);
  return { rt, bus, segment, topic, group, topologyFile, store, start, close: async () => { await rt.close(); rmSync(dir, { recursive: true, force: true }); } };
}

function record(run: Run, i: number, ts: number): ProduceRecord {
  const vehicleId = `b-${i % 3000}`;
  const p: EnrichedPacket = {
    vehicleId, seq: i, ts, lat: 31.4, lng: 121.4, speedKmh: 20 + (i % 90), heading: 180, extra: {},
    cell: CELLS[(i * 7) % CELLS.length]!, segment: run.segment, ownerSegment: run.segment, crossing: false, prevSegment: null, ingestTs: ts, gatewayId: 'bench',
  };
  return { topic: run.topic, key: vehicleId, value: codec.encode(p) };
}

/** `n` packets, event time `stepMs` apart from `ts0`: windows keep closing, so commits keep moving. */
async function produce(run: Run, n: number, from: number, ts0: number, stepMs: number): Promise<void> {
  for (let i = 0; i < n; i += 5000) await run.bus.produce(Array.from({ length: Math.min(5000, n - i) }, (_, k) => record(run, from + i + k, Math.round(ts0 + (from + i + k) * stepMs))));
}

/** user + system CPU seconds of a process so far (from /proc), 0 if it is gone. */
const cpuS = (pid: number | undefined): number => {
  const s = procCpuSeconds(pid);
  return Number.isNaN(s) ? 0 : s;
};

/** The segment processes of a run, each serving /readyz on a port it picks (read from its ready line). */
interface Members {
  sup: Supervisor;
  /** Each member's metrics port, by name (a restarted member gets a new one). */
  ports: Map<string, number>;
  lines: ReturnType<typeof collectLines>;
}

function segmentProcesses(run: Run, p: number, o: { names?: string; nodeArgs?: string[]; restart?: Partial<RestartPolicy> } = {}): Members {
  const lines = collectLines();
  const ports = new Map<string, number>();
  const sup = createSupervisor({
    onLine: (name, line) => {
      lines.on(name, line);
      const port = /metrics on 127\.0\.0\.1:(\d+)/.exec(line)?.[1];
      if (port) ports.set(name, Number(port));
    },
    specs: Array.from({ length: p }, (_, i) => ({
      name: `${o.names ?? 'segment'}-${i + 1}`,
      args: ['segment', '--id', run.segment, '--workers', '0', '--window', '10', '--lateness', '5', '--metrics-port', '0', '--topology', run.topologyFile],
      env: { IOV_LOG_LEVEL: 'warn' }, ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}), ready: READY_LINES.segment,
    })),
    ...(o.restart ? { restart: o.restart } : {}),
    log: (l) => log(`  ${l}`),
    onStderr: () => {},
  });
  return { sup, ports, lines };
}

/** Partitions each running member owns and has recovered (its /readyz); a member that does not answer owns none. */
async function owned(m: Members): Promise<Map<string, number[]>> {
  const live = m.sup.members().filter((x) => x.state === 'running' && m.ports.has(x.name));
  const got = await Promise.all(live.map(async (x): Promise<[string, number[]]> => {
    try {
      const res = await fetch(`http://127.0.0.1:${m.ports.get(x.name)}/readyz`, { signal: AbortSignal.timeout(2_000) });
      const h = (await res.json()) as { owned: { partition: number }[] };
      return [x.name, h.owned.map((o) => o.partition).sort((a, b) => a - b)];
    } catch {
      return [x.name, []];
    }
  }));
  return new Map(got);
}

/**
 * Until the group has settled: every partition owned by exactly one member, every member
 * owning one (when there are enough partitions), the same in two looks 1 s apart. Returns
 * the seconds waited.
 */
async function settled(m: Members, partitions: number, timeoutMs = 90_000): Promise<number> {
  const t0 = Date.now();
  let last = '';
  for (;;) {
    const view = await owned(m);
    const all = [...view.values()].flat();
    const ok = all.length === partitions && new Set(all).size === partitions
      && [...view.values()].every((ps) => ps.length > 0 || view.size > partitions);
    const key = JSON.stringify([...view]);
    if (ok && key === last) return round((Date.now() - t0) / 1000, 1);
    last = ok ? key : '';
    if (Date.now() - t0 > timeoutMs) throw new Error(`the group did not settle within ${timeoutMs / 1000} s: ${key}`);
    await sleep(1_000);
  }
}

/** SIGKILL every member's process if the bench itself dies (no orphans on the shared box). */
function killOnExit(...ms: Members[]): () => void {
  const killAll = () => {
    for (const m of ms) for (const x of m.sup.members()) if (x.pid) try { process.kill(x.pid, 'SIGKILL'); } catch { /* gone */ }
  };
  process.once('exit', killAll);
  return () => process.off('exit', killAll);
}

/** Packets produced at `rate` per second, event time = wall time, until stopped. */
function steadyProducer(run: Run, rate: number): { stop(): Promise<number> } {
  const t0 = Date.now();
  let produced = 0;
  let producing = true;
  const loop = (async () => {
    while (producing) {
      const due = Math.floor(((Date.now() - t0) / 1000) * rate) - produced;
      if (due > 0) {
        await produce(run, due, produced, t0, 1000 / rate);
        produced += due;
      }
      await sleep(100);
    }
  })();
  return {
    async stop() {
      producing = false;
      await loop;
      return produced;
    },
  };
}

/** Parts of the bench that failed, with their error: the rest still runs and is written. */
const failures: { part: string; error: string }[] = [];

/** Run one part; a failure is logged and recorded in `failures`, and the bench goes on. */
async function tried<T>(part: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    log(`FAILED ${part}: ${(err as Error).stack ?? err}`);
    failures.push({ part, error: (err as Error).message });
    return undefined;
  }
}

// ---------- the group's progress, sampled ----------
interface Sample {
  t: number;
  /** Log end per partition. */
  end: Offsets;
  /** E per partition: every message below it processed and stored (the commit's metadata). */
  processed: Offsets;
  /** Packet rows stored per partition. */
  stored: Offsets;
  /** Partitions each member owns (its /readyz), when sampled. */
  owned?: Map<string, number[]>;
}

const lagOf = (s: Sample) => [...s.end].reduce((a, [p, end]) => a + end - (s.processed.get(p) ?? 0), 0);
const storedTotal = (s: Sample) => sum(s.stored);
const processedTotal = (s: Sample) => sum(s.processed);

/** One sampler per run: one reader of the group's commits for its whole life. */
function sampler(run: Run, m?: Members): { take(): Promise<void>; samples: Sample[]; missed(): number; close(): Promise<void> } {
  const reader = run.bus.consumer({ groupId: run.group, topics: [run.topic] });
  const samples: Sample[] = [];
  let missed = 0;
  return {
    samples,
    missed: () => missed,
    async take() {
      try {
        const [end, commits, rows, view] = await Promise.all([
          endOffsets(run.bus, run.topic),
          reader.committed(run.topic),
          run.store.query<{ p: number; n: string }>(`SELECT kafka_partition AS p, count() AS n FROM packets WHERE segment = '${run.segment}' GROUP BY p`),
          m ? owned(m) : Promise.resolve(undefined),
        ]);
        const processed = new Map([...run.start].map(([p, o]) => [p, o]));
        for (const c of commits) processed.set(c.partition, parseCommitMeta(c.metadata)?.e ?? Number(c.offset));
        const stored = new Map(rows.map((r) => [Number(r.p), Number(r.n)]));
        samples.push({ t: Date.now(), end, processed, stored, ...(view ? { owned: view } : {}) });
      } catch (err) {
        // A look-up that timed out on the loaded box is a sample missed, counted, not the end of the bench.
        missed++;
        log(`  sample missed: ${(err as Error).message}`);
      }
    },
    close: () => reader.stop(),
  };
}

/** Sample every SAMPLE_MS until `until()` holds. */
async function sampleUntil(s: ReturnType<typeof sampler>, until: () => boolean): Promise<void> {
  while (!until()) {
    await s.take();
    await sleep(SAMPLE_MS);
  }
}

// ---------- 1. throughput with P processes ----------
async function throughput(p: number, profileDir?: string): Promise<Record<string, unknown>> {
  const run = await freshRun();
  const members = segmentProcesses(run, p, profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {});
  const { sup, lines } = members;
  const unhook = killOnExit(members);
  try {
    // The group first: every member ready and owning partitions, so the batch is processed
    // by P members and not by whoever came first.
    const t0 = Date.now();
    await sup.start();
    const readyS = round((Date.now() - t0) / 1000, 1);
    const settleS = await settled(members, run.start.size);
    const servers = { clickhouse: state!.clickhouse[seg.cloud]?.pid, kafka: state!.kafka!.pid };
    const stored = async () => Number((await run.store.query<{ n: string }>(`SELECT count() AS n FROM packets WHERE segment = '${run.segment}'`))[0]?.n ?? 0);
    const load = load1();
    let cpu0: number[] = [];
    let srv0 = { clickhouse: 0, kafka: 0 };
    const mark = () => {
      cpu0 = sup.members().map((m) => cpuS(m.pid));
      srv0 = { clickhouse: cpuS(servers.clickhouse), kafka: cpuS(servers.kafka) };
    };
    mark();
    // Timed: from the produce's start to every packet stored (a packet row is written in the
    // step that reads it; the windows' flush at the end is the drain's, not timed).
    const tp = Date.now();
    const producing = produce(run, N, 0, Date.now() - 3_600_000, 10).then(() => Date.now()); // 10 ms of event time apart: 60 000 packets span 10 min
    let n = 0;
    while ((n = await stored()) < N) {
      if (Date.now() - tp > 600_000) throw new Error(`${p} processes: ${n} of ${N} packets stored after 10 min`);
      await sleep(100);
    }
    const done = Date.now();
    const producedAt = await producing;
    const wallS = (done - tp) / 1000;
    const procCpu = sup.members().map((m, i) => cpuS(m.pid) - (cpu0[i] ?? 0));
    const chCpu = cpuS(servers.clickhouse) - srv0.clickhouse;
    const kafkaCpu = cpuS(servers.kafka) - srv0.kafka;
    // End of stream, so the run ends as the others do (and the profile covers a whole life).
    await drainUntilCommitted(sup, lines, run.bus, { ...run.rt.topology, segments: run.rt.topology.segments.filter((s) => s.id === run.segment) }, { sessionTimeoutMs: GROUP_TIMINGS.sessionTimeoutMs, onRound: (l) => log(`  ${l}`) });
    const us = (x: number) => round((x * 1e6) / N, 1);
    const row = {
      processes: p, packets: N, ready_s: readyS, settle_s: settleS, produce_s: round((producedAt - tp) / 1000, 2), wall_s: round(wallS, 2), packets_per_s: Math.round(N / wallS),
      loadavg_1m_at_start: load, loadavg_1m_at_end: load1(),
      cpu_s: { segment_processes: procCpu.map((x) => round(x)), clickhouse: round(chCpu), kafka_mock: round(kafkaCpu) },
      cpu_us_per_packet: {
        segment_processes_total: us(procCpu.reduce((a, b) => a + b, 0)), per_process: procCpu.map(us), clickhouse: us(chCpu), kafka_mock: us(kafkaCpu),
      },
      cpu_share_of_2_cores: round((procCpu.reduce((a, b) => a + b, 0) + chCpu + kafkaCpu) / (2 * wallS)),
    };
    log(`throughput ${JSON.stringify(row)}`);
    return row;
  } finally {
    await sup.stop();
    unhook();
    await run.close();
  }
}

/** Self time of a V8 CPU profile by where the code lives: which library, our component, GC, idle. */
function whereCpuGoes(file: string): Record<string, number> {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: { id: number; callFrame: { url: string; functionName: string } }[]; samples: number[]; timeDeltas: number[] };
  const bucketOf = new Map<number, string>();
  for (const n of prof.nodes) {
    const { url, functionName } = n.callFrame;
    let b: string;
    if (functionName === '(garbage collector)') b = 'gc';
    else if (functionName === '(idle)') b = 'idle';
    else if (functionName === '(program)') b = 'v8/native (program)';
    else if (/node_modules\/(@[^/]+\/[^/]+|[^/]+)/.test(url)) b = url.match(/node_modules\/(@[^/]+\/[^/]+|[^/]+)/)![1]!;
    else if (/\/src\/([^/]+)\//.test(url)) b = `src/${url.match(/\/src\/([^/]+)\//)![1]}`;
    else if (url.startsWith('node:')) b = 'node core';
    else b = url ? 'other' : 'native';
    bucketOf.set(n.id, b);
  }
  const ms = new Map<string, number>();
  prof.samples.forEach((id, i) => {
    const b = bucketOf.get(id) ?? 'other';
    ms.set(b, (ms.get(b) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000);
  });
  const busy = [...ms].filter(([b]) => b !== 'idle').reduce((a, [, v]) => a + v, 0);
  return Object.fromEntries([...ms].filter(([b]) => b !== 'idle').sort((a, b) => b[1] - a[1]).map(([b, v]) => [b, round(v / busy, 3)]));
}

async function profile(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'iov-bench-prof-'));
  try {
    const row = await throughput(1, dir);
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    if (!files.length) throw new Error('the profiled process wrote no CPU profile');
    return { note: '1 process under --cpu-prof (whole life: start-up, drain and stop included); share of busy CPU time by module', packets_per_s_under_profiler: row.packets_per_s, share: whereCpuGoes(join(dir, files[0]!)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------- 2. join and leave under a steady producer ----------
/** The longest stretch in [from, to) in which `value` did not move while there was lag. */
function longestPause(samples: Sample[], from: number, to: number, value: (s: Sample) => number): number {
  const xs = samples.filter((s) => s.t >= from && s.t < to);
  let longest = 0;
  let last = xs[0]?.t ?? from;
  for (let i = 1; i < xs.length; i++) {
    if (value(xs[i]!) !== value(xs[i - 1]!) || lagOf(xs[i]!) === 0) last = xs[i]!.t;
    else longest = Math.max(longest, xs[i]!.t - last);
  }
  return round(longest / 1000, 1);
}

async function rebalances(): Promise<Record<string, unknown>> {
  const run = await freshRun();
  const pair = segmentProcesses(run, 2);
  const joiner = segmentProcesses(run, 1, { names: 'joiner' });
  const unhook = killOnExit(pair, joiner);
  const s = sampler(run);
  try {
    await pair.sup.start();
    await settled(pair, run.start.size);
    const t0 = Date.now();
    const producer = steadyProducer(run, RATE);
    const loads: number[] = [];
    const at = { join: 0, joinerReady: 0, leave: 0, end: 0 };
    // Phases: steady with 2 processes; a 3rd joins (until PHASE after it is ready); it leaves (SIGTERM).
    await sampleUntil(s, () => Date.now() - t0 >= PHASE * 1000);
    loads.push(load1());
    at.join = Date.now();
    log('  join: a third process starts');
    void joiner.sup.start().then(() => { at.joinerReady = Date.now(); log(`  joiner ready (pid ${joiner.sup.members()[0]!.pid})`); }, (err: Error) => log(`  joiner failed: ${err.message}`));
    await sampleUntil(s, () => (at.joinerReady > 0 && Date.now() - at.joinerReady >= PHASE * 1000) || Date.now() - at.join > 120_000);
    loads.push(load1());
    at.leave = Date.now();
    log(`  leave: SIGTERM joiner (pid ${joiner.sup.members()[0]!.pid})`);
    void joiner.sup.stop();
    await sampleUntil(s, () => Date.now() - at.leave >= PHASE * 1000);
    at.end = Date.now();
    loads.push(load1());
    await producer.stop();
    const pauses = (from: number, to: number) => ({ consumed_s: longestPause(s.samples, from, to, processedTotal), stored_s: longestPause(s.samples, from, to, storedTotal) });
    const row = {
      rate_pps: RATE, phase_s: PHASE, sample_ms: SAMPLE_MS, samples: s.samples.length, samples_missed: s.missed(), loadavg_1m_at_phases: loads,
      steady_2_processes: pauses(t0 + 3_000, at.join),
      join: { ...pauses(at.join, at.leave), joiner_start_s: at.joinerReady ? round((at.joinerReady - at.join) / 1000, 1) : null },
      leave: pauses(at.leave, at.end),
    };
    log(`rebalances ${JSON.stringify(row)}`);
    return row;
  } finally {
    await s.close();
    await Promise.all([joiner.sup.stop(2_000), pair.sup.stop(2_000)]);
    unhook();
    await run.close();
  }
}

// ---------- 3. a kill, and the survivors catching up ----------
/** Seconds from `t0` to the first sample at or after `from` where `ok` holds (null: never). */
function firstAfter(samples: Sample[], from: number, t0: number, ok: (s: Sample) => boolean): number | null {
  const s = samples.find((x) => x.t >= from && ok(x));
  return s ? round((s.t - t0) / 1000, 2) : null;
}

/**
 * The steady lag before a kill: its median and p95, and whether it is flat (the last third's
 * median within half a second of traffic of the first third's: the members keep up).
 */
function steadyLag(samples: Sample[], rate: number): { median: number; p95: number; first_third: number; last_third: number; flat: boolean } {
  const lags = samples.map(lagOf);
  const third = Math.max(1, Math.floor(lags.length / 3));
  const first = median(lags.slice(0, third));
  const last = median(lags.slice(-third));
  return { median: median(lags), p95: quantile(lags, 0.95), first_third: first, last_third: last, flat: last - first <= rate * 0.5 };
}

/** The lag must stay at most this high for this long to count as caught up. */
const CAUGHT_UP_HOLD_MS = 3_000;
/** Back to the steady level: at most its p95 plus a quarter, or plus 0.25 s of traffic, whichever is more. */
const caughtUpThreshold = (steady: { p95: number }, rate: number) => Math.round(Math.max(steady.p95 * 1.25, steady.p95 + rate * 0.25));

interface KillRound {
  members: number; rate_pps: number; loadavg_1m: number[]; settle_s: number; samples: number; samples_missed: number;
  victim_partitions: number[]; steady_lag: ReturnType<typeof steadyLag>; caught_up_threshold: number;
  /** Seconds after the SIGKILL; null = not within kill_bound_s. */
  rebalanced_s: number | null; owned_again_s: number | null; commits_moved_s: number | null; caught_up_s: number | null;
  lag_peak: number; lag_peak_s: number; kill_bound_s: number;
  /** [seconds from the kill, lag] every sample from the steady phase's start. */
  lag_series: [number, number][];
  /** [seconds from the kill, partitions per member] whenever the members' /readyz changed after the kill. */
  group_changes: [number, Record<string, number[]>][];
}

async function killRound(members: number, rate: number): Promise<KillRound> {
  const run = await freshRun();
  // The victim is not restarted during the round: the survivors take its partitions over.
  const m = segmentProcesses(run, members, { restart: { backoffMs: 3_600_000, maxBackoffMs: 3_600_000 } });
  const unhook = killOnExit(m);
  const s = sampler(run, m);
  try {
    await m.sup.start();
    const settleS = await settled(m, run.start.size);
    const loads = [load1()];
    const producer = steadyProducer(run, rate);
    const warm = Date.now() + 3_000; // the first steps and commits
    await sleep(3_000);
    const t0 = Date.now();
    await sampleUntil(s, () => Date.now() - t0 >= STEADY * 1000);
    const before = s.samples.filter((x) => x.t >= t0);
    const steady = steadyLag(before, rate);
    const last = before.at(-1)!;
    const victim = m.sup.members()[0]!.name;
    const victimParts = last.owned?.get(victim) ?? [];
    const survivors = new Map([...last.owned ?? []].filter(([n]) => n !== victim));
    if (!victimParts.length) throw new Error(`${victim} owned no partition before the kill: ${JSON.stringify([...last.owned ?? []])}`);
    const threshold = caughtUpThreshold(steady, rate);
    loads.push(load1());
    const tk = Date.now();
    log(`  kill: SIGKILL ${victim} (pid ${m.sup.members()[0]!.pid}, partitions ${victimParts.join(',')}), steady lag median ${steady.median} p95 ${steady.p95}${steady.flat ? '' : ' NOT FLAT'}`);
    m.sup.signal(victim, 'SIGKILL');
    /** E of the dead member's partitions once its last commit in flight has landed (1 s after the kill). */
    const processedAtKill = () => {
      const settledView = s.samples.filter((x) => x.t <= tk + 1_000).at(-1)!;
      return new Map(victimParts.map((p) => [p, settledView.processed.get(p) ?? 0]));
    };
    const ownedBySurvivor = (x: Sample, p: number) => [...x.owned ?? []].some(([n, ps]) => n !== victim && ps.includes(p));
    const movedAll = (x: Sample) => x.t > tk + 1_000 && victimParts.every((p) => (x.processed.get(p) ?? 0) > processedAtKill().get(p)!);
    /** Caught up at sample i: its partitions' commits moved, and the lag stays under the threshold for the hold. */
    const caughtUpAt = (i: number, xs: Sample[]) => {
      if (!movedAll(xs[i]!)) return false;
      const hold = xs.slice(i).filter((x) => x.t - xs[i]!.t <= CAUGHT_UP_HOLD_MS);
      return hold.at(-1)!.t - xs[i]!.t >= CAUGHT_UP_HOLD_MS - SAMPLE_MS && hold.every((x) => lagOf(x) <= threshold);
    };
    let caughtUp: number | undefined;
    await sampleUntil(s, () => {
      const after = s.samples.filter((x) => x.t > tk);
      for (let i = 0; i < after.length && caughtUp === undefined; i++) if (caughtUpAt(i, after)) caughtUp = after[i]!.t;
      return caughtUp !== undefined || Date.now() - tk > KILL_BOUND * 1000;
    });
    loads.push(load1());
    await producer.stop();
    const after = s.samples.filter((x) => x.t > tk);
    const peak = after.reduce((a, x) => (lagOf(x) > lagOf(a) ? x : a), after[0]!);
    const row: KillRound = {
      members, rate_pps: rate, loadavg_1m: loads, settle_s: settleS, samples: s.samples.length, samples_missed: s.missed(),
      victim_partitions: victimParts, steady_lag: steady, caught_up_threshold: threshold,
      // The group's new generation: a survivor's owned partitions change (its pipelines restart on every assignment).
      rebalanced_s: firstAfter(s.samples, tk, tk, (x) => [...survivors].some(([n, ps]) => JSON.stringify(x.owned?.get(n) ?? []) !== JSON.stringify(ps))),
      owned_again_s: firstAfter(s.samples, tk, tk, (x) => victimParts.every((p) => ownedBySurvivor(x, p))),
      commits_moved_s: firstAfter(s.samples, tk, tk, movedAll),
      caught_up_s: caughtUp === undefined ? null : round((caughtUp - tk) / 1000, 2),
      lag_peak: lagOf(peak), lag_peak_s: round((peak.t - tk) / 1000, 2), kill_bound_s: KILL_BOUND,
      lag_series: s.samples.filter((x) => x.t >= warm).map((x) => [round((x.t - tk) / 1000, 2), lagOf(x)]),
      group_changes: groupChanges(s.samples.filter((x) => x.t >= tk - SAMPLE_MS * 2), tk),
    };
    log(`  kill round ${JSON.stringify({ ...row, lag_series: undefined })}`);
    return row;
  } finally {
    await s.close();
    await m.sup.stop(2_000);
    unhook();
    await run.close();
  }
}

/** The members' views (from /readyz) each time they changed: who owned what, when. */
function groupChanges(samples: Sample[], t0: number): [number, Record<string, number[]>][] {
  const out: [number, Record<string, number[]>][] = [];
  let last = '';
  for (const x of samples) {
    if (!x.owned) continue;
    const view = Object.fromEntries([...x.owned].sort(([a], [b]) => a.localeCompare(b)));
    const key = JSON.stringify(view);
    if (key !== last) out.push([round((x.t - t0) / 1000, 2), view]);
    last = key;
  }
  return out;
}

/** The largest rate whose kill round keeps every partition's log below what the mock cluster keeps. */
const retentionCap = () => Math.floor((0.75 * PARTITION_LIMIT * 4) / (3 + STEADY + KILL_BOUND + 5));

async function kills(onePps: number | undefined): Promise<Record<string, unknown>> {
  const cap = retentionCap();
  const wanted = KILL_RATE ?? (onePps ? Math.round(onePps * KILL_FRACTION) : RATE);
  const rateRule = KILL_RATE !== undefined ? '--kill-rate' : onePps ? `${KILL_FRACTION} × this run's 1-process throughput (${onePps}/s)` : `--rate (no throughput measured in this run)`;
  let rate = Math.min(wanted, cap);
  const halvings: { members: number; from_pps: number; steady_lag: ReturnType<typeof steadyLag> }[] = [];
  const byMembers: Record<string, unknown>[] = [];
  for (const members of KILL_MEMBERS) {
    const rounds: KillRound[] = [];
    let attempts = 0;
    while (rounds.length < KILLS && attempts++ < KILLS + 2) {
      const r = await tried(`kill round, ${members} members`, () => killRound(members, rate));
      if (!r) continue;
      if (!r.steady_lag.flat && halvings.length < 2) {
        // The members were falling behind before the kill: the rate is too high to measure a catch-up.
        halvings.push({ members, from_pps: rate, steady_lag: r.steady_lag });
        rate = Math.floor(rate / 2);
        rounds.length = 0;
        log(`  lag not flat before the kill: rate halved to ${rate}/s, ${members} members start over`);
        continue;
      }
      rounds.push(r);
    }
    const med = (k: 'rebalanced_s' | 'owned_again_s' | 'commits_moved_s' | 'caught_up_s') => {
      const xs = rounds.map((r) => r[k]);
      if (!xs.length) return null;
      return xs.every((x) => x !== null) ? median(xs as number[]) : `not within ${KILL_BOUND} s in ${xs.filter((x) => x === null).length} of ${xs.length}`;
    };
    byMembers.push({
      members, kills: rounds.length, rate_pps: rate,
      median_s: { rebalanced: med('rebalanced_s'), owned_again: med('owned_again_s'), commits_moved: med('commits_moved_s'), caught_up: med('caught_up_s') },
      median_lag_peak: median(rounds.map((r) => r.lag_peak)), median_steady_lag: median(rounds.map((r) => r.steady_lag.median)),
      rounds,
    });
  }
  return {
    rate_rule: rateRule, wanted_pps: wanted, retention_cap_pps: cap, rate_halvings: halvings, steady_s: STEADY, kill_bound_s: KILL_BOUND, sample_ms: SAMPLE_MS,
    caught_up_rule: `the dead member's partitions' commits moved and the lag stays ≤ max(1.25 × steady p95, steady p95 + 0.25 s of traffic) for ${CAUGHT_UP_HOLD_MS / 1000} s`,
    by_members: byMembers,
  };
}

// ---------- 4. fencing per insert ----------
/** The store with every insert timed (ms, by table); all else passed through as is. */
function timedStore(store: Store, times: Map<string, number[]>): Store {
  const timed = async (table: string, fn: () => Promise<void>) => {
    const t = performance.now();
    await fn();
    const xs = times.get(table) ?? [];
    xs.push(performance.now() - t);
    times.set(table, xs);
  };
  const insertEncoded = store.insertEncoded?.bind(store);
  return {
    cloud: store.cloud, database: store.database, encodedFormats: store.encodedFormats,
    migrate: () => store.migrate(),
    insert: (table, rows, o) => timed(table, () => store.insert(table, rows, o)),
    ...(insertEncoded ? { insertEncoded: (table: string, format: EncodedFormat, body: string | Uint8Array, columns?: readonly string[], o?: InsertOptions) => timed(table, () => insertEncoded(table, format, body, columns, o)) } : {}),
    query: (sql, o) => store.query(sql, o),
    command: (sql) => store.command(sql),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

/** The fence with every renewal timed (ms); all else passed through. */
function timedFence(fence: Fence, renewals: number[]): Fence {
  return {
    tryAcquire: (r, h, ttl) => fence.tryAcquire(r, h, ttl),
    acquire: (r, h, ttl, o) => fence.acquire(r, h, ttl, o),
    async renew(lease) {
      const t = performance.now();
      try {
        return await fence.renew(lease);
      } finally {
        renewals.push(performance.now() - t);
      }
    },
    release: (lease) => fence.release(lease),
    epoch: (r) => fence.epoch(r),
    ping: () => fence.ping(),
    close: () => fence.close(),
  };
}

interface AbRun {
  fence: 'on' | 'off'; rep?: number; wall_s: number; packets_per_s: number; store_retries: number; loadavg_1m: number;
  insert_ms: { packets: { n: number; median: number; p90: number }; traffic_flow: { n: number; median: number; p90: number } };
  renewals: { n: number; median_ms: number | null };
  /** Every timed insert (ms), pooled per side for the medians; not in the JSON. */
  raw: { packets: number[]; traffic_flow: number[] };
}

/** One batch through one in-process processor, with the Redis fence or without. */
async function inProcess(fenced: boolean, n = AB_PACKETS): Promise<AbRun> {
  const run = await freshRun();
  try {
    const times = new Map<string, number[]>();
    const renewals: number[] = [];
    const all = await run.rt.segments({
      segments: [run.segment], workers: 0, windowS: 10, allowedLatenessS: 5, stores: [timedStore(run.store, times)],
      ...(fenced ? { fence: timedFence(await run.rt.fence(), renewals) } : {}),
    });
    await all.start();
    // Until every partition is assigned, leased and recovered: start-up is not timed.
    for (const t = Date.now(); all.health().owned.length < run.start.size; await sleep(100)) {
      if (Date.now() - t > 90_000) throw new Error(`fence ${fenced ? 'on' : 'off'}: the processor owned ${JSON.stringify(all.health().owned)} after 90 s`);
    }
    const load = load1();
    times.clear();
    const t0 = Date.now();
    void produce(run, n, 0, Date.now() - 3_600_000, 10);
    const stored = async () => Number((await run.store.query<{ n: string }>(`SELECT count() AS n FROM packets WHERE segment = '${run.segment}'`))[0]?.n ?? 0);
    while ((await stored()) < n) {
      // A partition stopped (or the processor crashed) never stores the rest: say so now.
      const h = all.health();
      if (!h.live || h.stopped.length) throw new Error(`fence ${fenced ? 'on' : 'off'}: ${h.status}, stopped ${JSON.stringify(h.stopped)} ${all.stats()[0]?.crashed ?? ''}`);
      if (Date.now() - t0 > 600_000) throw new Error(`fence ${fenced ? 'on' : 'off'}: not every packet stored after 10 min`);
      await sleep(100);
    }
    const wallS = (Date.now() - t0) / 1000;
    const st = all.stats()[0]!;
    // The timed part's inserts and renewals only (the drain's flush of the last windows is not timed).
    const packetInserts = [...times.get('packets') ?? []];
    const flowInserts = [...times.get('traffic_flow') ?? []];
    const renewed = [...renewals];
    await all.drain({ timeoutMs: 300_000 });
    await all.stop();
    const dist = (xs: number[] = []) => ({ n: xs.length, median: round(median(xs), 2), p90: round(quantile(xs, 0.9), 2) });
    return {
      fence: fenced ? 'on' : 'off', wall_s: round(wallS), packets_per_s: Math.round(n / wallS), store_retries: st.storeRetries, loadavg_1m: load,
      insert_ms: { packets: dist(packetInserts), traffic_flow: dist(flowInserts) },
      renewals: { n: renewed.length, median_ms: renewed.length ? round(median(renewed), 2) : null },
      raw: { packets: packetInserts, traffic_flow: flowInserts },
    };
  } finally {
    await run.close();
  }
}

async function fencing(): Promise<Record<string, unknown>> {
  // Not measured: the first run in this process pays for compiling the bench's own produce path.
  const warmUp = await inProcess(false, Math.round(AB_PACKETS / 3));
  log(`  warm-up (not counted): ${JSON.stringify({ ...warmUp, raw: undefined })}`);
  const runs: AbRun[] = [];
  for (let i = 0; i < AB_REPS; i++) {
    for (const on of i % 2 ? [true, false] : [false, true]) {
      const r = await tried(`fencing A/B, fence ${on ? 'on' : 'off'}`, () => inProcess(on));
      if (!r) continue;
      r.rep = i;
      runs.push(r);
      log(`  fence ${r.fence}: ${JSON.stringify({ ...r, raw: undefined })}`);
    }
  }
  const side = (f: 'on' | 'off') => runs.filter((r) => r.fence === f);
  // Each rep's two runs ran back to back: their ratio cancels the box's drift between reps.
  const pairs = Array.from({ length: AB_REPS }, (_, i) => [runs.find((r) => r.rep === i && r.fence === 'on'), runs.find((r) => r.rep === i && r.fence === 'off')] as const)
    .flatMap(([on, off]) => (on && off ? [{ packets_per_s: on.packets_per_s / off.packets_per_s, insert_ms: on.insert_ms.packets.median / off.insert_ms.packets.median }] : []));
  const med = (f: 'on' | 'off', x: (r: AbRun) => number) => median(side(f).map(x));
  const pps = (f: 'on' | 'off') => med(f, (r) => r.packets_per_s);
  // Inserts pooled over a side's runs (a run has only tens of inserts: the processor combines them).
  const pooled = (f: 'on' | 'off', table: 'packets' | 'traffic_flow') => side(f).flatMap((r) => r.raw[table]);
  const ins = (f: 'on' | 'off') => round(median(pooled(f, 'packets')), 2);
  const flow = (f: 'on' | 'off') => round(median(pooled(f, 'traffic_flow')), 2);
  const p90 = (f: 'on' | 'off', table: 'packets' | 'traffic_flow') => round(quantile(pooled(f, table), 0.9), 2);
  // The part of the check that leaves the process: a renewal (one script call), timed alone.
  const fence = createRedisFence({ url: redisEndpoint(topo, state).url, keyPrefix: `bench:${rnd()}:` });
  const lease = await fence.tryAcquire('r', 'bench', 10_000);
  if (!isLease(lease)) throw new Error('bench lease refused');
  const times: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const s = performance.now();
    await fence.renew(lease);
    times.push(performance.now() - s);
  }
  await fence.release(lease);
  await fence.close();
  const inRun = side('on').flatMap((r) => (r.renewals.median_ms === null ? [] : [r.renewals.median_ms]));
  return {
    packets_per_run: AB_PACKETS, reps_each: AB_REPS, ab: runs.map(({ raw: _, ...r }) => r),
    median_packets_per_s: { on: pps('on'), off: pps('off') }, ratio_on_to_off: round(pps('on') / pps('off'), 3),
    paired_ratios_on_to_off: { packets_per_s: pairs.map((x) => round(x.packets_per_s, 3)), median_packets_per_s: round(median(pairs.map((x) => x.packets_per_s)), 3), median_insert_ms: round(median(pairs.map((x) => x.insert_ms)), 3) },
    median_insert_ms_packets: { on: ins('on'), off: ins('off'), inserts: { on: pooled('on', 'packets').length, off: pooled('off', 'packets').length } },
    p90_insert_ms_packets: { on: p90('on', 'packets'), off: p90('off', 'packets') },
    insert_ratio_on_to_off: round(ins('on') / ins('off'), 3),
    median_insert_ms_traffic_flow: { on: flow('on'), off: flow('off'), inserts: { on: pooled('on', 'traffic_flow').length, off: pooled('off', 'traffic_flow').length } },
    insert_ratio_traffic_flow_on_to_off: round(flow('on') / flow('off'), 3),
    renewals_in_fenced_runs: { per_run: side('on').map((r) => r.renewals.n), median_of_run_medians_ms: inRun.length ? median(inRun) : null },
    renew_round_trip_ms: { median: round(median(times), 3), p99: round(quantile(times, 0.99), 3), n: times.length, loadavg_1m: load1() },
    note: 'an insert is timed from the processor\'s call into the store to its answer (a combined INSERT: until the shared statement is answered). Before each insert the fence check compares the lease with the local clock and passes a deadline (3 s); it calls Redis (a renewal) only when less than the deadline is left of the 10 s lease, which the background renewal every 2.5 s per partition prevents',
  };
}

const t0 = Date.now();
const rows: Record<string, unknown>[] = [];
if (ONLY.has('throughput')) {
  for (const p of PROCESSES) {
    const row = await tried(`throughput, ${p} processes`, () => throughput(p));
    if (row) rows.push(row);
  }
}
const where = ONLY.has('profile') ? await tried('profile', profile) : undefined;
const rebalance = ONLY.has('rebalances') ? await tried('rebalances', rebalances) : undefined;
const base = rows.find((r) => r.processes === 1) as { packets_per_s: number } | undefined;
const kill = ONLY.has('kills') ? await tried('kills', () => kills(base?.packets_per_s)) : undefined;
const fence = ONLY.has('fencing') ? await tried('fencing', fencing) : undefined;
const result = {
  bench: 'scaleout', at: new Date().toISOString(), machine: machineInfo(), wall_s: Math.round((Date.now() - t0) / 1000), failures,
  config: {
    segment: SEGMENT, packets: N, processes: PROCESSES, workers_per_process: 0, rate_pps: RATE, phase_s: PHASE,
    kill_members: KILL_MEMBERS, kills: KILLS, steady_s: STEADY, kill_bound_s: KILL_BOUND, kill_fraction: KILL_FRACTION, ab_reps: AB_REPS, ab_packets: AB_PACKETS,
  },
  throughput: rows.map((r) => ({ ...r, ratio_to_1: base ? round((r as { packets_per_s: number }).packets_per_s / base.packets_per_s) : null })),
  where_cpu_goes: where, rebalances: rebalance, kills: kill, fencing: fence,
};
mkdirSync(RESULTS_DIR, { recursive: true });
const stem = join(RESULTS_DIR, `${result.at.slice(0, 10)}-scaleout`);
writeFileSync(`${stem}.json`, `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(`${stem}.md`, markdown(result));
// A part that failed is in the results (`failures`) and fails the bench.
if (failures.length) process.exitCode = 1;
process.stdout.write(`${JSON.stringify({ ...result, kills: kill ? { ...kill, by_members: (kill.by_members as Record<string, unknown>[]).map((b) => ({ ...b, rounds: undefined })) } : undefined })}\n`);

function markdown(r: typeof result): string {
  type Row = { processes: number; packets_per_s: number; ratio_to_1: number; wall_s: number; produce_s: number; loadavg_1m_at_start: number; loadavg_1m_at_end: number; cpu_us_per_packet: { per_process: number[]; segment_processes_total: number; clickhouse: number; kafka_mock: number }; cpu_share_of_2_cores: number };
  type KillSummary = { members: number; rate_pps: number; median_s: Record<string, unknown>; median_lag_peak: number; median_steady_lag: number; rounds: KillRound[] };
  const k = r.kills as { rate_rule: string; retention_cap_pps: number; rate_halvings: unknown[]; caught_up_rule: string; by_members: KillSummary[] } | undefined;
  const f = r.fencing as { median_packets_per_s: { on: number; off: number }; ratio_on_to_off: number; paired_ratios_on_to_off: { packets_per_s: number[]; median_packets_per_s: number; median_insert_ms: number }; median_insert_ms_packets: { on: number; off: number }; p90_insert_ms_packets: { on: number; off: number }; insert_ratio_on_to_off: number; median_insert_ms_traffic_flow: { on: number; off: number }; renew_round_trip_ms: Record<string, number>; renewals_in_fenced_runs: unknown; ab: Omit<AbRun, 'raw'>[] } | undefined;
  const s = (x: unknown) => (x === null ? '—' : String(x));
  return [
    `# scaleout ${r.at}`, '', `machine: ${JSON.stringify(r.machine)}`, '',
    ...(r.failures.length ? ['Failed parts:', '', ...r.failures.map((x) => `- ${x.part}: ${x.error}`), ''] : []),
    '## Throughput', '',
    '| processes | packets/s | ratio to 1 | load 1 m (start/end) | produce s | wall s | CPU µs/packet per process | all processes | ClickHouse | Kafka mock | share of 2 cores |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...(r.throughput as unknown as Row[]).map((x) => `| ${x.processes} | ${x.packets_per_s} | ${x.ratio_to_1} | ${x.loadavg_1m_at_start} / ${x.loadavg_1m_at_end} | ${x.produce_s} | ${x.wall_s} | ${x.cpu_us_per_packet.per_process.join(' / ')} | ${x.cpu_us_per_packet.segment_processes_total} | ${x.cpu_us_per_packet.clickhouse} | ${x.cpu_us_per_packet.kafka_mock} | ${x.cpu_share_of_2_cores} |`),
    '', `Where a process's CPU goes: ${JSON.stringify(r.where_cpu_goes)}`, '',
    `## Rebalances at ${RATE} packets/s`, '', `${JSON.stringify(r.rebalances)}`, '',
    '## Kill → caught up', '',
    ...(k ? [
      `Rate: ${k.rate_rule}, capped at ${k.retention_cap_pps}/s (the mock cluster's log per partition); halvings: ${JSON.stringify(k.rate_halvings)}. Caught up: ${k.caught_up_rule}.`, '',
      '| members | rate /s | kill | load 1 m | victim partitions | steady lag median / p95 (flat) | rebalanced s | owned again s | commits moved s | caught up s | lag peak (at s) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...k.by_members.flatMap((b) => [
        ...b.rounds.map((x, i) => `| ${b.members} | ${x.rate_pps} | ${i + 1} | ${x.loadavg_1m.join(' / ')} | ${x.victim_partitions.join(',')} | ${x.steady_lag.median} / ${x.steady_lag.p95} (${x.steady_lag.flat ? 'yes' : 'no'}) | ${s(x.rebalanced_s)} | ${s(x.owned_again_s)} | ${s(x.commits_moved_s)} | ${x.caught_up_s === null ? `not within ${x.kill_bound_s} s` : x.caught_up_s} | ${x.lag_peak} (${x.lag_peak_s}) |`),
        `| **${b.members}** | ${b.rate_pps} | **median** | | | ${b.median_steady_lag} | ${s(b.median_s.rebalanced)} | ${s(b.median_s.owned_again)} | ${s(b.median_s.commits_moved)} | ${s(b.median_s.caught_up)} | ${b.median_lag_peak} |`,
      ]),
    ] : ['not run']),
    '', '## Fencing per insert (A/B, in-process processor)', '',
    ...(f ? [
      '| fence | run | packets/s | insert ms packets median / p90 (n) | insert ms traffic_flow median (n) | renewals (median ms) | store retries | load 1 m |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...f.ab.map((x, i) => `| ${x.fence} | ${i + 1} | ${x.packets_per_s} | ${x.insert_ms.packets.median} / ${x.insert_ms.packets.p90} (${x.insert_ms.packets.n}) | ${x.insert_ms.traffic_flow.median} (${x.insert_ms.traffic_flow.n}) | ${x.renewals.n} (${s(x.renewals.median_ms)}) | ${x.store_retries} | ${x.loadavg_1m} |`),
      '',
      `Medians: packets/s on ${f.median_packets_per_s.on}, off ${f.median_packets_per_s.off}, ratio ${f.ratio_on_to_off} (median of the reps' paired ratios ${f.paired_ratios_on_to_off.median_packets_per_s}, each ${f.paired_ratios_on_to_off.packets_per_s.join(', ')}); insert ms (packets, every insert of a side pooled) on ${f.median_insert_ms_packets.on}, off ${f.median_insert_ms_packets.off}, ratio ${f.insert_ratio_on_to_off} (p90 on ${f.p90_insert_ms_packets.on}, off ${f.p90_insert_ms_packets.off}); traffic_flow on ${f.median_insert_ms_traffic_flow.on}, off ${f.median_insert_ms_traffic_flow.off}. Renewal round trip alone: ${JSON.stringify(f.renew_round_trip_ms)}.`,
    ] : ['not run']),
    '',
  ].join('\n');
}
