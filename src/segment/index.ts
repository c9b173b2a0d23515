// Segment processors (DESIGN.md §4): per-segment consumer group + Piscina pool computing
// traffic flow into the segment cloud's ClickHouse, exactly once. See docs/segment.md.
export {
  createSegmentProcessor, parseCommitMeta, monthRuns,
  type SegmentProcessor, type SegmentProcessorOptions, type SegmentStats, type SegmentFaults, type FaultContext,
  type FlushEvent, type Logger,
} from './processor.ts';
export { runAllSegments, type AllSegments, type AllSegmentsOptions } from './all.ts';
export { SegmentError, SEGMENT_ERRORS, type SegmentErrorCode } from './errors.ts';
export { segmentMetrics, type SegmentMetrics } from './metrics.ts';
export { resolveWorkers, workersFromPlan, DEFAULT_PLAN_FILE, DEFAULT_WORKERS } from './plan.ts';
export { inProcessRunner, piscinaRunner, type BatchRunner } from './pool.ts';
