// The allocator's laboratory (docs/cabin-history.md): research heuristics measured on
// the OR-Library GAP sets and the generated instances, kept apart from the product path in
// src/cabin. Three of them plug into the product's solver interface (GapSolver) and can be
// chosen with `iov allocate --solver ga|hybrid|tabu`; the rest are their parts.
import type { AllocationStatus, GapSolver } from '../types.ts';
import type { FastResult } from '../fast.ts';
import { solveGa } from './ga.ts';
import { solveFastHybrid } from './hybrid.ts';
import { solveTabu } from './tabu.ts';

export { solveGa, type GaOptions, type GaResult } from './ga.ts';
export { solveFastHybrid, lbbApplies, lnsApplies, type HybridOptions } from './hybrid.ts';
export { solveTabu, type TabuOptions } from './tabu.ts';
export { lnsImprove, type LnsOptions, type LnsResult } from './lns.ts';
export { lagrangianBB, type LbbOptions, type LbbResult } from './lbb.ts';
export { knapsackHeuristic, type KlhOptions, type KlhResult } from './klh.ts';
export { generateInstance, TABLE4_SIZES, LARGE_SIZES, type GeneratorOptions } from './generator.ts';
export { generatePaperInstance, type PaperGeneratorOptions } from './paper-generator.ts';
export { generateCorrelatedInstance, type CorrelatedGeneratorOptions } from './correlated-generator.ts';

function fastStatus(r: FastResult): AllocationStatus {
  return r.assignment ? (r.provenOptimal ? 'optimal' : 'feasible') : r.unplaceable.length ? 'infeasible' : 'unknown';
}

export const gaSolver: GapSolver = {
  name: 'ga',
  defaultTimeLimitMs: 5000,
  async solve(g, o) {
    const r = solveGa(g, { timeLimitMs: o.timeLimitMs, seed: o.seed });
    return { assignment: r.assignment, status: r.assignment ? 'feasible' : 'unknown', lowerBound: -Infinity, info: { generations: r.generations } };
  },
};

export const hybridSolver: GapSolver = {
  name: 'hybrid',
  defaultTimeLimitMs: 2000,
  async solve(g, o) {
    const r = await solveFastHybrid(g, { timeLimitMs: o.timeLimitMs, seed: o.seed });
    return {
      assignment: r.assignment, status: fastStatus(r), lowerBound: r.lowerBound,
      info: { iterations: r.iterations, timeToBestMs: r.timeToBestMs, milpPhase: r.milpPhase ?? 'none', ...(r.method ? { method: r.method, nodes: r.nodes } : {}), ...(r.proof ? { proof: r.proof } : {}), ...(r.lns ? { lns: r.lns } : {}) },
    };
  },
};

export const tabuSolver: GapSolver = {
  name: 'tabu',
  defaultTimeLimitMs: 2000,
  async solve(g, o) {
    const r = solveTabu(g, { timeLimitMs: o.timeLimitMs, seed: o.seed });
    return { assignment: r.assignment, status: fastStatus(r), lowerBound: r.lowerBound, info: { iterations: r.iterations, timeToBestMs: r.timeToBestMs } };
  },
};

export const LAB_SOLVERS: readonly GapSolver[] = [gaSolver, hybridSolver, tabuSolver];
