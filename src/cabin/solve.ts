// One entry point for every solver on the allocation model: the instance becomes a GAP
// (model.ts), the named solver (solvers.ts) solves it, the answer maps back to segments.
import { CabinError, badOption } from './errors.ts';
import { relGap } from './fast.ts';
import { allocationsFrom, explainInfeasible, toGap } from './model.ts';
import { findSolver } from './solvers.ts';
import { SOLVER_NAMES, type AllocationInstance, type AllocationResult, type SolverName } from './types.ts';

export interface AllocateOptions {
  solver?: SolverName;
  /** wall-clock budget in ms (default: the solver's, e.g. exact 60 s, fast 2 s) */
  timeLimitMs?: number;
  seed?: number;
}

export const SOLVERS: readonly SolverName[] = SOLVER_NAMES;

export function validateAllocateOptions(o: AllocateOptions): void {
  if (o.solver !== undefined && !SOLVERS.includes(o.solver)) throw badOption(`options.solver must be one of ${SOLVERS.join(', ')}, got ${JSON.stringify(o.solver)}`);
  if (o.timeLimitMs !== undefined && !(Number.isFinite(o.timeLimitMs) && o.timeLimitMs > 0)) throw badOption('options.timeLimitMs must be a positive number');
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw badOption('options.seed must be an integer');
}

export async function allocate(inst: AllocationInstance, opts: AllocateOptions = {}): Promise<AllocationResult> {
  validateAllocateOptions(opts);
  const name = opts.solver ?? 'exact';
  const solver = findSolver(name);
  if (!solver) throw badOption(`options.solver ${name} is not registered`);
  if (inst.centres.length === 0) throw new CabinError('CABIN_NO_CENTRES', 'no centres: register centres in the directory (iov directory register <dir>) or pass --centres <dir>');
  const red = toGap(inst);
  const t0 = Date.now();
  const r = await solver.solve(red.gap, { timeLimitMs: opts.timeLimitMs ?? solver.defaultTimeLimitMs, seed: opts.seed ?? 1 });
  const timeMs = Date.now() - t0;
  const base = { instance: inst.name, solver: name, lowerBound: r.lowerBound, timeMs, info: r.info };
  if (!r.assignment) {
    const explanation = explainInfeasible(inst, red);
    let status = r.status;
    if (explanation.length) status = 'infeasible';
    else if (status === 'infeasible') explanation.push('every block fits some centre alone, but no assignment respects every centre\'s VM count (proved by the MILP)');
    else explanation.push(`the ${name} solver found no feasible allocation in the time given; try --solver exact or a longer --time-limit`);
    return { ...base, status, totalCost: Infinity, gap: Infinity, allocations: [], explanation };
  }
  const allocations = allocationsFrom(inst, red, r.assignment);
  const totalCost = allocations.reduce((s, x) => s + x.cost, 0);
  return { ...base, status: r.status, totalCost, gap: relGap(totalCost, r.lowerBound), allocations, explanation: [] };
}
