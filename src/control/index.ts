// The cabin plan carried out on this machine (docs/cabin.md §8.2–8.4): centres as groups of
// segment processes, `iov apply [--watch]`, and the demo where a centre fails mid-run.
export { openController, watch, destroy, type Controller, type ControllerOptions, type RoundReport } from './controller.ts';
export { createCentreGroups, type CentreGroups, type GroupsOptions, type OwnedPartition } from './groups.ts';
export { createObserver, replanReasons, type ObserveOptions, type Observation, type Snapshot } from './observe.ts';
export { processLayout, pruneDead, reconcile, type ReconcileOptions, type ReconcileCounts } from './reconcile.ts';
export { emptyState, readApplied, writeApplied, type AppliedState, type MemberRecord } from './state.ts';
export { runApplyDemo, formatApplyDemoSummary, type ApplyDemoOptions, type ApplyDemoSummary } from './demo.ts';
