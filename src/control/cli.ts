// The `iov apply` action (without --emit; options checked in src/cli/commands/apply.ts):
// one round, rounds until SIGINT/SIGTERM (--watch), or --destroy. The process groups outlive
// the controller: they are detached and recorded in applied.json, a later `iov apply` adopts
// them, and `iov apply --destroy` stops them (docs/cabin.md §8.3).
import { join } from 'node:path';
import { badOption, readPlan, SOLVERS, stopExactThread, type SolverName } from '../cabin/index.ts';
import { DEFAULT_TOPOLOGY_FILE, resolveStateDir, statePaths } from '../topology/index.ts';
import { destroy, openController, watch, type ControllerOptions } from './controller.ts';

export interface ApplySettings {
  topology?: string; demand?: string; centres?: string; store?: string; stateDir?: string;
  /** carry out this plan file instead of allocating */
  plan?: string;
  groupsDir?: string;
  solver: string;
  timeLimitMs?: number;
  threads: number;
  windowS: number;
  allowedLatenessS: number;
  heartbeatTimeoutS: number;
  demandThreshold: number;
  intervalMs: number;
  mode: 'once' | 'watch' | 'destroy';
}

export function controllerOptions(a: ApplySettings, log: (line: string) => void): ControllerOptions {
  if (!SOLVERS.includes(a.solver as SolverName)) throw badOption(`--solver must be one of ${SOLVERS.join(', ')}, got ${JSON.stringify(a.solver)}`);
  const stateDir = resolveStateDir(a.stateDir);
  return {
    inputs: {
      topology: a.topology ?? DEFAULT_TOPOLOGY_FILE, stateDir,
      ...(a.demand ? { demand: a.demand } : {}), ...(a.centres ? { centres: a.centres } : {}), ...(a.store ? { store: a.store } : {}),
    },
    groupsDir: a.groupsDir ?? join(statePaths(stateDir).dir, 'centres'),
    threads: a.threads,
    memberArgs: ['--window', String(a.windowS), '--lateness', String(a.allowedLatenessS)],
    solver: a.solver as SolverName,
    ...(a.timeLimitMs !== undefined ? { timeLimitMs: a.timeLimitMs } : {}),
    ...(a.plan ? { plan: readPlan(a.plan) } : {}),
    heartbeatTimeoutS: a.heartbeatTimeoutS,
    demandThreshold: a.demandThreshold,
    intervalMs: a.intervalMs,
    readyTimeoutMs: 120_000,
    handoverTimeoutMs: 120_000,
    log,
  };
}

export async function runApplyCommand(a: ApplySettings, log: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const o = controllerOptions(a, log);
  // Signal handlers before the banner: a SIGTERM sent on seeing it must stop the loop cleanly.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const c = await openController(o);
  try {
    if (a.mode === 'destroy') {
      const n = await destroy(c, log);
      log(`Destroy complete! ${n} process(es) stopped.`);
      return;
    }
    if (a.mode === 'once') {
      const r = await c.round(true);
      if (r.error) process.exitCode = 1;
      return;
    }
    log(`watching ${o.inputs.topology}, ${o.inputs.centres ?? 'the directory store'} every ${o.intervalMs} ms (heartbeat timeout ${o.heartbeatTimeoutS} s); groups in ${o.groupsDir}`);
    await watch(c, o, stop.signal);
    log('stopped watching; the process groups keep running (iov apply --destroy stops them)');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await c.close();
    await stopExactThread();
  }
}
