// End-to-end bench (issues 7, 22): the pipeline as deployed, every component its own OS
// process, driven OPEN LOOP at stepped offered rates until the knee. Private servers are
// started here through src/infra in a temp folder (Kafka mock cluster, redis-server, one
// clickhouse-server per cloud) and stopped by PID at the end.
//
//   flock /work/bench.lock nice -n 5 npx tsx bench/e2e.ts [--steps 5000,10000,20000,30000,40000] [--seconds 10] [--max-step-packets 240000]
//        [--segment-processes 1] [--gateways 1] [--embedded-seconds 10 (0: skip)] [--write 0]
//        [--segment-args "--fetch-interval 0"] [--segment-env K=V,…] [--profile-dir DIR (segment CPU profiles)]
//   (env for `iov bench e2e`: IOV_BENCH_STEPS, IOV_BENCH_STEP_SECONDS)
//
// Per step, on fresh topics, groups and databases (segments renamed <id>_<run>, as the chaos
// demo does, so a step never reads an earlier step's log):
//   1. G `iov gateway` and P `iov segment --all` processes start (src/local supervisor);
//   2. a SEPARATE load process (this file with --load) runs the seeded fleet simulator at the
//      step's fixed rate: requests of 500 packets are due at k·500/rate s whatever the answers
//      (up to 256 in flight, so the pacing is open loop until the gateway stops answering);
//   3. every 250 ms the bench samples the consumer lag (log end − committed, all partitions),
//      the store lag (log ends − stored rows: the segments commit only after their windows
//      flush, so this is the lag that says whether processing keeps up)
//      and, per cloud, max(ingest_ts_ms) of the stored packets: staleness = now − that max,
//      the age of the newest queryable packet, i.e. the ingest→queryable delay (±250 ms);
//   4. after the load, the segments are drained (SIGUSR2) until every partition is committed.
// Reported per step: offered and accepted packets/s, stored packets/s (stored rows / time from
// the load's start to the last commit), lag (max, at the end of the load), staleness p50/p99
// over the load's second half, and CPU µs per accepted packet of EVERY process (from
// /proc/<pid>/stat before and after the load + drain). CPU per packet does not depend on the
// other load on the box; the rates do. A step "kept up" when every packet sent was accepted,
// the load finished within 1.25 × the step + 2 s and the store lag at the load's end is ≤ 2 s
// of traffic; it is "ok" when it kept up and the staleness p99 ≤ 2 s. The steps go up until one
// does not keep up. `local.sustainedPacketsPerSec` is the stored rate of the highest ok step
// (the knee); `throughputKneeStoredPerSec` that of the highest step that kept up. The embedded
// pipeline (in-memory bus and state, chDB) runs the same fleet in the same run as a baseline.
// The mock cluster keeps ~40 000 messages per partition: a step whose partition end passes that
// is flagged (`wrapRisk`), and stored < accepted fails the step loudly.
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafkaBus, GROUP_TIMINGS } from '../src/bus/index.ts';
import { collectLines, drainUntilCommitted, endOffsets, freePort, runTopology } from '../src/chaos/index.ts';
import { runPipeline } from '../src/embedded/index.ts';
import { infraDown, infraUp } from '../src/infra/index.ts';
import { createSupervisor, READY_LINES, type Supervisor } from '../src/local/index.ts';
import { runSimulation, type SimulationReport } from '../src/sim/index.ts';
import { createClickHouseStore, type Store } from '../src/store/index.ts';
import { clickhouseEndpoint, DEFAULT_TOPOLOGY_FILE, kafkaEndpoint, loadTopology, readLocalState, segmentGroup, segmentTopic, stateFile, storageClouds } from '../src/topology/index.ts';
import { machineInfo, procCpuSeconds, RESULTS_DIR } from './run.ts';

const argv = process.argv.slice(2);
const flag = (f: string, env: string | undefined, d: string): string => { const k = argv.indexOf(`--${f}`); return k >= 0 ? argv[k + 1]! : env ?? d; };
const STEPS = flag('steps', process.env.IOV_BENCH_STEPS, '5000,10000,20000,30000,40000').split(',').map(Number);
const STEP_S = Number(flag('seconds', process.env.IOV_BENCH_STEP_SECONDS, '10'));
/**
 * Packets per step at most: a step runs min(--seconds, this / rate) s. The fleet's busiest
 * partition gets ~15 % of the packets (max partition end / packets in earlier runs: 0.151),
 * and the mock cluster keeps ~40 000 messages per partition: 240 000 keeps it near 36 000.
 */
const MAX_STEP_PACKETS = Number(flag('max-step-packets', undefined, '240000'));
const stepSeconds = (rate: number): number => Math.min(STEP_S, Math.floor((10 * MAX_STEP_PACKETS) / rate) / 10);
const SEG_PROCS = Number(flag('segment-processes', undefined, '1'));
const GATEWAYS = Number(flag('gateways', undefined, '1'));
const EMBEDDED_S = Number(flag('embedded-seconds', undefined, '10'));
const WRITE = flag('write', undefined, '1') !== '0';
/** A/B runs: extra arguments (`--segment-args "--fetch-interval 0"`) and environment (`--segment-env K=V,K2=V2`) of the segment processes, and a folder for their V8 CPU profiles. */
const SEGMENT_ARGS = flag('segment-args', undefined, '').split(' ').filter(Boolean);
const SEGMENT_ENV = Object.fromEntries(flag('segment-env', undefined, '').split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const PROFILE_DIR = flag('profile-dir', undefined, '');
const CPU_PROFILE_PRELOAD = fileURLToPath(new URL('./cpu-profile.mjs', import.meta.url));
const VEHICLES = 20_000;
const BATCH = 500;
const MAX_IN_FLIGHT = 256;
const PARTITION_LIMIT = 40_000;
const SAMPLE_MS = 250;
const LOOKUP_CALIBRATION_ROUNDS = 20;
if (STEPS.some((r) => !(r > 0)) || !(STEP_S > 0) || !(EMBEDDED_S >= 0) || !(MAX_STEP_PACKETS > 0)) throw new Error(`--steps: positive rates, comma separated; --seconds > 0 (got ${STEPS.join(',')} / ${STEP_S})`);

const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} e2e: ${s}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN; };

/** A bench look-up, tried up to 3 times (kafkajs' admin fails now and then on a loaded box). */
async function retried<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 3) throw err;
      await sleep(300);
    }
  }
}

// ------------------------------------------------------------------ load (separate process)
async function load(): Promise<void> {
  const [targets, apiKey, rate, seconds, prefix] = [flag('targets', undefined, ''), flag('api-key', undefined, ''), Number(flag('rate', undefined, '0')), Number(flag('duration', undefined, '0')), flag('prefix', undefined, 'e2e')];
  const c0 = process.cpuUsage(); // after the imports: the simulator's own CPU only
  const report = await runSimulation({
    targets: targets.split(','), apiKey, vehicles: VEHICLES, seed: 7, idPrefix: prefix, rate, durationS: seconds,
    batchSize: BATCH, concurrency: MAX_IN_FLIGHT, timeoutMs: 10_000, retries: 3,
    fractions: { duplicate: 0, outOfOrder: 0, late: 0, malformed: 0 },
  });
  const u = process.cpuUsage(c0);
  process.send!({ ...report, cpuS: (u.user + u.system) / 1e6 });
  process.disconnect?.();
}

type LoadReport = SimulationReport & { cpuS: number };
function runLoad(args: string[]): { pid: number; done: Promise<LoadReport> } {
  const child = fork(fileURLToPath(import.meta.url), ['--load', ...args], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const done = new Promise<LoadReport>((resolve, reject) => {
    let got: LoadReport | undefined;
    child.on('message', (m) => { got = m as LoadReport; });
    child.on('exit', (code) => (got ? resolve(got) : reject(new Error(`load process exited ${code} without a report`))));
  });
  return { pid: child.pid!, done };
}

// ------------------------------------------------------------------ ClickHouse server work
const EVENTS = ['InsertQuery', 'InsertedRows', 'SelectQuery', 'MergedRows', 'MergesTimeMilliseconds'] as const;
type ServerWork = Record<(typeof EVENTS)[number], number> & { rowsPerInsert: number };

async function serverEvents(store: Store): Promise<Record<string, number>> {
  const rows = await store.query<{ event: string; value: string }>(`SELECT event, value FROM system.events WHERE event IN (${EVENTS.map((e) => `'${e}'`).join(', ')})`);
  return Object.fromEntries(rows.map((r) => [r.event, Number(r.value)]));
}

function eventDeltas(before: Record<string, number>, after: Record<string, number>): ServerWork {
  const d = Object.fromEntries(EVENTS.map((e) => [e, (after[e] ?? 0) - (before[e] ?? 0)])) as Record<(typeof EVENTS)[number], number>;
  return { ...d, rowsPerInsert: round(d.InsertedRows / Math.max(1, d.InsertQuery), 0) };
}

// ------------------------------------------------------------------ one step
interface Step {
  offeredPerSec: number;
  /** The step's length: min(--seconds, --max-step-packets / rate). */
  seconds: number;
  /** The simulator's own clock, start to last answer (on schedule: ≈ the step's seconds). */
  loadSeconds: number;
  sent: number;
  accepted: number;
  failedBatches: number;
  acceptedPerSec: number;
  stored: number;
  storedPerSec: number;
  /** Committed offsets behind the log end (the segments commit after their windows' flushes). */
  lag: { max: number; atLoadEnd: number };
  /** Records in the log not yet stored as rows (log ends − stored rows): the bounded-lag test. */
  storeLag: { max: number; atLoadEnd: number; maxAllowed: number };
  stalenessMs: { samples: number; p50: number; p99: number; max: number };
  drainS: number;
  maxPartitionEnd: number;
  wrapRisk: boolean;
  /** CPU µs per accepted packet, load + drain (all the work the step caused). */
  cpuUsPerPacket: Record<string, number>;
  /** The same over the load alone (work not yet done at its end is missing). */
  cpuUsPerPacketDuringLoad: Record<string, number>;
  cpuUsPerPacketTotal: number;
  /** The ClickHouse servers' CPU for the bench's own look-ups (calibrated before the load), and the figures without it. */
  benchLookups: { rounds: number; cpuMsPerRound: Record<string, number>; cpuUsPerPacket: Record<string, number> };
  cpuUsPerPacketNet: Record<string, number>;
  cpuUsPerPacketTotalNet: number;
  /** Per cloud, what its server did over load + drain (system.events deltas; the bench's own look-ups included). */
  clickhouse: Record<string, ServerWork>;
  /** Throughput kept up: all accepted, on schedule (accepted rate ≥ 90 % of offered), store lag ≤ 2 s of traffic. */
  keptUp: boolean;
  /** keptUp and staleness p99 ≤ 2 s: the knee's criterion. */
  ok: boolean;
  problems: string[];
}

async function step(rate: number, root: string, run: string): Promise<Step> {
  const STEP_S = stepSeconds(rate);
  const state = readLocalState(stateFile(root))!;
  const baseTopo = loadTopology(DEFAULT_TOPOLOGY_FILE);
  const dir = mkdtempSync(join(os.tmpdir(), `iov-e2e-${run}-`));
  const topologyFile = runTopology(DEFAULT_TOPOLOGY_FILE, baseTopo, state, `e2e_${run}`, dir, run);
  const topo = loadTopology(topologyFile);
  const bus = createKafkaBus({ brokers: kafkaEndpoint(topo, state).brokers, clientId: `bench-e2e-${run}` });
  const stores: Store[] = storageClouds(topo).map((cloud) => createClickHouseStore({ cloud, endpoint: clickhouseEndpoint(topo, cloud, state) }));
  const apiKey = `e2e-${run}`;
  const common = ['--topology', topologyFile, '--state-dir', root];
  const env = { IOV_API_KEYS: `bench:${apiKey}`, IOV_LOG_LEVEL: 'warn' };
  const lines = collectLines();
  const onStderr = (name: string, chunk: string) => { for (const l of chunk.split('\n').filter(Boolean)) if (/error|fatal/i.test(l)) log(`[${name}] ${l.slice(0, 300)}`); };
  let gateways: Supervisor | undefined;
  let segments: Supervisor | undefined;
  try {
    await bus.ensureTopics(topo.segments.map((s) => ({ topic: segmentTopic(s.id), partitions: Math.max(s.maxReplicas, 1) })));
    for (const s of stores) await s.migrate();
    const ports = await Promise.all(Array.from({ length: GATEWAYS }, () => freePort()));
    gateways = createSupervisor({ specs: ports.map((port, i) => ({ name: `gateway-${i + 1}`, args: ['gateway', '--port', String(port), ...common], env: { ...env, IOV_LOG_LEVEL: 'info' }, ready: READY_LINES.gateway })), log: () => {}, onLine: lines.on, onStderr });
    const segEnv = { ...env, ...SEGMENT_ENV, ...(PROFILE_DIR ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${CPU_PROFILE_PRELOAD}`.trim(), IOV_CPU_PROFILE_DIR: PROFILE_DIR } : {}) };
    segments = createSupervisor({ specs: Array.from({ length: SEG_PROCS }, (_, i) => ({ name: `segment-${i + 1}`, args: ['segment', '--all', '--workers', '0', ...SEGMENT_ARGS, ...common], env: segEnv, ready: READY_LINES.segment })), log: () => {}, onLine: lines.on, onStderr });
    await Promise.all([gateways.start(), segments.start()]);
    await sleep(2_000); // group joins settle before the clock starts

    const pids: Record<string, number | undefined> = {
      ...Object.fromEntries(gateways.members().map((m) => [m.name, m.pid])),
      ...Object.fromEntries(segments.members().map((m) => [m.name, m.pid])),
      redis: state.redis?.pid, kafka: state.kafka?.pid,
      ...Object.fromEntries(Object.entries(state.clickhouse).map(([c, v]) => [`clickhouse-${c}`, v.pid])),
    };
    const produced = async (): Promise<number> => {
      let n = 0;
      for (const s of topo.segments) for (const e of (await endOffsets(bus, segmentTopic(s.id))).values()) n += e;
      return n;
    };
    const storedNow = async (): Promise<{ n: number; newest: number[] }> => {
      const r = await Promise.all(stores.map((s) => s.query<{ n: string; m: string }>('SELECT count() AS n, max(ingest_ts_ms) AS m FROM packets').then((x) => x[0])));
      return { n: r.reduce((a, x) => a + Number(x?.n ?? 0), 0), newest: r.map((x) => Number(x?.m ?? 0)) };
    };
    const lagNow = async (): Promise<number> => {
      let lag = 0;
      for (const s of topo.segments) {
        const topic = segmentTopic(s.id);
        const ends = await endOffsets(bus, topic);
        const reader = bus.consumer({ groupId: segmentGroup(s.id), topics: [topic] });
        const committed = new Map((await reader.committed(topic)).map((c) => [c.partition, Number(c.offset)]));
        await reader.stop();
        for (const [p, end] of ends) lag += Math.max(0, end - Math.max(0, committed.get(p) ?? 0));
      }
      return lag;
    };

    // What one round of the bench's own ClickHouse look-ups (storedNow: one query per server)
    // costs each server, measured on the step's still empty tables: a few ms each, which at
    // 4 rounds a second is not small next to the pipeline's inserts. Subtracted below
    // (cpuUsPerPacketNet); a little low, since the tables grow during the step.
    const chNames = stores.map((st) => `clickhouse-${st.cloud}`);
    const calib0 = chNames.map((n) => procCpuSeconds(pids[n]));
    for (let i = 0; i < LOOKUP_CALIBRATION_ROUNDS; i++) await storedNow();
    const lookupCpuS = chNames.map((n, i) => (procCpuSeconds(pids[n]) - calib0[i]!) / LOOKUP_CALIBRATION_ROUNDS);
    const events0 = await Promise.all(stores.map(serverEvents));
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([n, p]) => [n, procCpuSeconds(p)]));
    const t0 = Date.now();
    const loadProc = runLoad(['--targets', ports.map((p) => `http://127.0.0.1:${p}`).join(','), '--api-key', apiKey, '--rate', String(rate), '--duration', String(STEP_S), '--prefix', `v${run}`]);
    pids.load = loadProc.pid;
    cpu0.load = procCpuSeconds(loadProc.pid);
    const lags: number[] = [];
    const storeLags: number[] = [];
    const staleness: number[] = [];
    let loadDone = false;
    const sim = loadProc.done.finally(() => { loadDone = true; });
    let failedSamples = 0;
    while (!loadDone) {
      // A look-up that fails (kafkajs' admin on a loaded box: "fetch topic offsets: Cannot
      // destructure …") loses that sample, not the run.
      try {
        const [lag, end, { n, newest }] = await Promise.all([lagNow(), produced(), storedNow()]);
        const now = Date.now();
        lags.push(lag);
        storeLags.push(Math.max(0, end - n));
        if (now - t0 > (STEP_S * 1000) / 2) for (const m of newest) if (m > t0) staleness.push(now - m);
      } catch (err) {
        failedSamples++;
        log(`sample failed (${(err as Error).message.slice(0, 120)}); skipped`);
      }
      await sleep(SAMPLE_MS);
    }
    const report = await sim;
    const loadS = (Date.now() - t0) / 1000;
    const cpuMid = Object.fromEntries(Object.entries(pids).map(([n, p]) => [n, procCpuSeconds(p)]));
    const atLoadEnd = await retried(lagNow);
    const storeLagAtLoadEnd = Math.max(0, (await retried(produced)) - (await retried(storedNow)).n);
    const lookupRounds = lags.length + failedSamples + 1;
    const d0 = Date.now();
    await retried(() => drainUntilCommitted(segments!, lines, bus, topo, { sessionTimeoutMs: GROUP_TIMINGS.sessionTimeoutMs, timeoutMs: 180_000 }));
    const drainS = (Date.now() - d0) / 1000;
    const cpu1 = Object.fromEntries(Object.entries(pids).map(([n, p]) => [n, procCpuSeconds(p)]));
    const events1 = await Promise.all(stores.map(serverEvents));
    const clickhouse = Object.fromEntries(stores.map((st, i) => [st.cloud, eventDeltas(events0[i]!, events1[i]!)]));
    let stored = 0;
    for (const s of stores) stored += Number((await s.query<{ n: string }>('SELECT count() AS n FROM packets'))[0]?.n ?? 0);
    let maxEnd = 0;
    for (const s of topo.segments) for (const e of (await retried(() => endOffsets(bus, segmentTopic(s.id)))).values()) maxEnd = Math.max(maxEnd, e);

    const accepted = report.accepted;
    const cpuUsPerPacket: Record<string, number> = {};
    const cpuUsPerPacketDuringLoad: Record<string, number> = {};
    for (const n of Object.keys(pids)) {
      const used = n === 'load' ? report.cpuS : cpu1[n]! - cpu0[n]!;
      cpuUsPerPacket[n] = round((used * 1e6) / Math.max(1, accepted), 2);
      cpuUsPerPacketDuringLoad[n] = round(((n === 'load' ? report.cpuS : cpuMid[n]! - cpu0[n]!) * 1e6) / Math.max(1, accepted), 2);
    }
    const known = Object.values(cpuUsPerPacket).filter(Number.isFinite);
    const lookupsUsPerPacket = Object.fromEntries(chNames.map((n, i) => [n, round((lookupCpuS[i]! * lookupRounds * 1e6) / Math.max(1, accepted), 2)]));
    const cpuUsPerPacketNet = Object.fromEntries(Object.entries(cpuUsPerPacket).map(([n, v]) => [n, n in lookupsUsPerPacket ? round(Math.max(0, v - lookupsUsPerPacket[n]!), 2) : v]));
    const knownNet = Object.values(cpuUsPerPacketNet).filter(Number.isFinite);
    const maxAllowed = Math.round(rate * 2);
    const problems: string[] = [];
    // Crossing copies are stored once, by the owner; crossings count in accepted once too.
    if (stored < accepted) problems.push(`stored ${stored} < accepted ${accepted}: packets lost (offset gap or wrap?)`);
    if (report.failedBatches > 0) problems.push(`${report.failedBatches} batches never acknowledged (${report.firstFailure ?? ''})`);
    if (maxEnd > PARTITION_LIMIT) problems.push(`a partition reached offset ${maxEnd} > ${PARTITION_LIMIT}: the mock cluster may have wrapped it`);
    const acceptedPerSec = Math.round(accepted / Math.max(STEP_S, report.elapsedS));
    const s: Step = {
      offeredPerSec: rate, seconds: STEP_S, loadSeconds: round(report.elapsedS, 2), sent: report.sent, accepted, failedBatches: report.failedBatches,
      // From the load's first request (its own clock), not from the fork: the load process
      // takes ~1 s to start, which no pipeline could have stored anything in.
      acceptedPerSec, stored, storedPerSec: Math.round(stored / (report.elapsedS + (d0 - t0) / 1000 - loadS + drainS)),
      lag: { max: Math.max(0, ...lags), atLoadEnd },
      storeLag: { max: Math.max(0, ...storeLags), atLoadEnd: storeLagAtLoadEnd, maxAllowed },
      stalenessMs: { samples: staleness.length, p50: pct(staleness, 50), p99: pct(staleness, 99), max: Math.max(0, ...staleness) },
      drainS: round(drainS, 2), maxPartitionEnd: maxEnd, wrapRisk: maxEnd > PARTITION_LIMIT,
      cpuUsPerPacket, cpuUsPerPacketDuringLoad, cpuUsPerPacketTotal: round(known.reduce((a, b) => a + b, 0), 1), clickhouse,
      benchLookups: { rounds: lookupRounds, cpuMsPerRound: Object.fromEntries(chNames.map((n, i) => [n, round(lookupCpuS[i]! * 1000, 2)])), cpuUsPerPacket: lookupsUsPerPacket },
      cpuUsPerPacketNet, cpuUsPerPacketTotalNet: round(knownNet.reduce((a, b) => a + b, 0), 1),
      keptUp: false, ok: false, problems,
    };
    // On schedule: the load's last answers within 1.25 × the step + 2 s, and (short steps
    // leave that much slack) the accepted rate at least 90 % of the offered one.
    s.keptUp = problems.length === 0 && accepted === report.sent && report.elapsedS <= STEP_S * 1.25 + 2 && acceptedPerSec >= 0.9 * rate && storeLagAtLoadEnd <= maxAllowed;
    s.ok = s.keptUp && s.stalenessMs.p99 <= 2_000;
    return s;
  } finally {
    await segments?.stop(5_000);
    await gateways?.stop(5_000);
    for (const s of stores) await s.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function markdown(out: { date: string; steps: Step[]; atEighty: Step | undefined; knee: number; throughputKnee: number; embedded: number; loadavg: unknown; params: Record<string, unknown> }): string {
  const names = [...new Set(out.steps.flatMap((s) => Object.keys(s.cpuUsPerPacket)))];
  const head = `| offered/s | s | accepted/s | stored/s | commit lag max / end | store lag max / end | staleness p50 / p99 ms | drain s | kept up | ok | ${names.join(' | ')} | total µs/pkt | with the bench's look-ups |`;
  const rows = out.steps.map((s) => `| ${s.offeredPerSec} | ${s.seconds} | ${s.acceptedPerSec} | ${s.storedPerSec} | ${s.lag.max} / ${s.lag.atLoadEnd} | ${s.storeLag.max} / ${s.storeLag.atLoadEnd} | ${s.stalenessMs.p50} / ${s.stalenessMs.p99} | ${s.drainS} | ${s.keptUp ? 'yes' : 'no'} | ${s.ok ? 'yes' : `no${s.problems.length ? ` (${s.problems.join('; ')})` : ''}`} | ${names.map((n) => s.cpuUsPerPacketNet[n] ?? '').join(' | ')} | ${s.cpuUsPerPacketTotalNet} | ${s.cpuUsPerPacketTotal} |`);
  return [
    `# e2e bench ${out.date.slice(0, 10)}`, '',
    `Open-loop stepped run, every component its own OS process (\`bench/e2e.ts\`). Params: ${JSON.stringify(out.params)}.`,
    `Knee (highest ok step: kept up and staleness p99 ≤ 2 s): **${out.knee} packets/s** stored; throughput knee (kept up, latency aside): ${out.throughputKnee} packets/s; embedded pipeline, same run: ${out.embedded} packets/s. Load average at the end: ${JSON.stringify(out.loadavg)}.`,
    out.atEighty ? `At 80 % of the throughput knee (${out.atEighty.offeredPerSec}/s offered): staleness p99 ${out.atEighty.stalenessMs.p99} ms, ${out.atEighty.ok ? 'ok' : 'NOT ok'}.` : 'No step kept up: no 80 % point.', '',
    'CPU columns are µs of CPU per accepted packet per process (load-independent); rates depend on the other load on the box. ClickHouse columns exclude the bench\'s own look-ups (4 per second per server, calibrated before each step; the last column includes them).', '',
    head, `|${'---|'.repeat(head.split('|').length - 2)}`, ...rows, '',
  ].join('\n');
}

/** The embedded pipeline on the same simulator (skipped with --embedded-seconds 0, for A/B runs). */
async function embeddedBaseline(): Promise<{ what: string; ok: boolean; accepted: number; sustainedPacketsPerSec: number }> {
  const what = 'same simulator, embedded pipeline (in-memory bus + state, chDB), closed loop in one process';
  if (EMBEDDED_S === 0) return { what: `${what}: not run (--embedded-seconds 0)`, ok: false, accepted: 0, sustainedPacketsPerSec: 0 };
  log(`embedded baseline, ${EMBEDDED_S} s`);
  const emb = await runPipeline({ durationS: EMBEDDED_S, vehicles: 2000, seed: 7, maxWorkersPerSegment: 1, ingestConcurrency: 4, mode: 'embedded' });
  return { what, ok: emb.ok, accepted: emb.gateway.accepted, sustainedPacketsPerSec: Math.round(emb.gateway.accepted / (emb.timings.ingestS + emb.timings.drainS)) };
}

async function main(): Promise<void> {
  const embedded = await embeddedBaseline();
  const root = mkdtempSync(join(os.tmpdir(), 'iov-bench-e2e-'));
  const steps: Step[] = [];
  let atEighty: Step | undefined;
  const highest = (ok: (s: Step) => boolean) => steps.filter(ok).sort((a, b) => b.offeredPerSec - a.offeredPerSec)[0];
  try {
    log(`starting private servers under ${root}`);
    await infraUp(loadTopology(DEFAULT_TOPOLOGY_FILE), { root });
    const runStep = async (rate: number): Promise<Step> => {
      const run = `s${rate}${Math.random().toString(16).slice(2, 6)}`;
      log(`step ${rate} packets/s for ${stepSeconds(rate)} s`);
      const s = await step(rate, root, run);
      log(`step ${rate}: accepted ${s.acceptedPerSec}/s stored ${s.storedPerSec}/s store lag end ${s.storeLag.atLoadEnd} staleness p99 ${s.stalenessMs.p99} ms cpu ${s.cpuUsPerPacketTotalNet} µs/pkt (${s.cpuUsPerPacketTotal} with the bench's look-ups) ${JSON.stringify(s.cpuUsPerPacketNet)} ${s.ok ? 'ok' : `NOT ok${s.keptUp ? ' (kept up; latency)' : ''} ${s.problems.join('; ')}`}`);
      log(`step ${rate}: clickhouse ${JSON.stringify(s.clickhouse)} bench look-ups ${JSON.stringify(s.benchLookups)}`);
      return s;
    };
    for (const rate of STEPS) {
      const s = await runStep(rate);
      steps.push(s);
      if (!s.keptUp) break; // past the throughput knee: higher steps only pile up a backlog
    }
    // The latency target is judged at 80 % of the throughput knee: that step, unless one ran.
    const kneeRate = highest((s) => s.keptUp)?.offeredPerSec;
    if (kneeRate) {
      const rate = Math.round((0.8 * kneeRate) / 500) * 500;
      atEighty = steps.find((s) => s.offeredPerSec === rate) ?? await runStep(rate);
    }
  } finally {
    await infraDown(root).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
  const throughputKnee = highest((s) => s.keptUp);
  const knee = highest((s) => s.ok);
  const params = { steps: STEPS, stepSeconds: STEP_S, maxStepPackets: MAX_STEP_PACKETS, gateways: GATEWAYS, segmentProcesses: SEG_PROCS, segmentArgs: SEGMENT_ARGS.join(' '), segmentEnv: SEGMENT_ENV, vehicles: VEHICLES, batch: BATCH, maxInFlight: MAX_IN_FLIGHT, sampleMs: SAMPLE_MS, load: 'separate process, open loop (fixed schedule)' };
  const out = {
    bench: 'e2e', date: new Date().toISOString(), machine: machineInfo(), params,
    local: { sustainedPacketsPerSec: knee?.storedPerSec ?? 0, kneeOfferedPerSec: knee?.offeredPerSec ?? 0, throughputKneeStoredPerSec: throughputKnee?.storedPerSec ?? 0, throughputKneeOfferedPerSec: throughputKnee?.offeredPerSec ?? 0, steps,
      /** The step at 80 % of the throughput knee (one of the steps, or run after them): the latency target's point. */
      atEightyPercentOfKnee: atEighty ? { offeredPerSec: atEighty.offeredPerSec, stalenessP99Ms: atEighty.stalenessMs.p99, keptUp: atEighty.keptUp, ok: atEighty.ok, step: atEighty } : null },
    baseline: embedded,
    ratio: { kneeVsEmbedded: round((knee?.storedPerSec ?? 0) / Math.max(1, embedded.sustainedPacketsPerSec), 3) },
    target: { sustainedPacketsPerSec: 30_000, p99LatencyMs: 2_000, met: (knee?.storedPerSec ?? 0) >= 30_000 && !!atEighty?.ok },
  };
  if (WRITE) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, `${out.date.slice(0, 10)}-e2e.json`), `${JSON.stringify(out, null, 2)}\n`);
    writeFileSync(join(RESULTS_DIR, `${out.date.slice(0, 10)}-e2e.md`), markdown({ date: out.date, steps: atEighty && !steps.includes(atEighty) ? [...steps, atEighty] : steps, atEighty, knee: out.local.sustainedPacketsPerSec, throughputKnee: out.local.throughputKneeStoredPerSec, loadavg: out.machine.loadavg, embedded: embedded.sustainedPacketsPerSec, params }));
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

if (argv.includes('--load')) {
  load().catch((err) => { process.stderr.write(`bench/e2e load: ${(err as Error).stack}\n`); process.exit(1); });
} else {
  main().catch((err) => { process.stderr.write(`bench/e2e: ${(err as Error).stack}\n`); process.exit(1); });
}
