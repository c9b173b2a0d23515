// One entry point for the three solvers on the allocation model.
import { CabinError, badOption } from './errors.ts';
import { solveExact } from './exact.ts';
import { relGap } from './fast.ts';
import { solveFastHybrid } from './hybrid.ts';
import { solveGa } from './ga.ts';
import { allocationsFrom, explainInfeasible, toGap } from './model.ts';
import type { AllocationInstance, AllocationResult, AllocationStatus, SolverName } from './types.ts';

export interface AllocateOptions {
  solver?: SolverName;
  /** wall-clock budget in ms (default: exact 60 s, fast 2 s, ga 5 s) */
  timeLimitMs?: number;
  seed?: number;
}

export const SOLVERS: readonly SolverName[] = ['exact', 'fast', 'ga'];

export function validateAllocateOptions(o: AllocateOptions): void {
  if (o.solver !== undefined && !SOLVERS.includes(o.solver)) throw badOption(`options.solver must be one of ${SOLVERS.join(', ')}, got ${JSON.stringify(o.solver)}`);
  if (o.timeLimitMs !== undefined && !(Number.isFinite(o.timeLimitMs) && o.timeLimitMs > 0)) throw badOption('options.timeLimitMs must be a positive number');
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw badOption('options.seed must be an integer');
}

export async function allocate(inst: AllocationInstance, opts: AllocateOptions = {}): Promise<AllocationResult> {
  validateAllocateOptions(opts);
  const solver = opts.solver ?? 'exact';
  if (inst.centres.length === 0) throw new CabinError('CABIN_NO_CENTRES', 'no centres: register centres in the directory (iov directory register <dir>) or pass --centres <dir>');
  const red = toGap(inst);
  const t0 = Date.now();
  let a: Int32Array | null = null;
  let status: AllocationStatus;
  let lb = -Infinity;
  let info: Record<string, unknown> = {};
  if (solver === 'exact') {
    const r = await solveExact(red.gap, { timeLimitMs: opts.timeLimitMs ?? 60_000, seed: opts.seed ?? 1 });
    a = r.assignment; status = r.status; lb = r.lowerBound;
    info = { proof: r.proof, columns: r.columns, removedPairs: r.removedPairs };
  } else if (solver === 'fast') {
    const r = await solveFastHybrid(red.gap, { timeLimitMs: opts.timeLimitMs ?? 2000, seed: opts.seed ?? 1 });
    a = r.assignment; lb = r.lowerBound;
    status = r.assignment ? (r.provenOptimal ? 'optimal' : 'feasible') : r.unplaceable.length ? 'infeasible' : 'unknown';
    info = { iterations: r.iterations, timeToBestMs: r.timeToBestMs, milpPhase: r.milpPhase ?? 'none', ...(r.method ? { method: r.method, nodes: r.nodes } : {}), ...(r.proof ? { proof: r.proof } : {}), ...(r.lns ? { lns: r.lns } : {}) };
  } else {
    const r = solveGa(red.gap, { timeLimitMs: opts.timeLimitMs ?? 5000, seed: opts.seed ?? 1 });
    a = r.assignment;
    status = a ? 'feasible' : 'unknown';
    info = { generations: r.generations };
  }
  const timeMs = Date.now() - t0;
  if (!a) {
    const explanation = explainInfeasible(inst, red);
    if (explanation.length) status = 'infeasible';
    else if (status === 'infeasible') explanation.push('every block fits some centre alone, but no assignment respects every centre\'s VM count (proved by the MILP)');
    else explanation.push(`the ${solver} solver found no feasible allocation in the time given; try --solver exact or a longer --time-limit`);
    return { instance: inst.name, solver, status, totalCost: Infinity, lowerBound: lb, gap: Infinity, timeMs, allocations: [], explanation, info };
  }
  const allocations = allocationsFrom(inst, red, a);
  const totalCost = allocations.reduce((s, x) => s + x.cost, 0);
  return { instance: inst.name, solver, status, totalCost, lowerBound: lb, gap: relGap(totalCost, lb), timeMs, allocations, explanation: [], info };
}
