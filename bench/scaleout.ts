// Scale-out bench: one segment (north) processed by 1, 2 and 3 `iov segment` processes of
// one consumer group, on the local servers (`iov infra up`, IOV_STATE_DIR). Prints JSON and
// writes bench/results/<date>-scaleout.{json,md}.
//
//   flock /work/bench.lock nice npx tsx bench/scaleout.ts [--packets 60000] [--processes 1,2,3] [--rate 2000] [--seconds 60]
//
// 1. throughput: N packets pre-produced to the topic; P processes start on a group pointed at
//    the batch's first offsets (own databases per run); timed from the first commit that
//    moves to the moment every partition is committed to the end. Per-process CPU (from
//    /proc) over that interval, and the servers' (ClickHouse of the segment's cloud, the
//    Kafka mock cluster): where the time goes. On 2 cores the rate is expected to stay flat.
// 2. kill: 3 processes under a steady producer; one is SIGKILLed (the supervisor restarts
//    it). Lag (log end − committed) sampled every 250 ms: time from the kill until the lag is
//    back to its level before the kill, and the stalls (no commit moving while lag > 0) the
//    rebalances cause.
// 3. fence check per insert: a proxy until the fencing of segment.md is on main — the
//    round trip of one Redis command, which is what a lease check before an insert costs.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latLngToCell } from 'h3-js';
import { Redis } from 'ioredis';
import { createKafkaBus, GROUP_TIMINGS, type Bus, type ProduceRecord } from '../src/bus/index.ts';
import { collectLines, drainUntilCommitted, endOffsets, runTopology, seekGroup, type Offsets } from '../src/chaos/index.ts';
import { createSupervisor, READY_LINES, type Supervisor } from '../src/local/index.ts';
import { enrichedPacketCodec, type EnrichedPacket } from '../src/schemas/index.ts';
import { DEFAULT_TOPOLOGY_FILE, loadTopology, readLocalState, redisEndpoint, segmentGroup, segmentTopic, stateFile } from '../src/topology/index.ts';
import { machineInfo, RESULTS_DIR } from './run.ts';

const argv = process.argv.slice(2);
const arg = (f: string, d: string): string => { const k = argv.indexOf(f); return k >= 0 ? argv[k + 1]! : d; };
const N = Number(arg('--packets', '60000')); // the mock cluster keeps ~40 000 messages per partition
const PROCESSES = arg('--processes', '1,2,3').split(',').map(Number);
const RATE = Number(arg('--rate', '2000'));
const SECONDS = Number(arg('--seconds', '60'));
const SEGMENT = 'north';
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)] ?? 0; };
const rnd = () => Math.random().toString(16).slice(2, 8);
const sum = (m: Offsets) => [...m.values()].reduce((a, b) => a + b, 0);

const state = readLocalState(stateFile());
if (!state?.kafka || !state.redis) throw new Error(`bench/scaleout needs the local servers: run \`iov infra up\` and set IOV_STATE_DIR (looked in ${stateFile()})`);
const topo = loadTopology(DEFAULT_TOPOLOGY_FILE);
const seg = topo.segments.find((s) => s.id === SEGMENT)!;
const topic = segmentTopic(SEGMENT);
const group = segmentGroup(SEGMENT);
const bus: Bus = createKafkaBus({ brokers: state.kafka.brokers, clientId: `bench-scaleout-${rnd()}` });
const codec = enrichedPacketCodec();
// Cells of the segment at the packets' resolution, spread over its area.
const CELLS = Array.from({ length: 300 }, (_, i) => latLngToCell(31.32 + (i % 15) * 0.01, 121.15 + Math.floor(i / 15) * 0.03, topo.h3.resolution));

function record(i: number, ts: number): ProduceRecord {
  const vehicleId = `b-${i % 3000}`;
  const p: EnrichedPacket = {
    vehicleId, seq: i, ts, lat: 31.4, lng: 121.4, speedKmh: 20 + (i % 90), heading: 180, extra: {},
    cell: CELLS[(i * 7) % CELLS.length]!, segment: SEGMENT, ownerSegment: SEGMENT, crossing: false, prevSegment: null, ingestTs: ts, gatewayId: 'bench',
  };
  return { topic, key: vehicleId, value: codec.encode(p) };
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

async function committed(): Promise<Offsets> {
  const reader = bus.consumer({ groupId: group, topics: [topic] });
  const out = new Map((await reader.committed(topic)).map((c) => [c.partition, Number(c.offset)]));
  await reader.stop();
  return out;
}

function segmentProcesses(p: number, topologyFile: string, lines?: ReturnType<typeof collectLines>): Supervisor {
  return createSupervisor({
    ...(lines ? { onLine: lines.on } : {}),
    specs: Array.from({ length: p }, (_, i) => ({
      name: `segment-${i + 1}`,
      args: ['segment', '--id', SEGMENT, '--workers', '0', '--window', '10', '--lateness', '5', '--topology', topologyFile],
      env: { IOV_LOG_LEVEL: 'warn' }, ready: READY_LINES.segment,
    })),
    log: (l) => log(`  ${l}`),
    onStderr: () => {},
  });
}

/** A fresh run: own databases, group at the topic's end. */
async function freshRun(dir: string): Promise<{ topologyFile: string; start: Offsets }> {
  const topologyFile = runTopology(DEFAULT_TOPOLOGY_FILE, topo, state, `bench_${rnd()}`, dir);
  await bus.ensureTopics([{ topic, partitions: Math.max(seg.maxReplicas, 1) }]);
  const start = await endOffsets(bus, topic);
  await seekGroup(bus, group, topic, start);
  return { topologyFile, start };
}

/** `n` packets, event time `stepMs` apart from `ts0`: windows keep closing, so commits keep moving. */
async function produce(n: number, from: number, ts0: number, stepMs: number): Promise<void> {
  for (let i = 0; i < n; i += 5000) await bus.produce(Array.from({ length: Math.min(5000, n - i) }, (_, k) => record(from + i + k, Math.round(ts0 + (from + i + k) * stepMs))));
}

// ---------- 1. throughput with P processes ----------
async function throughput(p: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'iov-bench-scale-'));
  try {
    const { topologyFile, start } = await freshRun(dir);
    await produce(N, 0, Date.now() - 3_600_000, 10); // 10 ms of event time apart: 60 000 packets span 10 min, 60 windows
    const end = await endOffsets(bus, topic);
    const lines = collectLines();
    const sup = segmentProcesses(p, topologyFile, lines);
    const t0 = Date.now();
    await sup.start();
    const servers = { clickhouse: state!.clickhouse[seg.cloud]?.pid, kafka: state!.kafka!.pid };
    let first = 0;
    let cpu0: number[] = [];
    let srv0 = { clickhouse: 0, kafka: 0 };
    let polling = true;
    const poller = (async () => {
      while (polling && !first) {
        const c = await committed();
        if ([...c].some(([part, off]) => off > (start.get(part) ?? 0))) {
          first = Date.now();
          cpu0 = sup.members().map((m) => cpuS(m.pid));
          srv0 = { clickhouse: cpuS(servers.clickhouse), kafka: cpuS(servers.kafka) };
        }
        await sleep(100);
      }
    })();
    // Drain (SIGUSR2) until every partition is committed to the end: the whole batch processed.
    try {
      await drainUntilCommitted(sup, lines, bus, { ...topo, segments: [seg] }, { sessionTimeoutMs: GROUP_TIMINGS.sessionTimeoutMs, onRound: (l) => log(`  ${l}`) });
    } catch (err) {
      await sup.stop();
      throw err;
    }
    const done = Date.now();
    polling = false;
    await poller;
    if (!first) first = t0;
    const wallS = (done - first) / 1000;
    const procCpu = sup.members().map((m, i) => Math.round((cpuS(m.pid) - (cpu0[i] ?? 0)) * 100) / 100);
    const chCpu = Math.round((cpuS(servers.clickhouse) - srv0.clickhouse) * 100) / 100;
    const kafkaCpu = Math.round((cpuS(servers.kafka) - srv0.kafka) * 100) / 100;
    await sup.stop();
    const row = {
      processes: p, packets: sum(end) - sum(start), startup_s: Math.round((first - t0) / 100) / 10, wall_s: Math.round(wallS * 100) / 100,
      packets_per_s: Math.round((sum(end) - sum(start)) / wallS),
      cpu_s: { segment_processes: procCpu, clickhouse: chCpu, kafka_mock: kafkaCpu },
      cpu_share_of_2_cores: Math.round(((procCpu.reduce((a, b) => a + b, 0) + chCpu + kafkaCpu) / (2 * wallS)) * 100) / 100,
    };
    log(`throughput ${JSON.stringify(row)}`);
    return row;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------- 2. a kill under steady load ----------
async function killRecovery(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'iov-bench-scale-'));
  try {
    const { topologyFile } = await freshRun(dir);
    const sup = segmentProcesses(3, topologyFile);
    process.once('exit', () => { for (const m of sup.members()) if (m.pid) try { process.kill(m.pid, 'SIGKILL'); } catch { /* gone */ } });
    await sup.start();
    await sleep(4_000); // the first generation (the mock cluster waits 3 s for more members)
    const t0 = Date.now();
    const samples: { t: number; lag: number; committed: number }[] = [];
    let produced = 0;
    const producer = (async () => {
      while (Date.now() - t0 < SECONDS * 1000) {
        const due = Math.floor(((Date.now() - t0) / 1000) * RATE) - produced;
        if (due > 0) {
          await produce(due, produced, t0, 1000 / RATE); // event time = wall time
          produced += due;
        }
        await sleep(100);
      }
    })();
    const killAt = t0 + (SECONDS * 1000) / 4;
    let killedAt = 0;
    while (Date.now() - t0 < SECONDS * 1000) {
      const [end, c] = await Promise.all([endOffsets(bus, topic), committed()]);
      samples.push({ t: Date.now(), lag: sum(end) - sum(c), committed: sum(c) });
      if (!killedAt && Date.now() >= killAt) {
        killedAt = Date.now();
        log(`  SIGKILL segment-1 (pid ${sup.members()[0]!.pid})`);
        sup.signal('segment-1', 'SIGKILL');
      }
      await sleep(250);
    }
    await producer;
    await sup.stop();
    const before = samples.filter((s) => s.t < killedAt && s.t > t0 + 3_000).map((s) => s.lag);
    const baseline = median(before);
    const threshold = Math.max(baseline * 1.5, RATE * 0.5);
    const after = samples.filter((s) => s.t >= killedAt);
    let caughtUp: number | undefined;
    for (let i = 0; i < after.length; i++) {
      const rest = after.slice(i).filter((s) => s.t - after[i]!.t <= 2_000);
      if (after[i]!.t - killedAt > 1_000 && rest.every((s) => s.lag <= threshold)) {
        caughtUp = after[i]!.t - killedAt;
        break;
      }
    }
    const stalls: { from_s: number; length_s: number }[] = [];
    let since: number | undefined;
    for (let i = 1; i < samples.length; i++) {
      const s = samples[i]!;
      const stuck = s.committed === samples[i - 1]!.committed && s.lag > 0;
      if (stuck && since === undefined) since = samples[i - 1]!.t;
      if (!stuck && since !== undefined) {
        if (s.t - since >= 1_000) stalls.push({ from_s: Math.round((since - killedAt) / 100) / 10, length_s: Math.round((s.t - since) / 100) / 10 });
        since = undefined;
      }
    }
    const row = {
      rate_pps: RATE, seconds: SECONDS, lag_before_kill_median: baseline, lag_max_after_kill: Math.max(...after.map((s) => s.lag)),
      kill_to_caught_up_s: caughtUp === undefined ? null : Math.round(caughtUp / 100) / 10, caught_up_threshold: threshold,
      stalls_relative_to_kill: stalls, restarts: sup.members().map((m) => m.restarts),
    };
    log(`kill ${JSON.stringify(row)}`);
    return row;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------- 3. fence check proxy ----------
async function fenceProxy(): Promise<Record<string, unknown>> {
  const redis = new Redis(redisEndpoint(topo, state).url);
  const key = `bench:fence:${rnd()}`;
  await redis.set(key, '1:owner', 'PX', 60_000);
  const times: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const s = performance.now();
    await redis.get(key);
    times.push(performance.now() - s);
  }
  await redis.del(key);
  redis.disconnect();
  return { what: 'one Redis GET round trip (the least a lease check before each insert costs); fencing not on main when measured', median_ms: Math.round(median(times) * 1000) / 1000, p99_ms: Math.round([...times].sort((a, b) => a - b)[Math.floor(times.length * 0.99)]! * 1000) / 1000 };
}

const t0 = Date.now();
const rows = [];
for (const p of PROCESSES) rows.push(await throughput(p));
const kill = await killRecovery();
const fence = await fenceProxy();
await bus.close();
const base = rows.find((r) => r.processes === 1) as { packets_per_s: number } | undefined;
const result = {
  bench: 'scaleout', at: new Date().toISOString(), machine: machineInfo(), wall_s: Math.round((Date.now() - t0) / 1000),
  config: { segment: SEGMENT, packets: N, processes: PROCESSES, workers_per_process: 0, rate_pps: RATE, seconds: SECONDS },
  throughput: rows.map((r) => ({ ...r, ratio_to_1: base ? Math.round(((r as { packets_per_s: number }).packets_per_s / base.packets_per_s) * 100) / 100 : null })),
  kill, fence_check_proxy: fence,
};
mkdirSync(RESULTS_DIR, { recursive: true });
const stem = join(RESULTS_DIR, `${result.at.slice(0, 10)}-scaleout`);
writeFileSync(`${stem}.json`, `${JSON.stringify(result, null, 2)}\n`);
const md = [
  `# scaleout ${result.at}`, '', `machine: ${JSON.stringify(result.machine)}`, '',
  '| processes | packets/s | ratio to 1 | wall s | CPU s per segment process | ClickHouse CPU s | Kafka mock CPU s | share of 2 cores |', '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...result.throughput.map((r) => { const x = r as unknown as { processes: number; packets_per_s: number; ratio_to_1: number; wall_s: number; cpu_s: { segment_processes: number[]; clickhouse: number; kafka_mock: number }; cpu_share_of_2_cores: number }; return `| ${x.processes} | ${x.packets_per_s} | ${x.ratio_to_1} | ${x.wall_s} | ${x.cpu_s.segment_processes.join(' / ')} | ${x.cpu_s.clickhouse} | ${x.cpu_s.kafka_mock} | ${x.cpu_share_of_2_cores} |`; }),
  '', `kill under ${RATE} packets/s: ${JSON.stringify(kill)}`, '', `fence check proxy: ${JSON.stringify(fence)}`, '',
].join('\n');
writeFileSync(`${stem}.md`, md);
process.stdout.write(`${JSON.stringify(result)}\n`);
