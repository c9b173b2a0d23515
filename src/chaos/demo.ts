// `iov demo --local --processes N --gateways G [--chaos]`: the pipeline as separate OS
// processes on the local servers — N `iov segment --all` processes (each a member of every
// segment's consumer group) and G `iov gateway` processes — with the simulator spreading its
// requests over the gateways and retrying on timeouts. With --chaos a seeded driver kills
// and pauses processes meanwhile (driver.ts). The run ends with the demo's checks against
// the batch oracle (src/embedded/checks.ts) over what the topics hold (docs/scaleout.md §3).
//
// A run on servers used before starts clean: a database per cloud of its own
// (iov_chaos_<run>), vehicle ids of its own (so Redis state and dedup keys are fresh), and
// each segment group pointed at the topics' end offsets of this moment.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { createKafkaBus, GROUP_TIMINGS } from '../bus/index.ts';
import { runChecks, type Check } from '../embedded/index.ts';
import { createFederator } from '../federation/index.ts';
import { batchTrafficFlow } from '../flow/index.ts';
import { createSupervisor, DRAIN_SIGNAL, type Supervisor } from '../local/index.ts';
import { runSimulation, type SimulationReport } from '../sim/index.ts';
import { createClickHouseStore, type Store } from '../store/index.ts';
import {
  clickhouseEndpoint, kafkaEndpoint, loadTopology, readLocalState, segmentGroup, segmentTopic, stateFile, storageClouds, type Topology,
} from '../topology/index.ts';
import { planChaos, runChaos, type ChaosEvent } from './driver.ts';
import { endOffsets, firstCopies, readLog, seekGroup, type LogCopy, type Offsets } from './log.ts';

export interface ChaosDemoOptions {
  topologyFile: string;
  stateDir?: string;
  processes: number;
  gateways: number;
  chaos: boolean;
  durationS: number;
  seed: number;
  vehicles: number;
  /** Packets per second the simulator sends (default vehicles / 5, real time). */
  rate?: number;
  windowS: number;
  allowedLatenessS: number;
  /** Pool threads per segment in each process (default 0: the main thread; the box has 2 cores). */
  workers?: number;
  log?: (line: string) => void;
}

export interface ChaosDemoSummary {
  ok: boolean;
  run: string;
  events: string[];
  sim: SimulationReport | undefined;
  checks: Check[];
  restarts: Record<string, number>;
  databases: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The topology file of this run: the user's, with each storage cloud's ClickHouse in a database of the run. */
function runTopology(file: string, topo: Topology, state: ReturnType<typeof readLocalState>, database: string, dir: string): string {
  const raw = parse(readFileSync(file, 'utf8')) as { clouds: { id: string; clickhouse?: { url: string; database: string } }[] };
  const storage = new Set(storageClouds(topo));
  for (const c of raw.clouds) {
    if (!storage.has(c.id)) continue;
    const ep = clickhouseEndpoint(topo, c.id, state);
    c.clickhouse = { ...ep, database: `${ep.database}_${database}` };
  }
  const out = join(dir, 'topology.yaml');
  writeFileSync(out, stringify(raw));
  return out;
}

/** Wait for one stdout line per member matching `line` after `since`. */
function collectLines(): { on: (name: string, line: string) => void; waitAll: (names: string[], match: RegExp, timeoutMs: number) => Promise<Map<string, string>> } {
  const seen: { name: string; line: string; at: number }[] = [];
  return {
    on: (name, line) => void seen.push({ name, line, at: Date.now() }),
    async waitAll(names, match, timeoutMs) {
      const since = Date.now();
      const deadline = since + timeoutMs;
      for (;;) {
        const got = new Map<string, string>();
        for (const s of seen) if (s.at >= since && match.test(s.line) && names.includes(s.name)) got.set(s.name, s.line);
        if (got.size === names.length) return got;
        if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${match} from ${names.filter((n) => !got.has(n)).join(', ')}`);
        await sleep(100);
      }
    },
  };
}

async function allRunning(sups: Supervisor[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (sups.some((s) => s.members().some((m) => m.state !== 'running'))) {
    if (Date.now() > deadline) throw new Error(`processes not all running: ${sups.flatMap((s) => s.members()).map((m) => `${m.name} ${m.state}`).join(', ')}`);
    await sleep(200);
  }
}

export async function runChaosDemo(o: ChaosDemoOptions): Promise<ChaosDemoSummary> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const run = randomBytes(3).toString('hex');
  const t0 = Date.now();
  const stamp = () => `t+${((Date.now() - t0) / 1000).toFixed(1)} s`;
  const events: string[] = [];
  const event = (line: string) => {
    events.push(line);
    log(line);
  };
  const topo = loadTopology(o.topologyFile);
  const state = readLocalState(stateFile(o.stateDir));
  if (!state) throw Object.assign(new Error(`no local infrastructure at ${stateFile(o.stateDir)}: run \`iov infra up\` first (or give --state-dir)`), { code: 'NO_LOCAL_INFRA' });
  const dir = mkdtempSync(join(tmpdir(), `iov-chaos-${run}-`));
  const database = `chaos_${run}`;
  const topologyFile = runTopology(o.topologyFile, topo, state, database, dir);
  const runTopo = loadTopology(topologyFile);
  const bus = createKafkaBus({ brokers: kafkaEndpoint(runTopo, state).brokers, clientId: `iov-chaos-${run}` });
  const stores: Store[] = storageClouds(runTopo).map((cloud) => createClickHouseStore({ cloud, endpoint: clickhouseEndpoint(runTopo, cloud, state) }));
  const apiKey = `chaos-${run}`;
  const common = ['--topology', topologyFile, ...(o.stateDir ? ['--state-dir', o.stateDir] : [])];
  const env = { IOV_API_KEYS: `chaos:${apiKey}`, IOV_LOG_LEVEL: process.env.IOV_LOG_LEVEL ?? 'warn' };
  const lines = collectLines();
  const onStderr = (name: string, chunk: string) => {
    for (const l of chunk.split('\n').filter(Boolean)) if (/error|fatal|stopped|fenced/i.test(l)) log(`[${name}] ${l.slice(0, 300)}`);
  };
  const supLog = (line: string) => event(`${stamp()} ${line}`);
  let segments: Supervisor | undefined;
  let gateways: Supervisor | undefined;
  let sim: SimulationReport | undefined;
  const checks: Check[] = [];
  try {
    // ---- a clean start on these servers -------------------------------------------------
    const topics = runTopo.segments.map((s) => segmentTopic(s.id));
    await bus.ensureTopics(runTopo.segments.map((s) => ({ topic: segmentTopic(s.id), partitions: Math.max(s.maxReplicas, 1) })));
    const start = new Map<string, Offsets>();
    for (const t of topics) start.set(t, await endOffsets(bus, t));
    await Promise.all(runTopo.segments.map((s) => seekGroup(bus, segmentGroup(s.id), segmentTopic(s.id), start.get(segmentTopic(s.id))!)));
    for (const s of stores) await s.migrate();
    event(`${stamp()} run ${run}: databases *_${database}, vehicles v${run}-*, segment groups start at the topics' ends (${topics.map((t) => `${t} ${[...start.get(t)!.values()].join('/')}`).join(', ')})`);

    // ---- processes ----------------------------------------------------------------------
    const gwPorts = await Promise.all(Array.from({ length: o.gateways }, () => freePort()));
    gateways = createSupervisor({
      specs: gwPorts.map((port, i) => ({ name: `gateway-${i + 1}`, args: ['gateway', '--port', String(port), ...common], env, ready: /^gateway listening on / })),
      log: supLog, onLine: lines.on, onStderr,
    });
    segments = createSupervisor({
      specs: Array.from({ length: o.processes }, (_, i) => ({
        name: `segment-${i + 1}`,
        args: ['segment', '--all', '--workers', String(o.workers ?? 0), '--window', String(o.windowS), '--lateness', String(o.allowedLatenessS), '--plan', join(dir, 'no-plan.json'), ...common],
        env, ready: /^segment processors running/,
      })),
      log: supLog, onLine: lines.on, onStderr,
    });
    await Promise.all([gateways.start(), segments.start()]);
    const pids = (s: Supervisor) => s.members().map((m) => `${m.name} pid ${m.pid}`).join(', ');
    event(`${stamp()} running: ${pids(segments)}; ${pids(gateways)}`);
    const failed = Promise.race([segments.done, gateways.done]).then(() => undefined, (err: Error) => err);

    // ---- traffic and chaos --------------------------------------------------------------
    const plan: ChaosEvent[] = o.chaos
      ? planChaos({ seed: o.seed, durationMs: o.durationS * 1000, segmentProcesses: o.processes, gateways: o.gateways, sessionTimeoutMs: GROUP_TIMINGS.sessionTimeoutMs })
      : [];
    if (plan.length) event(`${stamp()} chaos plan (seed ${o.seed}): ${plan.map((e) => `${(e.atMs / 1000).toFixed(1)} s ${e.action} ${e.group} #${e.slot + 1}${e.forMs ? ` ${(e.forMs / 1000).toFixed(1)} s` : ''}`).join('; ')}`);
    const simStart = Date.now();
    const chaos = runChaos(plan, { segment: segments, gateway: gateways }, (l) => event(l.replace(/^t\+[\d.]+ s/, stamp())), simStart);
    sim = await runSimulation({
      targets: gwPorts.map((p) => `http://127.0.0.1:${p}`), apiKey, vehicles: o.vehicles, seed: o.seed, idPrefix: `v${run}`,
      durationS: o.durationS, rate: o.rate ?? o.vehicles / 5, batchSize: 200, concurrency: 4, timeoutMs: 4_000, retries: 10, maxBackoffMs: 3_000,
    });
    event(`${stamp()} simulator done: ${sim.sent} sent, ${sim.accepted} accepted, ${sim.duplicates} duplicates, ${sim.rejected} rejected, ${sim.retries} retries (${sim.retriedBatches} batches), ${sim.failedBatches} batches failed`);
    await chaos.done;
    const early = await Promise.race([failed, sleep(0).then(() => undefined)]);
    if (early) throw early;

    // ---- drain: every segment process processes its whole topic share and flushes -------
    await allRunning([segments, gateways], 60_000);
    const names = segments.members().map((m) => m.name);
    const drained = lines.waitAll(names, /^(drained|drain failed)/, 180_000);
    for (const n of names) segments.signal(n, DRAIN_SIGNAL);
    const answers = await drained;
    const drainFailures = [...answers].filter(([, l]) => l.startsWith('drain failed'));
    event(`${stamp()} drain: ${[...answers].map(([n, l]) => `${n} ${l}`).join('; ')}`);
    if (drainFailures.length) throw new Error(`drain failed in ${drainFailures.map(([n, l]) => `${n}: ${l}`).join('; ')}`);
    await segments.stop();
    await gateways.stop();
    const restarts = Object.fromEntries([...segments.members(), ...gateways.members()].map((m) => [m.name, m.restarts]));

    // ---- checks against the batch oracle ------------------------------------------------
    const copies: LogCopy[] = [];
    let logged = 0;
    for (const t of topics) {
      const end = await endOffsets(bus, t);
      const part = await readLog(bus, t, start.get(t)!, end, `iov-chaos-read-${run}-${t}`);
      logged += part.length;
      copies.push(...part);
    }
    const packets = firstCopies(copies);
    const owned = (c: LogCopy) => !c.crossing && c.segment === c.ownerSegment;
    const segRows = [];
    for (const s of runTopo.segments) {
      const store = stores.find((x) => x.cloud === s.cloud)!;
      const [p] = await store.query<{ n: string }>(`SELECT count() AS n FROM packets WHERE segment = '${s.id}'`);
      const [f] = await store.query<{ n: string }>(`SELECT sum(packets) AS n FROM traffic_flow WHERE segment = '${s.id}'`);
      segRows.push({ segment: s.id, ownedProduced: packets.filter((c) => c.segment === s.id && owned(c)).length, packetsStored: Number(p?.n ?? 0), flowPackets: Number(f?.n ?? 0) });
    }
    const acceptedOwned = packets.filter(owned).length;
    const federator = createFederator({ topology: runTopo, stores, limits: { maxRows: 2_000_000, maxCloudRows: 2_000_000, timeoutMs: 60_000 } });
    try {
      const result = await runChecks({
        topology: runTopo, stores, federator, flow: { batchTrafficFlow }, tap: { packets, produced: logged }, gateway: { accepted: acceptedOwned, produced: logged },
        windowS: o.windowS, allowedLatenessS: o.allowedLatenessS, segments: segRows, processorsRan: true,
      });
      // The gateway-vs-bus check compares the log with itself here; the acknowledged side is the simulator's.
      checks.push(...result.checks.filter((c) => c.name !== 'gateway produced what the bus acknowledged'));
    } finally {
      await federator.close();
    }
    const acknowledged = sim.accepted + sim.retriedDuplicates;
    checks.unshift({
      name: 'nothing lost: every acknowledged packet is in the log',
      ok: acknowledged <= packets.filter(owned).length + packets.filter((c) => c.crossing).length && sim.failedBatches === 0,
      detail: `${acknowledged} packets acknowledged to the simulator (${sim.accepted} accepted + ${sim.retriedDuplicates} retried whose first attempt had landed), ${acceptedOwned} distinct owned packets in the log; ${sim.failedBatches} batches never acknowledged`,
    });
    const dupRows: string[] = [];
    for (const s of stores) {
      const [r] = await s.query<{ n: string }>('SELECT count() - uniqExact(segment, vehicle_id, seq, ts_ms) AS n FROM packets');
      if (Number(r?.n ?? 0) !== 0) dupRows.push(`${s.cloud}: ${r?.n} extra rows`);
    }
    checks.push({ name: 'no double count: each packet stored once', ok: dupRows.length === 0, detail: dupRows.length ? dupRows.join('; ') : `${stores.length} clouds, no (segment, vehicle, seq, ts) stored twice` });
    const ok = checks.every((c) => c.ok);
    return { ok, run, events, sim, checks, restarts, databases: `*_${database}` };
  } catch (err) {
    checks.push({ name: 'run completed', ok: false, detail: (err as Error).message });
    return { ok: false, run, events, sim, checks, restarts: {}, databases: `*_${database}` };
  } finally {
    await segments?.stop(5_000);
    await gateways?.stop(5_000);
    await bus.close();
    await Promise.all(stores.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatChaosSummary(s: ChaosDemoSummary): string {
  const out = [`chaos demo run ${s.run} (databases ${s.databases})`, '', 'events:', ...s.events.map((e) => `  ${e}`), '', 'checks:'];
  for (const c of s.checks) out.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  out.push('', `restarts: ${Object.entries(s.restarts).map(([n, k]) => `${n} ${k}`).join(', ') || 'none'}`, s.ok ? 'ALL CHECKS PASSED' : 'CHECKS FAILED');
  return out.join('\n');
}
