// `iov apply` and `iov apply --watch` (docs/cabin.md §8.2–8.3): the desired state
// (topology, demand, offered centres, the migration term against what runs) → the
// allocator's plan → its difference from the applied plan → the steps on the local process
// groups (reconcile.ts) → the applied state. `--watch` repeats this whenever the inputs
// warrant a re-plan (observe.ts) or a member died, until stopped.
import { join } from 'node:path';
import {
  allocate, CabinError, diffPlans, formatPlanDiff, moveCosts, planFromResult, runningPlacement,
  type InputFiles, type PlanDiff, type ReplicaPlan, type SolverName,
} from '../cabin/index.ts';
import { openRuntime, type Runtime } from '../runtime/index.ts';
import { createCentreGroups, type CentreGroups } from './groups.ts';
import { createObserver, replanReasons, type Snapshot } from './observe.ts';
import { processLayout, pruneDead, reconcile } from './reconcile.ts';
import { emptyState, readApplied, writeApplied, type AppliedState } from './state.ts';

export interface ControllerOptions {
  inputs: InputFiles & { topology: string };
  /** `<groups-dir>/<centre>/` per centre, `<groups-dir>/applied.json` (default `<state-dir>/centres`). */
  groupsDir: string;
  /** The member processes' other arguments (window, lateness) after --topology/--state-dir. */
  memberArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Pool threads per process; 0 = one replica per process on its main thread. */
  threads: number;
  solver: SolverName;
  timeLimitMs?: number;
  /** Carry out this plan instead of allocating (`iov apply --plan <file>`; not with --watch). */
  plan?: ReplicaPlan;
  heartbeatTimeoutS: number;
  demandThreshold: number;
  intervalMs: number;
  readyTimeoutMs: number;
  handoverTimeoutMs: number;
  log: (line: string) => void;
}

export interface RoundReport {
  at: string;
  /** Why this round planned (first look, input changes) — empty when it only restarted members. */
  reasons: string[];
  diff?: PlanDiff;
  started: number;
  stopped: number;
  /** The round's error (CABIN_APPLY_FAILED, CABIN_INFEASIBLE, …), if any. */
  error?: string;
  plan: ReplicaPlan | null;
}

export interface Controller {
  readonly groups: CentreGroups;
  readonly runtime: Runtime;
  state(): AppliedState;
  /** Write the applied state file. */
  save(): void;
  /** One reconciling round: re-plan if `force` or the inputs changed, then carry out. */
  round(force?: boolean): Promise<RoundReport>;
  close(): Promise<void>;
}

export async function openController(o: ControllerOptions): Promise<Controller> {
  const stateFile = join(o.groupsDir, 'applied.json');
  const rt = await openRuntime({ topology: o.inputs.topology, ...(o.inputs.stateDir ? { stateDir: o.inputs.stateDir } : {}), clientId: 'iov-apply' });
  await rt.ensureTopics();
  const bus = rt.bus();
  const groups = createCentreGroups({
    dir: o.groupsDir, env: o.env,
    memberArgs: ['--topology', o.inputs.topology, ...(o.inputs.stateDir ? ['--state-dir', o.inputs.stateDir] : []), ...(o.memberArgs ?? [])],
  });
  const state: AppliedState = readApplied(stateFile) ?? emptyState(o.inputs.topology);
  const save = () => writeApplied(stateFile, state);
  const observe = createObserver(o, (l) => o.log(`note: ${l}`));
  let planned: Snapshot | undefined;
  // When members of a centre were found dead: they are started again only once their centre
  // has reported since (a crash on a healthy centre), never on a centre that went quiet with
  // them (a failing centre, which the heartbeat timeout then re-plans away from).
  const deaths = new Map<string, number>();

  async function round(force = false): Promise<RoundReport> {
    const report: RoundReport = { at: new Date().toISOString(), reasons: [], started: 0, stopped: 0, plan: state.plan };
    try {
      const { instance, snapshot, heartbeats } = observe();
      const dead = pruneDead(state, groups, o.log);
      for (const m of dead) if (!deaths.has(m.centre)) deaths.set(m.centre, Date.now());
      if (dead.length) save();
      const restartable = (centre: string) => {
        const hb = heartbeats.get(centre);
        return !hb?.reporting || hb.lastReport > (deaths.get(centre) ?? 0);
      };
      report.reasons = !state.plan ? ['no plan applied yet'] : force ? ['apply asked for'] : !planned ? ['the controller started'] : replanReasons(planned, snapshot, o.demandThreshold);
      const missing = (state.plan?.segments ?? []).some((s) => restartable(s.centre) &&
        state.members.filter((m) => m.segment === s.segment && m.centre === s.centre).length < processLayout(s.replicas, o.threads).length);
      if (report.reasons.length === 0 && !missing) return report;
      let desired = state.plan!;
      const offered = new Set(instance.centres.map((c) => c.id));
      if (report.reasons.length) {
        o.log(`re-planning: ${report.reasons.join('; ')}`);
        let moves: Record<string, number> = {};
        if (o.plan) desired = o.plan;
        else {
          const running = state.plan ? { running: runningPlacement(state.plan) } : {};
          const r = await allocate({ ...instance, ...running }, { solver: o.solver, ...(o.timeLimitMs ? { timeLimitMs: o.timeLimitMs } : {}) });
          if (r.allocations.length === 0) throw new CabinError('CABIN_INFEASIBLE', `no allocation (${r.status}): ${r.explanation.join('; ')}`, r.explanation);
          desired = planFromResult({ ...instance, ...running }, r);
          moves = moveCosts(r);
        }
        report.diff = diffPlans(state.plan ?? undefined, desired, offered, moves);
        for (const line of formatPlanDiff(report.diff).trimEnd().split('\n')) o.log(line);
        planned = snapshot;
      } else {
        o.log(`restarting members that exited (plan unchanged)`);
      }
      const counts = await reconcile(state, desired, {
        groups, bus, threads: o.threads, offered, readyTimeoutMs: o.readyTimeoutMs, handoverTimeoutMs: o.handoverTimeoutMs, save, log: o.log,
      });
      state.plan = desired;
      save();
      deaths.clear();
      Object.assign(report, counts, { plan: desired });
      const n = report.diff?.counts;
      o.log(`Apply complete! ${n ? `${n.add} added, ${n.move} moved, ${n.scale} rescaled, ${n.remove} removed, ${n.keep} unchanged; ` : ''}${counts.started} process(es) started, ${counts.stopped} stopped.`);
    } catch (err) {
      report.error = `${(err as { code?: string }).code ? `[${(err as { code: string }).code}] ` : ''}${(err as Error).message}`;
      o.log(`Apply failed: ${report.error}`);
    }
    return report;
  }

  return {
    groups, runtime: rt,
    state: () => state,
    save,
    round,
    close: () => rt.close(),
  };
}

/** `iov apply --watch`: rounds every intervalMs until `signal` aborts; the groups keep running after it. */
export async function watch(c: Controller, o: Pick<ControllerOptions, 'intervalMs'>, signal: AbortSignal, onRound: (r: RoundReport) => void = () => {}): Promise<void> {
  while (!signal.aborted) {
    onRound(await c.round());
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, o.intervalMs);
      signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    });
  }
}

/** `iov apply --destroy`: stop every member recorded, forget the plan. */
export async function destroy(c: Controller, log: (line: string) => void): Promise<number> {
  const s = c.state();
  let n = 0;
  for (const m of [...s.members]) {
    const how = await c.groups.stop(m);
    log(`  - ${m.name} (pid ${m.pid}) ${how}`);
    s.members = s.members.filter((x) => x !== m);
    c.save();
    n++;
  }
  s.members = [];
  s.plan = null;
  c.save();
  return n;
}
