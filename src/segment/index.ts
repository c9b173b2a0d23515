// Segment processors (DESIGN.md §4): per-segment consumer group + Piscina pool computing
// traffic flow into the segment cloud's ClickHouse, exactly once. See docs/segment.md.
export { createSegmentProcessor } from './processor.ts';
export type {
  LeftOpen, SegmentProcessor, SegmentProcessorOptions, SegmentStats, SegmentFaults, FaultContext, FlushEvent, Logger, SegmentHealth, StoppedPartition,
} from './types.ts';
export { segmentHttpHandler, type SegmentHttpSource } from './http.ts';
export { parseCommitMeta } from './commit.ts';
export { monthRuns } from './sink.ts';
export { runAllSegments, type AllSegments, type AllSegmentsOptions } from './all.ts';
export { SegmentError, SEGMENT_ERRORS, type SegmentErrorCode } from './errors.ts';
export { DEFAULT_STEP_INTERVAL_MS } from './options.ts';
export { segmentMetrics, type SegmentMetrics } from './metrics.ts';
export { inProcessRunner, piscinaRunner, type BatchRunner } from './pool.ts';
