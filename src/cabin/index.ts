// Public surface of the cabin allocator (DESIGN.md §6, docs/cabin.md).
export * from './types.ts';
export { CabinError, CABIN_ERRORS, type CabinErrorCode } from './errors.ts';
export {
  type Gap, type Assignment, makeGap, parseGap, readGapFile, assignmentCost, isFeasible, overloads,
  gapDataDir, readBestKnown, type GapBenchmarkEntry,
} from './gap.ts';
export { lagrangianBound, type LagrangianResult } from './bound.ts';
export { solveFast, greedyAssign, relGap, type FastOptions, type FastResult } from './fast.ts';
export { solveFastHybrid, lbbApplies, lnsApplies, type HybridOptions } from './hybrid.ts';
export { lnsImprove, type LnsOptions, type LnsResult } from './lns.ts';
export { lagrangianBB, type LbbOptions, type LbbResult } from './lbb.ts';
export { knapsackHeuristic, type KlhOptions, type KlhResult } from './klh.ts';
export { stopMilpThread } from './milp-thread.ts';
export { solveExact, gapToLp, type ExactOptions, type ExactResult, type ExactStatus } from './exact.ts';
export { solveGa, type GaOptions, type GaResult } from './ga.ts';
export { toGap, pairInfo, explainInfeasible, validateInstance, haversineKm, type PairInfo, type Reduction } from './model.ts';
export { checkAllocation, type CheckResult } from './check.ts';
export { allocate, validateAllocateOptions, SOLVERS, type AllocateOptions } from './solve.ts';
export { generateInstance, TABLE4_SIZES, LARGE_SIZES, type GeneratorOptions } from './generator.ts';
export {
  type Directory, type DirectoryProvider, type DirectoryLocation, type DirectoryCentre, type CentreStatus,
  type StatusFieldError, type RegisterReport, type RegisterOutcome, type CentreEntry,
  createDirectory, loadDirectory, saveDirectory, registerCentre, registerFolder,
  withdrawCentre, listCentres, findCentre, parseCentreStatus, readStatusFile, centresFromDirectory, centresFromFolder,
} from './directory.ts';
export { type Demand, type SegmentDemand, DEFAULT_DEMAND, parseDemand, loadDemand, blockSizeMB, instanceFromTopology } from './demand.ts';
export {
  type ReplicaPlan, type SegmentPlan, readPlan, writePlan, validatePlan, planFromResult, replicasFor,
} from './plan.ts';
