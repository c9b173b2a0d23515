// Scale-out bench (`iov bench scaleout`): one segment (north) processed by 1, 2 and 3
// `iov segment` processes of one consumer group, on the local servers (`iov infra up`,
// IOV_STATE_DIR). Every scenario is a run of its own (the segment renamed north_<run>: own
// topic, group, lease keys and databases), opened through the composition root. Prints JSON
// and writes bench/results/<date>-scaleout.{json,md}; the load average is kept beside every
// rate (the box is shared).
//
//   flock /work/bench.lock nice npx tsx bench/scaleout.ts [--packets 60000] [--processes 1,2,3] [--rate 1000] [--phase 15] [--ab-reps 3] [--only throughput,profile,rebalances,fencing]
//
// 1. throughput: P processes start and their group settles; then N packets are produced and
//    timed from the produce's start until every one is stored (produce time reported beside).
//    CPU (from /proc) of each process and of the servers (the segment cloud's ClickHouse, the
//    Kafka mock cluster) over that interval, as µs per packet. On 2 cores the rate is expected
//    to stay flat. Then one more 1-process run under --cpu-prof: where a process's CPU goes,
//    by module.
// 2. rebalances under a steady producer: 2 processes for a phase; a 3rd joins (a phase after it
//    is ready), leaves (SIGTERM, a phase); one is SIGKILLed (its supervisor restarts it) until
//    the lag is back. Sampled every 250 ms: lag,
//    the committed offsets (consumed messages) and the stored packet rows. Per event: the
//    longest time neither moved (the pause it causes), and for the kill the time until the lag
//    is back to its level before.
// 3. fencing per insert: the same batch through one in-process processor with the Redis
//    lease fence and without it (A/B, alternating, medians), and the Redis round trip of a
//    lease renewal, the only part of the check that leaves the process.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latLngToCell } from 'h3-js';
import { GROUP_TIMINGS, type Bus, type ProduceRecord } from '../src/bus/index.ts';
import { collectLines, drainUntilCommitted, endOffsets, runTopology, seekGroup, type Offsets } from '../src/chaos/index.ts';
import { createRedisFence, isLease } from '../src/fence/index.ts';
import { createSupervisor, READY_LINES, type Supervisor } from '../src/local/index.ts';
import { openRuntime, type Runtime } from '../src/runtime/index.ts';
import { enrichedPacketCodec, type EnrichedPacket } from '../src/schemas/index.ts';
import type { Store } from '../src/store/index.ts';
import { DEFAULT_TOPOLOGY_FILE, loadTopology, readLocalState, redisEndpoint, segmentGroup, segmentTopic, stateFile } from '../src/topology/index.ts';
import { machineInfo, RESULTS_DIR } from './run.ts';

const argv = process.argv.slice(2);
const arg = (f: string, d: string): string => { const k = argv.indexOf(f); return k >= 0 ? argv[k + 1]! : d; };
const N = Number(arg('--packets', '60000')); // the mock cluster keeps ~40 000 messages per partition
const PROCESSES = arg('--processes', '1,2,3').split(',').map(Number);
const RATE = Number(arg('--rate', '1000'));
/** Length of each phase of the rebalance scenario, seconds. */
const PHASE = Number(arg('--phase', '15'));
const AB_REPS = Number(arg('--ab-reps', '3'));
/** Parts to run (default all): throughput,profile,rebalances,fencing. */
const ONLY = new Set(arg('--only', 'throughput,profile,rebalances,fencing').split(','));
const SEGMENT = 'north';
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)] ?? 0; };
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
function cpuS(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return 0;
  }
}

async function committed(run: Run): Promise<Offsets> {
  const reader = run.bus.consumer({ groupId: run.group, topics: [run.topic] });
  const out = new Map((await reader.committed(run.topic)).map((c) => [c.partition, Number(c.offset)]));
  await reader.stop();
  return out;
}

function segmentProcesses(run: Run, p: number, o: { lines?: ReturnType<typeof collectLines>; names?: string; nodeArgs?: string[] } = {}): Supervisor {
  return createSupervisor({
    ...(o.lines ? { onLine: o.lines.on } : {}),
    specs: Array.from({ length: p }, (_, i) => ({
      name: `${o.names ?? 'segment'}-${i + 1}`,
      args: ['segment', '--id', run.segment, '--workers', '0', '--window', '10', '--lateness', '5', '--topology', run.topologyFile],
      env: { IOV_LOG_LEVEL: 'warn' }, ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}), ready: READY_LINES.segment,
    })),
    log: (l) => log(`  ${l}`),
    onStderr: () => {},
  });
}

// ---------- 1. throughput with P processes ----------
async function throughput(p: number, profileDir?: string): Promise<Record<string, unknown>> {
  const run = await freshRun();
  const lines = collectLines();
  const sup = segmentProcesses(run, p, { lines, ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}) });
  try {
    // The group first: every member ready, then long enough for the last joiner's rebalance
    // (the mock cluster waits 3 s after a first join, 5 s after a later one), so the batch
    // is processed by P members and not by whoever came first.
    const t0 = Date.now();
    await sup.start();
    const readyS = round((Date.now() - t0) / 1000, 1);
    await sleep(12_000);
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
      processes: p, packets: N, ready_s: readyS, produce_s: round((producedAt - tp) / 1000, 2), wall_s: round(wallS, 2), packets_per_s: Math.round(N / wallS),
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

// ---------- 2. join, leave and kill under a steady producer ----------
interface Sample { t: number; lag: number; committed: number; stored: number }

/** The longest stretch after `from` (until `to`) in which `key` did not move while there was lag. */
function longestPause(samples: Sample[], from: number, to: number, key: 'committed' | 'stored'): number {
  const xs = samples.filter((s) => s.t >= from && s.t < to);
  let longest = 0;
  let last = xs[0]?.t ?? from;
  for (let i = 1; i < xs.length; i++) {
    if (xs[i]![key] !== xs[i - 1]![key] || xs[i]!.lag === 0) last = xs[i]!.t;
    else longest = Math.max(longest, xs[i]!.t - last);
  }
  return round(longest / 1000, 1);
}

async function rebalances(): Promise<Record<string, unknown>> {
  const run = await freshRun();
  const sup = segmentProcesses(run, 2);
  const joiner = segmentProcesses(run, 1, { names: 'joiner' });
  const killAll = () => { for (const m of [...sup.members(), ...joiner.members()]) if (m.pid) try { process.kill(m.pid, 'SIGKILL'); } catch { /* gone */ } };
  process.once('exit', killAll);
  try {
    await sup.start();
    await sleep(4_000); // the first generation (the mock cluster waits 3 s for more members)
    const t0 = Date.now();
    const samples: Sample[] = [];
    let produced = 0;
    let producing = true;
    const producer = (async () => {
      while (producing) {
        const due = Math.floor(((Date.now() - t0) / 1000) * RATE) - produced;
        if (due > 0) {
          await produce(run, due, produced, t0, 1000 / RATE); // event time = wall time
          produced += due;
        }
        await sleep(100);
      }
    })();
    let missed = 0;
    const sample = async () => {
      try {
        const [end, c, rows] = await Promise.all([endOffsets(run.bus, run.topic), committed(run), run.store.query<{ n: string }>(`SELECT count() AS n FROM packets WHERE segment = '${run.segment}'`)]);
        samples.push({ t: Date.now(), lag: sum(end) - sum(c), committed: sum(c), stored: Number(rows[0]?.n ?? 0) });
      } catch (err) {
        // A look-up that timed out on the loaded box is a sample missed, counted, not the end of the bench.
        missed++;
        log(`  sample missed: ${(err as Error).message}`);
      }
    };
    /** Sample every 250 ms until `until()` holds. */
    const phase = async (until: () => boolean) => {
      while (!until()) {
        await sample();
        await sleep(250);
      }
    };
    const loads: number[] = [];
    const done = { join: 0, joinerReady: 0, leave: 0, kill: 0, end: 0 };
    // Phases: steady with 2 processes; a 3rd joins (until PHASE after it is ready); it leaves
    // (SIGTERM); one of the first two is SIGKILLed and restarted, until the lag is back.
    await phase(() => Date.now() - t0 >= PHASE * 1000);
    const baseline = median(samples.filter((s) => s.t > t0 + 3_000).map((s) => s.lag));
    const threshold = Math.max(baseline * 1.5, RATE * 0.5);
    loads.push(load1());
    done.join = Date.now();
    log('  join: a third process starts');
    void joiner.start().then(() => { done.joinerReady = Date.now(); log(`  joiner ready (pid ${joiner.members()[0]!.pid})`); }, (err: Error) => log(`  joiner failed: ${err.message}`));
    await phase(() => (done.joinerReady > 0 && Date.now() - done.joinerReady >= PHASE * 1000) || Date.now() - done.join > 120_000);
    loads.push(load1());
    done.leave = Date.now();
    log(`  leave: SIGTERM joiner (pid ${joiner.members()[0]!.pid})`);
    void joiner.stop();
    await phase(() => Date.now() - done.leave >= PHASE * 1000);
    loads.push(load1());
    done.kill = Date.now();
    log(`  kill: SIGKILL segment-1 (pid ${sup.members()[0]!.pid})`);
    sup.signal('segment-1', 'SIGKILL');
    let caughtUp: number | undefined;
    await phase(() => {
      const after = samples.filter((s) => s.t >= done.kill + 1_000);
      for (let i = 0; i < after.length && caughtUp === undefined; i++) {
        const rest = after.slice(i).filter((s) => s.t - after[i]!.t <= 2_000);
        if (rest.at(-1)!.t - after[i]!.t >= 2_000 && rest.every((s) => s.lag <= threshold)) caughtUp = after[i]!.t - done.kill;
      }
      return caughtUp !== undefined || Date.now() - done.kill > 4 * PHASE * 1000;
    });
    done.end = Date.now();
    loads.push(load1());
    producing = false;
    await producer;
    await joiner.stop();
    await sup.stop();
    const afterKill = samples.filter((s) => s.t >= done.kill);
    const pauses = (from: number, to: number) => ({ consumed_s: longestPause(samples, from, to, 'committed'), stored_s: longestPause(samples, from, to, 'stored') });
    const row = {
      rate_pps: RATE, phase_s: PHASE, sample_ms: 250, samples: samples.length, samples_missed: missed, loadavg_1m_at_phases: loads,
      steady_2_processes: pauses(t0 + 3_000, done.join),
      join: { ...pauses(done.join, done.leave), joiner_start_s: done.joinerReady ? round((done.joinerReady - done.join) / 1000, 1) : null },
      leave: pauses(done.leave, done.kill), kill: pauses(done.kill, done.end + 1),
      lag_before_median: baseline, lag_max_after_kill: Math.max(...afterKill.map((s) => s.lag)),
      kill_to_caught_up_s: caughtUp === undefined ? null : round(caughtUp / 1000, 1), caught_up_threshold: threshold,
      restarts: sup.members().map((m) => m.restarts),
    };
    log(`rebalances ${JSON.stringify(row)}`);
    return row;
  } finally {
    await Promise.all([joiner.stop(2_000), sup.stop(2_000)]);
    process.off('exit', killAll);
    await run.close();
  }
}

// ---------- 3. fencing per insert ----------
/** One batch through one in-process processor, with the Redis fence or without. */
async function inProcess(fenced: boolean): Promise<{ wall_s: number; packets_per_s: number; batches: number; loadavg_1m: number }> {
  const run = await freshRun();
  try {
    const all = await run.rt.segments({ segments: [run.segment], workers: 0, windowS: 10, allowedLatenessS: 5, ...(fenced ? { fence: await run.rt.fence() } : {}) });
    await all.start();
    await sleep(5_000); // the group's first join (the mock cluster waits 3 s for more members)
    const load = load1();
    const n = N / 2;
    const t0 = Date.now();
    void produce(run, n, 0, Date.now() - 3_600_000, 10);
    const stored = async () => Number((await run.store.query<{ n: string }>(`SELECT count() AS n FROM packets WHERE segment = '${run.segment}'`))[0]?.n ?? 0);
    while ((await stored()) < n) {
      if (Date.now() - t0 > 600_000) throw new Error(`fence ${fenced ? 'on' : 'off'}: not every packet stored after 10 min`);
      await sleep(100);
    }
    const wallS = (Date.now() - t0) / 1000;
    const st = all.stats()[0]!;
    await all.drain({ timeoutMs: 300_000 });
    await all.stop();
    return { wall_s: round(wallS), packets_per_s: Math.round(n / wallS), batches: st.batches, loadavg_1m: load };
  } finally {
    await run.close();
  }
}

async function fencing(): Promise<Record<string, unknown>> {
  const runs: { fence: 'on' | 'off'; wall_s: number; packets_per_s: number; batches: number; loadavg_1m: number }[] = [];
  for (let i = 0; i < AB_REPS; i++) {
    for (const on of i % 2 ? [true, false] : [false, true]) {
      const r = await inProcess(on);
      runs.push({ fence: on ? 'on' : 'off', ...r });
      log(`  fence ${on ? 'on' : 'off'}: ${JSON.stringify(r)}`);
    }
  }
  const med = (f: 'on' | 'off') => median(runs.filter((r) => r.fence === f).map((r) => r.packets_per_s));
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
  return {
    ab: runs, median_packets_per_s: { on: med('on'), off: med('off') }, ratio_on_to_off: round(med('on') / med('off'), 3),
    renew_round_trip_ms: { median: round(median(times), 3), p99: round([...times].sort((a, b) => a - b)[Math.floor(times.length * 0.99)]!, 3) },
    note: 'before each insert the check compares the lease with the local clock; it calls Redis (a renewal) only when less than the write deadline (3 s) is left of the 10 s lease, which the background renewal every 2.5 s per partition prevents',
  };
}

const t0 = Date.now();
const rows = [];
if (ONLY.has('throughput')) for (const p of PROCESSES) rows.push(await throughput(p));
const where = ONLY.has('profile') ? await profile() : undefined;
const rebalance = ONLY.has('rebalances') ? await rebalances() : undefined;
const fence = ONLY.has('fencing') ? await fencing() : undefined;
const base = rows.find((r) => r.processes === 1) as { packets_per_s: number } | undefined;
const result = {
  bench: 'scaleout', at: new Date().toISOString(), machine: machineInfo(), wall_s: Math.round((Date.now() - t0) / 1000),
  config: { segment: SEGMENT, packets: N, processes: PROCESSES, workers_per_process: 0, rate_pps: RATE, phase_s: PHASE, ab_reps: AB_REPS },
  throughput: rows.map((r) => ({ ...r, ratio_to_1: base ? round((r as { packets_per_s: number }).packets_per_s / base.packets_per_s) : null })),
  where_cpu_goes: where, rebalances: rebalance, fencing: fence,
};
mkdirSync(RESULTS_DIR, { recursive: true });
const stem = join(RESULTS_DIR, `${result.at.slice(0, 10)}-scaleout`);
writeFileSync(`${stem}.json`, `${JSON.stringify(result, null, 2)}\n`);
type Row = { processes: number; packets_per_s: number; ratio_to_1: number; wall_s: number; loadavg_1m_at_start: number; loadavg_1m_at_end: number; cpu_us_per_packet: { per_process: number[]; segment_processes_total: number; clickhouse: number; kafka_mock: number }; cpu_share_of_2_cores: number };
const md = [
  `# scaleout ${result.at}`, '', `machine: ${JSON.stringify(result.machine)}`, '',
  '| processes | packets/s | ratio to 1 | load 1 m (start/end) | wall s | CPU µs/packet per process | all processes | ClickHouse | Kafka mock | share of 2 cores |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...(result.throughput as unknown as Row[]).map((x) => `| ${x.processes} | ${x.packets_per_s} | ${x.ratio_to_1} | ${x.loadavg_1m_at_start} / ${x.loadavg_1m_at_end} | ${x.wall_s} | ${x.cpu_us_per_packet.per_process.join(' / ')} | ${x.cpu_us_per_packet.segment_processes_total} | ${x.cpu_us_per_packet.clickhouse} | ${x.cpu_us_per_packet.kafka_mock} | ${x.cpu_share_of_2_cores} |`),
  '', `where a process's CPU goes: ${JSON.stringify(where)}`, '', `rebalances under ${RATE} packets/s: ${JSON.stringify(rebalance)}`, '', `fencing: ${JSON.stringify(fence)}`, '',
].join('\n');
writeFileSync(`${stem}.md`, md);
process.stdout.write(`${JSON.stringify(result)}\n`);
