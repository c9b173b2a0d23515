// Traffic flow (DESIGN.md §4): the pure aggregation used by the segment processors (in a
// Piscina worker or in-process), its per-partition window state, and the batch oracle.
export * from './types.ts';
export {
  processBatch, packMessages, packRows, unpackRows, addPacket, mergePartial, emptyAgg, toFlowRow, toTrafficFlowRecord,
  windowStartOf, windowClosed, dedupId, withinDedupHorizon,
} from './aggregate.ts';
export { DedupKeys, type DedupEntry } from './dedup.ts';
export { cellDecimal, cellHalves } from './cell.ts';
export { PACKET_COLUMNS, createRowEncoder, JsonRowEncoder, RowBinaryEncoder, type RowEncoder, encodedMonthRuns, rowSlice, decodeRows, encodedTransferables } from './encode.ts';
export { PartitionWindows, type ResumePoint } from './state.ts';
export { batchTrafficFlow, DEFAULT_DEDUP_HORIZON_S, type OraclePacket, type OracleTick, type OracleOptions, type OracleResult } from './oracle.ts';

/** URL of the Piscina worker module (a .ts file: start the pool with a TS loader in execArgv). */
export const FLOW_WORKER_URL = new URL('./worker.ts', import.meta.url).href;
