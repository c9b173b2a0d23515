// The `iov allocate` / `iov directory` actions (the commander wiring is in src/cli/commands;
// it imports this module lazily so `--help` stays instant).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveStateDir, statePaths } from '../topology/index.ts';
import { readPlanningInputs } from './inputs.ts';
import {
  findCentre, listCentres, loadDirectory,
  registerFolder, saveDirectory, withdrawCentre,
} from './directory.ts';
import { CabinError, badOption } from './errors.ts';
import { assignmentCost, readGapFile } from './gap.ts';
import { generateInstance, LARGE_SIZES, TABLE4_SIZES } from './lab/index.ts';
import { planFromResult, writePlan } from './plan.ts';
import { allocate, SOLVERS } from './solve.ts';
import { findSolver } from './solvers.ts';
import { diffPlans, formatPlanDiff, moveCosts, runningPlacement } from './plan-diff.ts';
import { readPlan, readPlanIfAny } from '../topology/index.ts';
import { k8sManifests } from './k8s.ts';
import { stopExactThread } from './exact-thread.ts';
import { loadHighs } from './exact.ts';
import { relGap } from './fast.ts';
import type { AllocationInstance, SolverName } from './types.ts';
import { readFileSync } from 'node:fs';

export interface AllocateCliOptions {
  topology?: string;
  demand?: string;
  centres?: string;
  store?: string;
  solver?: string;
  timeLimit?: string;
  seed?: string;
  out?: string;
  json?: boolean;
  gap?: string;
  instance?: string;
  generate?: string;
  outDir?: string;
  /** The state folder (plan.json, directory.json); default IOV_STATE_DIR, else .iov. */
  stateDir?: string;
}

export { defaultDemandFile } from './inputs.ts';

export interface ParsedAllocateOptions {
  mode: 'topology' | 'gap' | 'instance' | 'generate';
  solver: SolverName;
  timeLimitMs?: number;
  seed: number;
  out: string;
  sizes: [number, number][];
}

/** Validate the CLI options; messages are stable (tested). */
export function parseAllocateOptions(o: AllocateCliOptions): ParsedAllocateOptions {
  const solver = (o.solver ?? 'exact') as SolverName;
  if (!SOLVERS.includes(solver)) throw badOption(`--solver must be one of ${SOLVERS.join(', ')}, got ${JSON.stringify(o.solver)}`);
  let timeLimitMs: number | undefined;
  if (o.timeLimit !== undefined) {
    timeLimitMs = Number(o.timeLimit);
    if (!/^\d+$/.test(o.timeLimit) || !(timeLimitMs > 0)) throw badOption(`--time-limit must be a positive integer (milliseconds), got ${JSON.stringify(o.timeLimit)}`);
  }
  let seed = 1;
  if (o.seed !== undefined) {
    if (!/^-?\d+$/.test(o.seed)) throw badOption(`--seed must be an integer, got ${JSON.stringify(o.seed)}`);
    seed = Number(o.seed);
  }
  const modes = [o.topology && 'topology', o.gap && 'gap', o.instance && 'instance', o.generate && 'generate'].filter(Boolean) as ParsedAllocateOptions['mode'][];
  // no input named: the topology mode on the default topology (DEFAULT_TOPOLOGY_FILE)
  if (modes.length === 0) modes.push('topology');
  if (modes.length > 1) throw badOption(`--${modes[0]} and --${modes[1]} cannot be used together`);
  let sizes: [number, number][] = [];
  if (o.generate) {
    if (o.generate === 'table4') sizes = TABLE4_SIZES.map(([a, b]) => [a, b]);
    else if (o.generate === 'large') sizes = LARGE_SIZES.map(([a, b]) => [a, b]);
    else {
      for (const part of o.generate.split(',')) {
        const mt = /^(\d+)x(\d+)$/.exec(part.trim());
        if (!mt || Number(mt[1]) < 1 || Number(mt[2]) < 1) throw badOption(`--generate must be table4, large or a list like 5x10,20x20 (blocks x centres), got ${JSON.stringify(o.generate)}`);
        sizes.push([Number(mt[1]), Number(mt[2])]);
      }
    }
  }
  const p: ParsedAllocateOptions = { mode: modes[0]!, solver, seed, out: o.out ?? statePaths(resolveStateDir(o.stateDir)).plan, sizes };
  if (timeLimitMs !== undefined) p.timeLimitMs = timeLimitMs;
  return p;
}

const write = (s: string): void => { process.stdout.write(s); };

export async function runAllocate(o: AllocateCliOptions): Promise<void> {
  // HiGHS's WebAssembly compiles while the inputs are read, not inside the solver's time
  // limit (docs/cabin.md §5.1: a time limit is a promise)
  void loadHighs().catch(() => undefined);
  try {
    await allocateCommand(o);
  } finally {
    // the fast solver's exact worker (and the TypeScript loader it runs) would keep the
    // process alive
    await stopExactThread();
  }
}

async function allocateCommand(o: AllocateCliOptions): Promise<void> {
  const p = parseAllocateOptions(o);
  if (p.mode === 'gap') return runGap(o.gap!, p, o.json === true);
  if (p.mode === 'generate') {
    const dir = o.outDir ?? 'infra/cabin/instances';
    mkdirSync(dir, { recursive: true });
    for (const [n, w] of p.sizes) {
      const inst = generateInstance({ blocks: n, centres: w, seed: p.seed });
      const file = join(dir, `${inst.name}.json`);
      writeFileSync(file, `${JSON.stringify(inst)}\n`);
      write(`${file}\n`);
    }
    return;
  }
  const inst = p.mode === 'instance' ? JSON.parse(readFileSync(o.instance!, 'utf8')) as AllocationInstance : topologyInstance(o);
  const r = await allocate(inst, { solver: p.solver, seed: p.seed, ...(p.timeLimitMs !== undefined ? { timeLimitMs: p.timeLimitMs } : {}) });
  if (o.json) write(`${JSON.stringify(r, null, 2)}\n`);
  if (r.allocations.length === 0) {
    throw new CabinError('CABIN_INFEASIBLE', `no allocation (${r.status}):\n  ${r.explanation.join('\n  ')}`, r.explanation);
  }
  if (!o.json) {
    write(`${inst.name}: ${inst.blocks.length} blocks on ${inst.centres.length} centres, deadline ${inst.deadlineS} s, rental ${inst.rentalHours} h\n`);
    write(`${'segment'.padEnd(14)}${'centre'.padEnd(16)}${'replicas'.padStart(8)}${'latency ms'.padStart(12)}${'cost'.padStart(12)}\n`);
    for (const a of r.allocations) {
      write(`${a.block.padEnd(14)}${a.centre.padEnd(16)}${String(a.replicas).padStart(8)}${a.expectedLatencyMs.toFixed(0).padStart(12)}${a.cost.toFixed(2).padStart(12)}\n`);
    }
    const lb = Number.isFinite(r.lowerBound) ? `, lower bound ${r.lowerBound.toFixed(2)} (gap ${(r.gap * 100).toFixed(3)} %)` : '';
    write(`total ${r.totalCost.toFixed(2)} — ${r.solver} solver, ${r.status}${lb}, ${r.timeMs} ms\n`);
  }
  if (p.mode === 'topology') {
    writePlan(p.out, planFromResult(inst, r));
    if (!o.json) write(`plan written to ${p.out}\n`);
  }
}

/** The allocation instance of a topology: its demand file (one default) and the centres. */
function topologyInstance(o: AllocateCliOptions): AllocationInstance {
  return readPlanningInputs(o).instance;
}

/** `iov plan`: the allocator's plan for the current inputs against the plan file (not written). */
export async function runPlan(o: AllocateCliOptions): Promise<void> {
  try {
    const p = parseAllocateOptions({ ...o, gap: undefined, instance: undefined, generate: undefined } as AllocateCliOptions);
    const current = readPlanIfAny(p.out);
    // Moves off the running plan pay the migration term (docs/cabin.md §2.2).
    const inst = { ...topologyInstance(o), ...(current ? { running: runningPlacement(current) } : {}) };
    const r = await allocate(inst, { solver: p.solver, seed: p.seed, ...(p.timeLimitMs !== undefined ? { timeLimitMs: p.timeLimitMs } : {}) });
    if (r.allocations.length === 0) throw new CabinError('CABIN_INFEASIBLE', `no allocation (${r.status}):\n  ${r.explanation.join('\n  ')}`, r.explanation);
    const diff = diffPlans(current, planFromResult(inst, r), new Set(inst.centres.map((c) => c.id)), moveCosts(r));
    if (o.json) write(`${JSON.stringify({ plan: p.out, ...diff }, null, 2)}\n`);
    else write(`${current ? `running plan ${p.out}` : `no plan at ${p.out}`}; desired: ${r.solver} solver, ${r.status}\n${formatPlanDiff(diff)}`);
  } finally {
    await stopExactThread();
  }
}

/** `iov apply --emit k8s`: the plan file as Deployments. */
export function runApply(o: { emit?: string; plan?: string; out?: string; stateDir?: string }): void {
  if (o.emit !== 'k8s') throw badOption(`--emit must be k8s, got ${JSON.stringify(o.emit)}`);
  const file = o.plan ?? statePaths(resolveStateDir(o.stateDir)).plan;
  const yaml = k8sManifests(readPlan(file));
  if (o.out) writeFileSync(o.out, yaml);
  else write(yaml);
}

async function runGap(file: string, p: ParsedAllocateOptions, json: boolean): Promise<void> {
  const g = readGapFile(file);
  const solver = findSolver(p.solver)!;
  const t0 = Date.now();
  const r = await solver.solve(g, { seed: p.seed, timeLimitMs: p.timeLimitMs ?? solver.defaultTimeLimitMs });
  const cost = r.assignment ? assignmentCost(g, r.assignment) : Infinity;
  const out: Record<string, unknown> = {
    solver: solver.name, status: r.status, cost, lowerBound: r.lowerBound, gap: relGap(cost, r.lowerBound), timeMs: Date.now() - t0, ...r.info,
  };
  if (json) write(`${JSON.stringify({ file, agents: g.m, jobs: g.n, ...out, assignment: r.assignment ? Array.from(r.assignment) : null })}\n`);
  else write(`${file}: ${g.m} agents × ${g.n} jobs: ${Object.entries(out).map(([k, v]) => `${k} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')}\n`);
  if (!r.assignment) {
    const why = r.status === 'infeasible'
      ? 'no assignment respects every agent\'s capacity (proved by the solver)'
      : `the ${solver.name} solver found no feasible assignment in the time given; try --solver exact or a longer --time-limit`;
    throw new CabinError('CABIN_INFEASIBLE', `${file}: no assignment (${r.status}): ${why}`, [why]);
  }
}

// --- iov directory ---------------------------------------------------------------------

export function runDirectoryRegister(folder: string, store = statePaths().directory): void {
  const d = loadDirectory(store);
  const rep = registerFolder(d, folder);
  saveDirectory(d, store);
  write(`registered from ${folder} into ${store}: ${rep.added.length} added, ${rep.updated.length} updated, ${rep.unchanged.length} unchanged, ${rep.errors.length} errors\n`);
  for (const id of rep.added) write(`  + ${id}\n`);
  for (const id of rep.updated) write(`  ~ ${id}\n`);
  for (const e of rep.errors) process.stderr.write(`  ! ${e.file}: ${e.field}: ${e.message}\n`);
  if (rep.errors.length) process.exitCode = 1;
}

export function runDirectoryList(store = statePaths().directory, json = false): void {
  const d = loadDirectory(store);
  if (json) { write(`${JSON.stringify(d, null, 2)}\n`); return; }
  for (const p of d.providers) {
    write(`${p.name}${Object.keys(p.accessLimits).length ? `  limits ${JSON.stringify(p.accessLimits)}` : ''}\n`);
    for (const l of p.locations) {
      write(`  ${l.name}  uplink ${l.uplinkMbps ?? '?'} Mbit/s, ${l.centreCount} centre(s)\n`);
      for (const c of l.centres) {
        write(`    ${c.id.padEnd(16)} ${c.state.padEnd(8)} ${String(c.vmCount).padStart(4)} VMs × ${c.vmSpeedMBps} MB/s @ ${c.vmPricePerHour}/h, uplink ${c.uplinkPricePerGB}/GB, ${c.accessForm}\n`);
      }
    }
  }
  if (d.providers.length === 0) write(`(empty directory: ${store})\n`);
}

export function runDirectoryShow(id: string, store = statePaths().directory): void {
  const e = findCentre(loadDirectory(store), id);
  if (!e) throw new CabinError('CABIN_UNKNOWN_CENTRE', `no centre ${id} in ${store} (have: ${listCentres(loadDirectory(store)).map((x) => x.centre.id).join(', ') || 'none'})`);
  write(`${JSON.stringify({ provider: e.provider, location: e.location, ...e.centre }, null, 2)}\n`);
}

export function runDirectoryWithdraw(id: string, store = statePaths().directory): void {
  const d = loadDirectory(store);
  if (!withdrawCentre(d, id)) throw new CabinError('CABIN_UNKNOWN_CENTRE', `no centre ${id} in ${store}`);
  saveDirectory(d, store);
  write(`withdrew ${id}\n`);
}
