// Option validation (fail fast, one message per option; test/segment/options.test.ts).
import { SegmentError } from './errors.ts';
import { DEFAULT_LEASE_TTL_MS, DEFAULT_WRITE_DEADLINE_MS } from './fencing.ts';
import type { SegmentProcessorOptions } from './types.ts';

/**
 * Step pacing default (SegmentProcessorOptions.stepIntervalMs): a partition's steps, and so
 * its ClickHouse inserts and commits, start at least this far apart. ClickHouse pays
 * milliseconds of CPU per insert (a new part, then merges), so small inserts cost far more
 * than their rows (docs/segment.md, Step cadence).
 */
export const DEFAULT_STEP_INTERVAL_MS = 500;

/**
 * Kafka batches a partition buffers before its step starts early and its consumer waits
 * (SegmentProcessorOptions.maxQueuedBatches; also at most 16 MB of them). On the mock cluster
 * a fetch is one produce request's messages, ~40 per 500-ms step interval at 40 000 packets/s: a
 * smaller bound would start steps off the grid (docs/segment.md, Step cadence).
 */
export const DEFAULT_MAX_QUEUED_BATCHES = 128;

function positiveInt(v: unknown, name: string): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)) throw new SegmentError('SEG_INVALID_OPTION', [name, 'must be a positive integer']);
}

export function validateOptions(o: SegmentProcessorOptions): void {
  if (typeof o.segmentId !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(o.segmentId)) throw new SegmentError('SEG_INVALID_OPTION', ['segmentId', 'must be 1-64 characters of [A-Za-z0-9_.-]']);
  if (!o.bus) throw new SegmentError('SEG_INVALID_OPTION', ['bus', 'is required']);
  if (!o.store) throw new SegmentError('SEG_INVALID_OPTION', ['store', 'is required']);
  positiveInt(o.windowS, 'windowS');
  positiveInt(o.maxQueuedBatches, 'maxQueuedBatches');
  if (o.stepIntervalMs !== undefined && (!Number.isInteger(o.stepIntervalMs) || o.stepIntervalMs < 0 || o.stepIntervalMs > 60_000)) throw new SegmentError('SEG_INVALID_OPTION', ['stepIntervalMs', 'must be an integer from 0 to 60000']);
  if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 0 || o.workers > 64)) throw new SegmentError('SEG_INVALID_OPTION', ['workers', 'must be an integer from 0 to 64']);
  if (o.allowedLatenessS !== undefined && (typeof o.allowedLatenessS !== 'number' || !Number.isFinite(o.allowedLatenessS) || o.allowedLatenessS < 0)) throw new SegmentError('SEG_INVALID_OPTION', ['allowedLatenessS', 'must be a finite number ≥ 0']);
  if (o.dedupHorizonS !== undefined && (typeof o.dedupHorizonS !== 'number' || !Number.isFinite(o.dedupHorizonS) || o.dedupHorizonS < 0)) throw new SegmentError('SEG_INVALID_OPTION', ['dedupHorizonS', 'must be a finite number ≥ 0']);
  positiveInt(o.leaseTtlMs, 'leaseTtlMs');
  positiveInt(o.writeDeadlineMs, 'writeDeadlineMs');
  if ((o.writeDeadlineMs ?? DEFAULT_WRITE_DEADLINE_MS) * 2 >= (o.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS)) throw new SegmentError('SEG_INVALID_OPTION', ['writeDeadlineMs', 'must be less than half of leaseTtlMs']);
  if (o.topology && !o.topology.segments.some((s) => s.id === o.segmentId)) throw new SegmentError('SEG_UNKNOWN_SEGMENT', [o.segmentId, o.topology.name]);
}
