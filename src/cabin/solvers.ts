// The product's two solvers behind the one solver interface (types.ts GapSolver), and the
// registry `allocate` and `iov allocate --solver` resolve names from: the product's first,
// then the laboratory's (src/cabin/lab), which plug into the same interface.
import { solveAnytime } from './anytime.ts';
import { solveExactWithin } from './exact-thread.ts';
import { LAB_SOLVERS } from './lab/index.ts';
import type { AllocationStatus, GapSolver, SolverName } from './types.ts';

export const exactSolver: GapSolver = {
  name: 'exact',
  defaultTimeLimitMs: 60_000,
  async solve(g, o) {
    const r = await solveExactWithin(g, { timeLimitMs: o.timeLimitMs, seed: o.seed });
    return { assignment: r.assignment, status: r.status, lowerBound: r.lowerBound, info: { proof: r.proof, columns: r.columns, removedPairs: r.removedPairs } };
  },
};

export const fastSolver: GapSolver = {
  name: 'fast',
  defaultTimeLimitMs: 2000,
  async solve(g, o) {
    const r = await solveAnytime(g, { timeLimitMs: o.timeLimitMs, seed: o.seed });
    const status: AllocationStatus = r.assignment ? (r.provenOptimal ? 'optimal' : 'feasible') : r.unplaceable.length ? 'infeasible' : 'unknown';
    return { assignment: r.assignment, status, lowerBound: r.lowerBound, info: { timeToBestMs: r.timeToBestMs, firstPlan: r.firstPlan, phases: r.phases } };
  },
};

export const SOLVER_REGISTRY: readonly GapSolver[] = [exactSolver, fastSolver, ...LAB_SOLVERS];

export function findSolver(name: SolverName): GapSolver | undefined {
  return SOLVER_REGISTRY.find((s) => s.name === name);
}
