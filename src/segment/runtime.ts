// What the parts of one segment processor share: its settings, its dependencies, its
// counters and lifecycle, and the per-partition pipeline record. Built once by
// createSegmentProcessor (processor.ts) and handed to recovery, the sink, the dead-letter
// step, the commit, the drain and the rebalance logic.
import pino from 'pino';
import type { Bus, BusConsumer } from '../bus/index.ts';
import type { Lease } from '../fence/index.ts';
import { DEFAULT_ALLOWED_LATENESS_S, DEFAULT_DEDUP_HORIZON_S, DEFAULT_WINDOW_S, type DedupKeys, type FlowRules, type PartitionWindows, type RowFormat } from '../flow/index.ts';
import type { Store } from '../store/index.ts';
import { segmentGroup, segmentTopic } from '../topology/index.ts';
import { SegmentError } from './errors.ts';
import { DEFAULT_LEASE_TTL_MS, DEFAULT_WRITE_DEADLINE_MS, newHolderId, type FencingSettings } from './fencing.ts';
import { segmentMetrics, type SegmentMetrics } from './metrics.ts';
import { DEFAULT_STEP_INTERVAL_MS } from './options.ts';
import type { PackedBatch } from './packed.ts';
import type { BatchRunner } from './pool.ts';
import { segmentSchemas, type SegmentSchemas } from './schemas.ts';
import type { FaultContext, Logger, SegmentFaults, SegmentProcessorOptions, SegmentStats, StoppedPartition } from './types.ts';

/** One partition's processing chain for one assignment generation. */
export interface Pipeline {
  partition: number;
  /** The assignment generation it belongs to; an older one is dead. */
  generation: number;
  dead: boolean;
  /** Steps run one after another on this promise chain. */
  tail: Promise<void>;
  pending: number;
  recovered: boolean;
  state: PartitionWindows | undefined;
  /** Keys of the owned packets within the duplicate horizon (rebuilt by recovery). */
  dedup: DedupKeys | undefined;
  /** Next offset to process (undefined: from wherever the log starts). */
  next: number | undefined;
  /** Windows already in traffic_flow (S): a replay does not flush them again. */
  skipWindows: Set<number>;
  /** One past the highest offset stored in packets (P). */
  packetsFrom: number;
  /** Dead letters below this offset were produced already. */
  deadLettersFrom: number;
  /** Kafka batches (packed on arrival) waiting for the next step, and whether that step is scheduled. */
  buffer: PackedBatch[];
  scheduled: boolean;
  /** The step grid's tick of the last step's start (performance.now() time): the next starts a tick later or after. */
  lastStepAt: number;
  /** Starts the scheduled step before its time (the buffer is full). */
  wakeStep: (() => void) | undefined;
  /** The partition's lease while this pipeline holds it (fencing.ts). */
  lease?: Lease;
}

/** What stats() reports, counted as it happens (rows per table kept apart). */
export type SegmentCounters = Pick<SegmentStats, 'messages' | 'owned' | 'late' | 'foreign' | 'replayed' | 'duplicates' | 'poison' | 'batches' | 'windowsFlushed' | 'storeRetries' | 'workerFailures'>
  & { rowsPackets: number; rowsFlow: number };

export interface SegmentRuntime {
  readonly segment: string;
  readonly topic: string;
  readonly dlqTopic: string;
  readonly groupId: string;
  readonly rules: FlowRules;
  /** Row format the pool encodes packets rows in, or false when the store takes row objects. */
  readonly encode: RowFormat | false;
  readonly bus: Bus;
  readonly store: Store;
  readonly metrics: SegmentMetrics;
  readonly log: Logger;
  /** Writer schemas from the Schema Registry, when the topology names one. */
  readonly schemas: SegmentSchemas | undefined;
  /** Metric labels of this processor. */
  readonly labels: { segment: string };
  readonly retry: { initialMs: number; maxMs: number };
  /** Least time between the starts of two steps of a partition, ms (step pacing). */
  readonly stepIntervalMs: number;
  readonly faults: SegmentFaults;
  readonly fencing: FencingSettings;
  readonly onFlush: SegmentProcessorOptions['onFlush'];
  readonly counters: SegmentCounters;
  readonly pipelines: Map<number, Pipeline>;
  readonly lag: Record<number, number>;
  /** Partitions stopped by a failure retrying cannot fix, until the process restarts. */
  readonly stopped: Map<number, StoppedPartition>;
  status: SegmentStats['status'];
  crashedWith: Error | undefined;
  /** The topic's partition count, read at start and kept in every commit's metadata. */
  partitionCount: number;
  /** Bumped on every assignment: pipelines of older generations are dead. */
  generation: number;
  consumer: BusConsumer | undefined;
  runner: BatchRunner | undefined;
  /** Set by the processor: stop everything after a fatal error. */
  crash(err: Error): void;
}

/** Thrown by a fault hook: the processor "dies" at that point. */
export class FaultCrash extends Error {}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createRuntime(opts: SegmentProcessorOptions): SegmentRuntime {
  const segment = opts.segmentId;
  const { store } = opts;
  return {
    segment,
    topic: opts.topic ?? segmentTopic(segment),
    dlqTopic: opts.dlqTopic ?? `iov.seg.${segment}.dlq`,
    groupId: opts.groupId ?? segmentGroup(segment),
    rules: {
      windowS: opts.windowS ?? DEFAULT_WINDOW_S, allowedLatenessMs: Math.round((opts.allowedLatenessS ?? DEFAULT_ALLOWED_LATENESS_S) * 1000),
      dedupHorizonMs: Math.round((opts.dedupHorizonS ?? DEFAULT_DEDUP_HORIZON_S) * 1000),
    },
    // Rows are encoded where they are decoded (pool thread) when the store takes encoded bytes:
    // RowBinary when it can (ClickHouse parses it several times cheaper than JSON), else JSON.
    encode: typeof store.insertEncoded !== 'function' ? false : store.encodedFormats?.includes('RowBinary') ? 'RowBinary' : 'JSONEachRow',
    bus: opts.bus,
    store,
    metrics: segmentMetrics(opts.registry),
    log: opts.logger ?? pino({ level: process.env.IOV_LOG_LEVEL ?? 'warn', base: { component: 'segment', segment } }),
    labels: { segment },
    schemas: segmentSchemas(opts.schemaRegistry),
    retry: { initialMs: opts.retry?.initialMs ?? 100, maxMs: opts.retry?.maxMs ?? 5_000 },
    stepIntervalMs: opts.stepIntervalMs ?? DEFAULT_STEP_INTERVAL_MS,
    faults: opts.faults ?? {},
    fencing: {
      fence: opts.fence, ttlMs: opts.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS, writeDeadlineMs: opts.writeDeadlineMs ?? DEFAULT_WRITE_DEADLINE_MS, holder: newHolderId(),
    },
    onFlush: opts.onFlush,
    counters: {
      messages: 0, owned: 0, late: 0, foreign: 0, replayed: 0, duplicates: 0, poison: 0, batches: 0,
      rowsPackets: 0, rowsFlow: 0, windowsFlushed: 0, storeRetries: 0, workerFailures: 0,
    },
    pipelines: new Map(),
    lag: {},
    stopped: new Map(),
    status: 'idle',
    crashedWith: undefined,
    partitionCount: 0,
    generation: 0,
    consumer: undefined,
    runner: undefined,
    crash: () => {},
  };
}

export const isAlive = (rt: SegmentRuntime, pl: Pipeline) => !pl.dead && pl.generation === rt.generation && rt.status === 'running';

/** Abandon the step (SEG_ABORTED) when its pipeline was superseded or the processor stops. */
export function checkAlive(rt: SegmentRuntime, pl: Pipeline): void {
  if (!isAlive(rt, pl)) throw new SegmentError('SEG_ABORTED', [rt.segment]);
}

/** Wait `ms`, in slices so a stop or a superseded pipeline is noticed quickly (SEG_ABORTED). */
export async function waitAlive(rt: SegmentRuntime, pl: Pipeline, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    checkAlive(rt, pl);
    await sleep(Math.min(50, Math.max(1, until - performance.now())));
  }
}

/** Run a test fault hook; a throwing hook becomes a FaultCrash. */
export async function fault(rt: SegmentRuntime, name: Exclude<keyof SegmentFaults, 'workerFault'>, ctx: FaultContext): Promise<void> {
  const f = rt.faults[name];
  if (!f) return;
  try {
    await f(ctx);
  } catch (err) {
    throw new FaultCrash(`fault ${name}: ${(err as Error).message}`, { cause: err });
  }
}
