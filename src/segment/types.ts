// The segment processor's public types: options, fault hooks, stats and the processor itself.
import type { Registry } from 'prom-client';
import type { Bus } from '../bus/index.ts';
import type { Fence } from '../fence/index.ts';
import type { PacketSchemaRegistry } from '../schemas/index.ts';
import type { Store } from '../store/index.ts';
import type { Topology } from '../topology/index.ts';

export interface FaultContext {
  segment: string;
  partition: number;
  /** First and last offset of the batch (the drain step has none). */
  firstOffset?: number;
  lastOffset?: number;
  /** Windows (epoch s) flushed so far in this step. */
  flushed: number[];
}

/**
 * Fault hooks for crash tests. A hook that throws crashes the processor at that point: no
 * further write or commit happens, as if the process had died there.
 */
export interface SegmentFaults {
  /** Batch decoded and merged, nothing written (mid-batch). */
  afterDecode?: (ctx: FaultContext) => void | Promise<void>;
  /** Raw packets stored, windows not flushed. */
  afterPackets?: (ctx: FaultContext) => void | Promise<void>;
  /** Between two window inserts of one step (only when a step flushes two or more windows). */
  midFlush?: (ctx: FaultContext) => void | Promise<void>;
  /** Everything stored, offsets not committed. */
  afterInsertBeforeCommit?: (ctx: FaultContext) => void | Promise<void>;
  /** Make attempt `attempt` of a pool task throw or kill its worker thread. */
  workerFault?: (ctx: { partition: number; attempt: number }) => 'throw' | 'exit' | undefined;
}

export interface FlushEvent {
  segment: string;
  partition: number;
  windowStart: number;
  windowS: number;
  rows: number;
  packets: number;
  /** Epoch ms when the rows were acknowledged by ClickHouse (queryable). */
  at: number;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SegmentProcessorOptions {
  segmentId: string;
  bus: Bus;
  /** Schema Registry of the topology (kafka.schemaRegistry): writer ids beyond the built-in one are resolved there. */
  schemaRegistry?: PacketSchemaRegistry;
  /** The ClickHouse of the segment's cloud. */
  store: Store;
  /** Validates the segment and sizes its topic; optional for tests. */
  topology?: Topology;
  /** Pool threads; 0 = decode and aggregate on the main thread (default DEFAULT_WORKERS; commands pass the plan's replicas). */
  workers?: number;
  /** Tumbling window, seconds (default DEFAULT_WINDOW_S). */
  windowS?: number;
  /** Allowed lateness, seconds (default DEFAULT_ALLOWED_LATENESS_S). */
  allowedLatenessS?: number;
  /** Duplicate horizon after a window's end + lateness, seconds (default 30; docs/segment.md, Duplicates). */
  dedupHorizonS?: number;
  groupId?: string;
  topic?: string;
  dlqTopic?: string;
  /** Kafka batches buffered per partition (coalesced into the next step) before the step starts early and the consumer waits (default DEFAULT_MAX_QUEUED_BATCHES = 128; at most 16 MB in any case). */
  maxQueuedBatches?: number;
  maxBytesPerPartition?: number;
  /**
   * Step pacing, ms (default DEFAULT_STEP_INTERVAL_MS): a partition's steps (one insert and
   * one commit each) start at least this far apart; batches fetched meanwhile are coalesced
   * into the next step (docs/segment.md, Step cadence).
   */
  stepIntervalMs?: number;
  /** Backoff for ClickHouse and Kafka writes: full jitter between 0 and min(max, initial·2^n). */
  retry?: { initialMs?: number; maxMs?: number };
  faults?: SegmentFaults;
  /**
   * Per-partition leases shared by every process of the segment (Redis in production). Without
   * one, run one process per segment (docs/segment.md, Fencing).
   */
  fence?: Fence;
  /** Lease length, ms (default 10 000). */
  leaseTtlMs?: number;
  /** Longest an insert or commit may take once started, ms; less than half the lease (default 3 000). */
  writeDeadlineMs?: number;
  /** prom-client registry to register metrics on (default: a new one, see metrics()). */
  registry?: Registry;
  logger?: Logger;
  onFlush?: (e: FlushEvent) => void;
  /**
   * Called once when the processor crashes (e.g. SEG_FENCED), after the error is logged: a
   * process running it should exit non-zero so its supervisor restarts it.
   */
  onCrash?: (err: Error) => void;
}

export interface SegmentStats {
  segment: string;
  status: 'idle' | 'running' | 'stopping' | 'stopped' | 'crashed';
  workers: number;
  /** Messages consumed (first time; replays after a restart counted again). */
  messages: number;
  owned: number;
  late: number;
  foreign: number;
  replayed: number;
  /** Owned copies dropped as duplicates of an earlier packet (client retries). */
  duplicates: number;
  poison: number;
  batches: number;
  rowsWritten: { packets: number; traffic_flow: number };
  windowsFlushed: number;
  openWindows: number;
  lag: Record<number, number>;
  /** Next offset to process, per partition this member owns. */
  positions: Record<number, number>;
  storeRetries: number;
  workerFailures: number;
  poolUtilization: number;
  crashed?: string;
  /** Partitions stopped by a failure retrying cannot fix (docs/segment.md, Failures). */
  stopped: StoppedPartition[];
}

export interface StoppedPartition {
  partition: number;
  /** What failed, e.g. "insert packets". */
  what: string;
  /** The failure's stable code (e.g. STORE_QUERY) and ClickHouse's own code when there is one. */
  code: string;
  serverCode?: number;
  message: string;
  /** Epoch ms. */
  at: number;
}

/** Liveness and readiness, as served on /healthz and /readyz. */
export interface SegmentHealth {
  /** Not crashed (a stopped partition leaves the process alive: the others keep working). */
  live: boolean;
  /** Running, and no partition is stopped. */
  ready: boolean;
  status: SegmentStats['status'];
  stopped: StoppedPartition[];
  /** Partitions this member owns and has recovered, with the next offset it will process
   *  (null: the group has committed nothing for it yet). A controller moving a segment
   *  watches the group hand them over (docs/cabin.md §8.2). */
  owned: { segment: string; partition: number; next: number | null }[];
}

export interface SegmentProcessor {
  readonly segmentId: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * End of stream: wait until everything in the topic (as of now) is processed, then flush
   * every open window of every owned partition and commit.
   */
  drain(opts?: { timeoutMs?: number }): Promise<void>;
  /**
   * Shut-down flush (SIGINT/SIGTERM): after the queued steps, flush what the watermark has
   * closed and commit; returns the windows left open, per partition. Call stop() after.
   */
  settle(): Promise<LeftOpen[]>;
  stats(): SegmentStats;
  health(): SegmentHealth;
  metrics(): Registry;
}

/** What a settle left open in one partition (its windows wait for more data or a restart). */
export interface LeftOpen {
  segment: string;
  partition: number;
  /** The partition's watermark, epoch ms (-Infinity before any message). */
  watermark: number;
  /** Start (epoch s) of each window still open. */
  windows: number[];
}

