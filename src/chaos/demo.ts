// `iov demo --local --processes N --gateways G [--chaos]`: the pipeline as separate OS
// processes on the local servers — N `iov segment --all` processes (each a member of every
// segment's consumer group) and G `iov gateway` processes — with the simulator spreading its
// requests over the gateways and retrying on timeouts. With --chaos a seeded driver kills
// and pauses processes meanwhile (driver.ts). The run ends with the demo's checks against
// the batch oracle (src/embedded/checks.ts) over what the topics hold (docs/scaleout.md §3).
//
// A run on servers used before starts clean: its segments are renamed <id>_<run> (topics and
// consumer groups of its own), a database per cloud of its own (iov_chaos_<run>), vehicle ids
// of its own (so Redis state and dedup keys are fresh); each group is still pointed at its
// topic's end offsets, in case the names were used before.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GROUP_TIMINGS } from '../bus/index.ts';
import type { Check } from '../embedded/index.ts';
import { createSupervisor, READY_LINES, type Supervisor } from '../local/index.ts';
import { openRuntime } from '../runtime/index.ts';
import { runSimulation, type SimulationReport } from '../sim/index.ts';
import { loadTopology, readLocalState, stateFile } from '../topology/index.ts';
import { planChaos, runChaos, type ChaosEvent } from './driver.ts';
import { checkAgainstOracle, cleanStart } from './oracle.ts';
import { createRunLog } from './runlog.ts';
import { allRunning, collectLines, drainUntilCommitted, freePort, lastChange, runEvents, runTopology } from './run.ts';

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
  /** How many of each chaos event (default: 2 segment kills, 1 gateway kill, 1 pause). */
  events?: { segmentKills?: number; gatewayKills?: number; pauses?: number };
  /** Pool threads per segment in each process (default 0: the main thread; the box has 2 cores). */
  workers?: number;
  log?: (line: string) => void;
  /** Keep the run folder (children's output, simulator attempts, gateway metrics) even when every check passed; a failed run always keeps it. */
  keepFolder?: boolean;
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

export async function runChaosDemo(o: ChaosDemoOptions): Promise<ChaosDemoSummary> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const run = randomBytes(3).toString('hex');
  const { t0, events, stamp, event } = runEvents(log);
  const topo = loadTopology(o.topologyFile);
  const state = readLocalState(stateFile(o.stateDir));
  if (!state) throw Object.assign(new Error(`no local infrastructure at ${stateFile(o.stateDir)}: run \`iov infra up\` first (or give --state-dir)`), { code: 'NO_LOCAL_INFRA' });
  const dir = mkdtempSync(join(tmpdir(), `iov-chaos-${run}-`));
  const runLog = createRunLog(dir, t0);
  let keepDir = o.keepFolder === true;
  const database = `chaos_${run}`;
  const topologyFile = runTopology(o.topologyFile, topo, state, database, dir, run);
  // The run's own topology (renamed segments and databases) is what its processes read; this
  // process opens it through the composition root like every command.
  const rt = await openRuntime({ topology: topologyFile, ...(o.stateDir ? { stateDir: o.stateDir } : {}), clientId: `iov-chaos-${run}` });
  const runTopo = rt.topology;
  const bus = rt.bus();
  const apiKey = `chaos-${run}`;
  const common = ['--topology', topologyFile, ...(o.stateDir ? ['--state-dir', o.stateDir] : [])];
  const env = { IOV_API_KEYS: `chaos:${apiKey}`, IOV_LOG_LEVEL: process.env.IOV_LOG_LEVEL ?? 'warn' };
  const lines = collectLines();
  const onLine = (name: string, line: string) => {
    lines.on(name, line);
    runLog.line(name, line);
  };
  const onStderr = (name: string, chunk: string) => {
    for (const l of chunk.split('\n').filter(Boolean)) {
      runLog.line(name, l);
      if (/error|fatal|stopped|fenced/i.test(l)) log(`[${name}] ${l.slice(0, 300)}`);
    }
  };
  const supLog = (line: string) => event(`${stamp()} ${line}`);
  let segments: Supervisor | undefined;
  let gateways: Supervisor | undefined;
  let sim: SimulationReport | undefined;
  const checks: Check[] = [];
  // Ctrl-C or a kill: stop the children first, so no process of the run outlives it.
  const onSignal = () => void Promise.allSettled([segments?.stop(2_000), gateways?.stop(2_000)]).finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // ---- a clean start on these servers -------------------------------------------------
    const start = await cleanStart(rt);
    const topics = [...start.keys()];
    event(`${stamp()} run ${run}: segments ${runTopo.segments.map((x) => x.id).join(', ')}, databases *_${database}, vehicles v${run}-*, groups start at the topics' ends (${topics.map((t) => `${t} ${[...start.get(t)!.values()].join('/')}`).join(', ')})`);

    // ---- processes ----------------------------------------------------------------------
    const gwPorts = await Promise.all(Array.from({ length: o.gateways }, () => freePort()));
    gateways = createSupervisor({
      specs: gwPorts.map((port, i) => ({ name: `gateway-${i + 1}`, args: ['gateway', '--port', String(port), ...common], env: { ...env, IOV_LOG_LEVEL: 'info' }, ready: READY_LINES.gateway })),
      log: supLog, onLine, onStderr,
    });
    segments = createSupervisor({
      specs: Array.from({ length: o.processes }, (_, i) => ({
        name: `segment-${i + 1}`,
        args: ['segment', '--all', '--workers', String(o.workers ?? 0), '--window', String(o.windowS), '--lateness', String(o.allowedLatenessS), ...common],
        env, ready: READY_LINES.segment,
      })),
      log: supLog, onLine, onStderr,
    });
    // The same bound as for a restarted process (below): at load ~30 a start took over 90 s.
    await Promise.all([gateways.start(180_000), segments.start(180_000)]);
    const pids = (s: Supervisor) => s.members().map((m) => `${m.name} pid ${m.pid}`).join(', ');
    event(`${stamp()} running: ${pids(segments)}; ${pids(gateways)}`);
    const failed = Promise.race([segments.done, gateways.done]).then(() => undefined, (err: Error) => err);

    // ---- traffic and chaos --------------------------------------------------------------
    const plan: ChaosEvent[] = o.chaos
      ? planChaos({ seed: o.seed, durationMs: o.durationS * 1000, segmentProcesses: o.processes, gateways: o.gateways, sessionTimeoutMs: GROUP_TIMINGS.sessionTimeoutMs, ...o.events })
      : [];
    if (plan.length) event(`${stamp()} chaos plan (seed ${o.seed}): ${plan.map((e) => `${(e.atMs / 1000).toFixed(1)} s ${e.action} ${e.group} #${e.slot + 1}${e.forMs ? ` ${(e.forMs / 1000).toFixed(1)} s` : ''}`).join('; ')}`);
    const simStart = Date.now();
    const sampler = runLog.sampleGateways(() => gateways!.members().map((m, i) => ({ name: m.name, url: `http://127.0.0.1:${gwPorts[i]}` })), 1_000);
    const chaos = runChaos(plan, { segment: segments, gateway: gateways }, (l) => event(l.replace(/^t\+[\d.]+ s/, stamp())), simStart);
    sim = await runSimulation({
      targets: gwPorts.map((p) => `http://127.0.0.1:${p}`), apiKey, vehicles: o.vehicles, seed: o.seed, idPrefix: `v${run}`,
      // Each retry waits twice as long as the attempt before (4, 8, 16, 24 s …): a gateway
      // slower than 4 s under load still answers one of them (docs/scaleout.md §5, seed 15).
      durationS: o.durationS, rate: o.rate ?? o.vehicles / 5, batchSize: 200, concurrency: 4, timeoutMs: 4_000, maxTimeoutMs: 24_000, retries: 10, maxBackoffMs: 3_000,
      onAttempt: runLog.attempt,
    });
    sampler.stop();
    event(`${stamp()} simulator done: ${sim.sent} sent, ${sim.accepted} accepted, ${sim.duplicates} duplicates, ${sim.rejected} rejected, ${sim.retries} retries (${sim.retriedBatches} batches), ${sim.failedBatches} batches failed`);
    await chaos.done;
    const early = await Promise.race([failed, sleep(0).then(() => undefined)]);
    if (early) throw early;

    // ---- drain: every segment process processes its share of the topics and flushes ---
    // A killed member stays in its group until its session times out, holding partitions
    // nobody drains; so wait until the groups have settled, drain, and repeat until every
    // partition of every topic is committed up to the end of the log.
    // A restarted segment process is ready once it has joined its groups: on a loaded box
    // (start-up, a rebalance waiting out a paused member, a refused-sync rejoin) that took
    // over 60 s in the sweep, so the bound is generous; a process that never gets there fails the run.
    // Settled: every process running and no restart for two session timeouts (a paused
    // process fenced after its SIGCONT exits and restarts seconds later: look again).
    for (;;) {
      await allRunning([segments, gateways], 180_000);
      const wait = lastChange(segments) + 2 * GROUP_TIMINGS.sessionTimeoutMs - Date.now();
      if (wait <= 0) break;
      await sleep(wait);
    }
    await drainUntilCommitted(segments, lines, bus, runTopo, { sessionTimeoutMs: GROUP_TIMINGS.sessionTimeoutMs, onRound: (l) => event(`${stamp()} ${l}`) });
    await segments.stop();
    await gateways.stop();
    const restarts = Object.fromEntries([...segments.members(), ...gateways.members()].map((m) => [m.name, m.restarts]));

    // ---- checks against the batch oracle ------------------------------------------------
    checks.push(...await checkAgainstOracle({ rt, start, sim, windowS: o.windowS, allowedLatenessS: o.allowedLatenessS, readGroup: `iov-chaos-read-${run}` }));
    const ok = checks.every((c) => c.ok);
    keepDir ||= !ok;
    return { ok, run, events, sim, checks, restarts, databases: `*_${database}` };
  } catch (err) {
    keepDir = true;
    checks.push({ name: 'run completed', ok: false, detail: (err as Error).message });
    return { ok: false, run, events, sim, checks, restarts: {}, databases: `*_${database}` };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await segments?.stop(5_000);
    await gateways?.stop(5_000);
    await rt.close();
    await runLog.close();
    // A failed run keeps its folder: the children's output, the simulator's attempts, the gateways' metrics.
    if (keepDir) event(`${stamp()} run folder kept for the diagnosis: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

export function formatChaosSummary(s: ChaosDemoSummary): string {
  const out = [`chaos demo run ${s.run} (databases ${s.databases})`, '', 'events:', ...s.events.map((e) => `  ${e}`), '', 'checks:'];
  for (const c of s.checks) out.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  out.push('', `restarts: ${Object.entries(s.restarts).map(([n, k]) => `${n} ${k}`).join(', ') || 'none'}`, s.ok ? 'ALL CHECKS PASSED' : 'CHECKS FAILED');
  return out.join('\n');
}
