// `iov demo --local --apply --fail-centre <id|cheapest>` (docs/cabin.md §8.4): the pipeline
// on the local servers with its segment processes run by the apply controller — each centre
// a group of processes, the centres' status files refreshed every second as heartbeats — and
// mid-run the chosen centre fails: its heartbeat stops and its processes are SIGKILLed. The
// controller sees the centre go silent, re-plans without it, and starts the segments'
// processes elsewhere; the run ends with the chaos demo's checks against the batch oracle
// (nothing lost, stored = owned packets, Σ flow, federated flow = oracle, no double count).
// Like the chaos demo, a run has segments, topics, groups, databases and vehicles of its own.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { GROUP_TIMINGS } from '../bus/index.ts';
import { defaultDemandFile, loadDemand, readStatusFile, DEFAULT_DEMAND } from '../cabin/index.ts';
import { checkAgainstOracle, cleanStart, type ChaosDemoOptions, collectLines, drainUntilCommitted, freePort, runEvents, runTopology } from '../chaos/index.ts';
import type { Check } from '../embedded/index.ts';
import { createSupervisor, READY_LINES, type Member, type Supervisor } from '../local/index.ts';
import { runSimulation, type SimulationReport } from '../sim/index.ts';
import { loadTopology, readLocalState, stateFile } from '../topology/index.ts';
import { destroy, openController, watch, type Controller, type RoundReport } from './controller.ts';
import type { MemberRecord } from './state.ts';

/** The chaos demo's run options (topology, servers, fleet, windows), and the failure. */
export interface ApplyDemoOptions extends Pick<ChaosDemoOptions, 'topologyFile' | 'stateDir' | 'durationS' | 'seed' | 'vehicles' | 'rate' | 'windowS' | 'allowedLatenessS' | 'log'> {
  /** Centre status files (default: the cabin/centres folder beside the topology's folder). */
  centresDir?: string;
  /** A centre id, or `cheapest`: the running plan's centre with the lowest VM price. */
  failCentre: string;
  /** Seconds after the simulator starts. */
  failAtS: number;
  /** The controller's heartbeat timeout (default 3 s; the status files are refreshed every second). */
  heartbeatTimeoutS?: number;
}

export interface ApplyDemoSummary {
  ok: boolean;
  run: string;
  failed: string | undefined;
  events: string[];
  sim: SimulationReport | undefined;
  checks: Check[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runApplyDemo(o: ApplyDemoOptions): Promise<ApplyDemoSummary> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const run = randomBytes(3).toString('hex');
  const timeline = runEvents(log);
  const { events } = timeline;
  const event = (line: string) => timeline.event(`${timeline.stamp()} ${line}`);
  const state = readLocalState(stateFile(o.stateDir));
  if (!state) throw Object.assign(new Error(`no local infrastructure at ${stateFile(o.stateDir)}: run \`iov infra up\` first (or give --state-dir)`), { code: 'NO_LOCAL_INFRA' });
  const dir = mkdtempSync(join(tmpdir(), `iov-apply-${run}-`));
  const topo = loadTopology(o.topologyFile);
  const topologyFile = runTopology(o.topologyFile, topo, state, `apply_${run}`, dir, run);
  const runTopo = loadTopology(topologyFile);
  // The planner is told the demo fleet's load, spread over the segments.
  const base = defaultDemandFile(o.topologyFile, topo.name);
  const demand = base ? loadDemand(base) : DEFAULT_DEMAND;
  const perSegment = Math.max(1, Math.round((o.rate ?? o.vehicles / 5) / runTopo.segments.length));
  const demandFile = join(dir, 'demand.yaml');
  writeFileSync(demandFile, stringify({ ...demand, defaults: { ...demand.defaults, packetsPerS: perSegment }, segments: [] }));
  const centres = join(dir, 'centres');
  cpSync(o.centresDir ?? resolve(dirname(o.topologyFile), '..', 'cabin', 'centres'), centres, { recursive: true });
  const statusFiles = new Map(readdirSync(centres).filter((f) => /\.(json|ya?ml)$/.test(f)).map((f) => [readStatusFile(join(centres, f)).status!.id, join(centres, f)]));
  const apiKey = `apply-${run}`;
  const env = { IOV_API_KEYS: `apply:${apiKey}`, IOV_LOG_LEVEL: process.env.IOV_LOG_LEVEL ?? 'warn' };
  const checks: Check[] = [];
  let sim: SimulationReport | undefined;
  let failed: string | undefined;
  let gateway: Supervisor | undefined;
  let c: Controller | undefined;
  const stopWatch = new AbortController();
  // Heartbeats: every centre's status file touched each second, but the failed one's.
  const reporter = setInterval(() => {
    const now = new Date();
    for (const [id, f] of statusFiles) if (id !== failed) utimesSync(f, now, now);
  }, 1_000);
  const onSignal = () => void Promise.allSettled([gateway?.stop(2_000), c && destroy(c, () => {})]).finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const heartbeatTimeoutS = o.heartbeatTimeoutS ?? 3;
    c = await openController({
      inputs: { topology: topologyFile, demand: demandFile, centres, ...(o.stateDir ? { stateDir: o.stateDir } : {}) },
      groupsDir: join(dir, 'groups'), env, threads: 0, solver: 'exact',
      memberArgs: ['--window', String(o.windowS), '--lateness', String(o.allowedLatenessS)],
      heartbeatTimeoutS, demandThreshold: 0.2, intervalMs: 1_000, readyTimeoutMs: 120_000, handoverTimeoutMs: 120_000,
      log: (l) => event(`apply: ${l}`),
    });
    const controller = c;
    const start = await cleanStart(controller.runtime);
    event(`run ${run}: segments ${runTopo.segments.map((s) => s.id).join(', ')}, databases *_apply_${run}, centres in ${centres} (heartbeat timeout ${heartbeatTimeoutS} s)`);
    const port = await freePort();
    gateway = createSupervisor({
      specs: [{ name: 'gateway-1', args: ['gateway', '--port', String(port), '--topology', topologyFile, ...(o.stateDir ? ['--state-dir', o.stateDir] : [])], env: { ...env, IOV_LOG_LEVEL: 'info' }, ready: READY_LINES.gateway }],
      log: (l) => event(l), onStderr: () => {},
    });
    const [first] = await Promise.all([controller.round(), gateway.start()]);
    if (first.error) throw new Error(`first apply failed: ${first.error}`);
    const rounds: RoundReport[] = [];
    const watching = watch(controller, { intervalMs: 1_000 }, stopWatch.signal, (r) => { if (r.reasons.length || r.error || r.started || r.stopped) rounds.push(r); });

    const plan = controller.state().plan!;
    const simStart = Date.now();
    const failure = (async () => {
      await sleep(Math.max(0, simStart + o.failAtS * 1000 - Date.now()));
      failed = o.failCentre === 'cheapest' ? cheapestCentre(plan, statusFiles) : o.failCentre;
      const victims = controller.state().members.filter((m) => m.centre === failed);
      for (const m of victims) controller.groups.signal(m, 'SIGKILL');
      event(`centre ${failed} fails: heartbeat stopped, ${victims.map((m) => `${m.name} (pid ${m.pid})`).join(', ') || 'no processes'} SIGKILLed`);
    })();
    sim = await runSimulation({
      targets: [`http://127.0.0.1:${port}`], apiKey, vehicles: o.vehicles, seed: o.seed, idPrefix: `v${run}`,
      durationS: o.durationS, rate: o.rate ?? o.vehicles / 5, batchSize: 200, concurrency: 2, timeoutMs: 4_000, retries: 10, maxBackoffMs: 3_000,
    });
    event(`simulator done: ${sim.sent} sent, ${sim.accepted} accepted, ${sim.duplicates} duplicates, ${sim.rejected} rejected, ${sim.retries} retries, ${sim.failedBatches} batches failed`);
    await failure;
    // The controller has moved every segment off the failed centre and its members own all partitions.
    const deadline = Date.now() + 180_000;
    while (!rounds.some((r) => r.diff && r.diff.counts.move > 0 && !r.error) || controller.state().plan!.segments.some((s) => s.centre === failed)) {
      if (Date.now() > deadline) throw new Error(`the controller did not move the segments off ${failed}: ${rounds.map((r) => r.error ?? r.reasons.join(', ')).join(' | ')}`);
      await sleep(500);
    }
    stopWatch.abort();
    await watching;
    const after = controller.state();
    checks.push({
      name: `the failed centre's segments moved`,
      ok: !after.plan!.segments.some((s) => s.centre === failed) && !after.members.some((m) => m.centre === failed),
      detail: `${plan.segments.map((s) => `${s.segment} ${s.centre}×${s.replicas}`).join(', ')} → ${after.plan!.segments.map((s) => `${s.segment} ${s.centre}×${s.replicas}`).join(', ')}`,
    });

    // ---- drain: every member processes what its partitions hold, flushes and commits ----
    const lines = collectLines();
    const tail = tailLogs(controller, lines.on);
    try {
      const byName = (name: string) => controller.state().members.find((m) => m.name === name);
      const members = (): Member[] => controller.state().members.map((m) => ({ name: m.name, pid: m.pid, state: 'running', restarts: 0, startedAt: Date.parse(m.startedAt) }));
      await drainUntilCommitted({ members, signal: (name, sig) => { const m = byName(name); return m ? controller.groups.signal(m, sig) : false; } }, lines, controller.runtime.bus(), runTopo, {
        sessionTimeoutMs: GROUP_TIMINGS.sessionTimeoutMs, onRound: (l) => event(l),
      });
    } finally {
      clearInterval(tail);
    }
    await destroy(controller, (l) => event(`stop ${l.trim()}`));
    await gateway.stop();
    checks.push(...await checkAgainstOracle({ rt: controller.runtime, start, sim, windowS: o.windowS, allowedLatenessS: o.allowedLatenessS, readGroup: `iov-apply-read-${run}` }));
    return { ok: checks.every((x) => x.ok), run, failed, events, sim, checks };
  } catch (err) {
    checks.push({ name: 'run completed', ok: false, detail: (err as Error).message });
    return { ok: false, run, failed, events, sim, checks };
  } finally {
    clearInterval(reporter);
    stopWatch.abort();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (c) {
      await destroy(c, () => {}).catch(() => {});
      await c.close();
    }
    await gateway?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The running plan's centre with the lowest VM price (ties: the one with most segments). */
function cheapestCentre(plan: { segments: { centre: string }[] }, files: Map<string, string>): string {
  const used = [...new Set(plan.segments.map((s) => s.centre))];
  const price = (id: string) => readStatusFile(files.get(id)!).status?.vmPricePerHour ?? Infinity;
  const count = (id: string) => plan.segments.filter((s) => s.centre === id).length;
  return used.sort((a, b) => price(a) - price(b) || count(b) - count(a))[0]!;
}

/** Feed each member's new log lines to `on` (the drain waits for their `drained` lines). */
function tailLogs(c: Controller, on: (name: string, line: string) => void): NodeJS.Timeout {
  const read = new Map<string, { at: number; rest: string }>();
  return setInterval(() => {
    for (const m of c.state().members as MemberRecord[]) {
      const pos = read.get(m.name) ?? { at: m.logFrom, rest: '' };
      const chunk = c.groups.output(m, pos.at);
      if (!chunk) continue;
      pos.at += Buffer.byteLength(chunk);
      const parts = (pos.rest + chunk).split('\n');
      pos.rest = parts.pop() ?? '';
      for (const line of parts) on(m.name, line);
      read.set(m.name, pos);
    }
  }, 100);
}

export function formatApplyDemoSummary(s: ApplyDemoSummary): string {
  const out = [`apply demo run ${s.run}: centre ${s.failed ?? '—'} failed mid-run`, '', 'events:', ...s.events.map((e) => `  ${e}`), '', 'checks:'];
  for (const c of s.checks) out.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  out.push('', s.ok ? 'ALL CHECKS PASSED' : 'CHECKS FAILED');
  return out.join('\n');
}
