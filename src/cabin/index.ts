// Public surface of the cabin allocator (DESIGN.md §6, docs/cabin.md): the product path —
// directory, model, the exact and the fast solver, plan, check. The research heuristics and
// instance generators are in ./lab (their own index.ts).
export * from './types.ts';
export { CabinError, CABIN_ERRORS, badOption, type CabinErrorCode } from './errors.ts';
export { stopExactThread } from './exact-thread.ts';
export {
  type Gap, type Assignment, makeGap, parseGap, readGapFile, assignmentCost, isFeasible, overloads,
  gapDataDir, readBestKnown, type GapBenchmarkEntry,
} from './gap.ts';
export { lagrangianBound, type LagrangianResult } from './bound.ts';
export { solveFast, greedyAssign, relGap, type FastOptions, type FastResult } from './fast.ts';
export { solveAnytime, timeMarginMs, FIRST_PLAN_ITERATIONS, type AnytimeOptions, type AnytimeResult } from './anytime.ts';
export { solveExact, gapToLp, type ExactOptions, type ExactResult, type ExactStatus } from './exact.ts';
export { toGap, pairInfo, explainInfeasible, validateInstance, haversineKm, type PairInfo, type Reduction } from './model.ts';
export { checkAllocation, type CheckResult } from './check.ts';
export { allocate, validateAllocateOptions, SOLVERS, type AllocateOptions } from './solve.ts';
export { SOLVER_REGISTRY, findSolver, exactSolver, fastSolver } from './solvers.ts';
export {
  type Directory, type DirectoryProvider, type DirectoryLocation, type DirectoryCentre, type CentreStatus,
  type StatusFieldError, type RegisterReport, type RegisterOutcome, type CentreEntry,
  createDirectory, loadDirectory, saveDirectory, registerCentre, registerFolder,
  withdrawCentre, listCentres, findCentre, parseCentreStatus, readStatusFile, centresFromDirectory, centresFromFolder,
} from './directory.ts';
export { DEFAULT_MIGRATION, migrationCost } from './migration.ts';
export { defaultDemandFile, readPlanningInputs, type InputFiles, type PlanningInputs } from './inputs.ts';
export { diffPlans, formatPlanDiff, moveCosts, runningPlacement, type PlanAction, type PlanChange, type PlanDiff } from './plan-diff.ts';
export { k8sManifests, CENTRE_LABEL } from './k8s.ts';
export { type Demand, type SegmentDemand, DEFAULT_DEMAND, parseDemand, loadDemand, blockSizeMB, instanceFromTopology } from './demand.ts';
export {
  type ReplicaPlan, type SegmentPlan, readPlan, writePlan, validatePlan, planFromResult, replicasFor,
} from './plan.ts';
