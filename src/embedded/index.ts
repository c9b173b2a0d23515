// Embedded mode (DESIGN.md §7): the whole pipeline in one process, and the demo's checks.
export {
  runPipeline, SHOWCASE_QUERIES,
  type PipelineOptions, type PipelineSummary, type ProbeStats, type Progress, type SegmentProgress, type Step, type StepStatus, type QueryResult,
} from './pipeline.ts';
export { runChecks, type Check, type CheckInput, type FlowTotals } from './checks.ts';
export { tapBus, faultyStore, type Faults, type Tap } from './tap.ts';
export { formatProgress, formatSummary } from './report.ts';
