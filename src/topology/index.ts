export * from './types.ts';
export { DEFAULT_TOPOLOGY_FILE, loadTopology, parseTopology, validateTopology } from './load.ts';
export { TopologyError, EndpointError, PlanError, TOPOLOGY_ERRORS, type TopologyErrorCode } from './errors.ts';
export { createSegmentLookup, cellToDecimal, decimalToCell, type Route, type SegmentLookup } from './lookup.ts';
export {
  readLocalState, stateFile, kafkaEndpoint, redisEndpoint, clickhouseEndpoint, storageClouds, type LocalInfraState,
} from './endpoints.ts';
export { STATE_DIR_ENV, DEFAULT_STATE_DIR, resolveStateDir, statePaths, type StatePaths } from './state-dir.ts';
export {
  type ReplicaPlan, type SegmentPlan, PLAN_SOLVERS, PLAN_STATUSES, validatePlan, readPlan, readPlanIfAny, writePlan,
  replicasFor, partitionsFor, plannedPartitions, segmentTopicSpecs, DEFAULT_WORKERS,
} from './plan.ts';
