// One segment's processor: consume iov.seg.<id>.packets → decode + pre-aggregate in a pool →
// merge per partition → write packets and closed windows to the segment cloud's ClickHouse →
// commit. Exactly-once and crash-safe by construction; the argument is in docs/segment.md.
//
// Per partition, batches run one after another in a promise chain (a "pipeline"); partitions
// run side by side, which is what keeps several pool threads busy. The Kafka handler only
// enqueues, so a slow ClickHouse fills the queue and the handler then waits (heartbeating):
// consumption pauses, nothing is skipped.
import pino from 'pino';
import type { Registry } from 'prom-client';
import type { Bus, BusConsumer, ConsumedBatch, BatchContext } from '../bus/index.ts';
import {
  PACKET_COLUMNS, PartitionWindows, decodeRows, encodedMonthRuns, rowSlice, toTrafficFlowRecord, unpackRows,
  type BatchTask, type EncodedRows, type FlowRow, type FlowRules, type PacketRow, type RowFormat,
} from '../flow/index.ts';
import { quoteString, type Store } from '../store/index.ts';
import { segmentGroup, segmentTopic, type Topology } from '../topology/index.ts';
import { SegmentError } from './errors.ts';
import { segmentMetrics, type SegmentMetrics } from './metrics.ts';
import { concatPacked, dropHead, firstAtOrAfter, keyAt, packBatch, taskBuffers, valueAt, type PackedBatch } from './packed.ts';
import { resolveWorkers } from './plan.ts';
import { inProcessRunner, piscinaRunner, type BatchRunner } from './pool.ts';

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
  /** The ClickHouse of the segment's cloud. */
  store: Store;
  /** Validates the segment and sizes its topic; optional for tests. */
  topology?: Topology;
  /** Pool threads; 0 = decode and aggregate on the main thread. Default: plan file, else 2. */
  workers?: number;
  /** Replica plan file read when `workers` is absent (default .iov/plan.json). */
  planFile?: string;
  /** Tumbling window, seconds (default 60). */
  windowS?: number;
  /** Allowed lateness, seconds (default 1). */
  allowedLatenessS?: number;
  groupId?: string;
  topic?: string;
  dlqTopic?: string;
  /** Kafka batches buffered per partition (coalesced into the next step) before the consumer waits (default 32). */
  maxQueuedBatches?: number;
  maxBytesPerPartition?: number;
  /** Backoff for ClickHouse and Kafka writes: full jitter between 0 and min(max, initial·2^n). */
  retry?: { initialMs?: number; maxMs?: number };
  faults?: SegmentFaults;
  /** prom-client registry to register metrics on (default: a new one, see metrics()). */
  registry?: Registry;
  logger?: Logger;
  onFlush?: (e: FlushEvent) => void;
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
  stats(): SegmentStats;
  metrics(): Registry;
}

interface CommitMeta {
  v: 1;
  /** Watermark just before the committed offset (null = -Infinity). */
  wm: number | null;
  /** Every message below this offset was processed once (its poison is in the DLQ). */
  e: number;
  /** The topic's partition count when this was committed (absent in older commits). */
  n?: number;
}

interface Pipeline {
  partition: number;
  gen: number;
  dead: boolean;
  tail: Promise<void>;
  pending: number;
  recovered: boolean;
  state: PartitionWindows | undefined;
  /** Next offset to process (undefined: from wherever the log starts). */
  next: number | undefined;
  skipWindows: Set<number>;
  packetsFrom: number;
  dlqFrom: number;
  /** Kafka batches (packed on arrival) waiting for the next step, and whether that step is scheduled. */
  buffer: PackedBatch[];
  scheduled: boolean;
}

class FaultCrash extends Error {}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function positiveInt(v: unknown, name: string): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)) throw new SegmentError('SEG_INVALID_OPTION', [name, 'must be a positive integer']);
}

function validate(o: SegmentProcessorOptions): void {
  if (typeof o.segmentId !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(o.segmentId)) throw new SegmentError('SEG_INVALID_OPTION', ['segmentId', 'must be 1-64 characters of [A-Za-z0-9_.-]']);
  if (!o.bus) throw new SegmentError('SEG_INVALID_OPTION', ['bus', 'is required']);
  if (!o.store) throw new SegmentError('SEG_INVALID_OPTION', ['store', 'is required']);
  positiveInt(o.windowS, 'windowS');
  positiveInt(o.maxQueuedBatches, 'maxQueuedBatches');
  if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 0 || o.workers > 64)) throw new SegmentError('SEG_INVALID_OPTION', ['workers', 'must be an integer from 0 to 64']);
  if (o.allowedLatenessS !== undefined && (typeof o.allowedLatenessS !== 'number' || !Number.isFinite(o.allowedLatenessS) || o.allowedLatenessS < 0)) throw new SegmentError('SEG_INVALID_OPTION', ['allowedLatenessS', 'must be a finite number ≥ 0']);
  if (o.topology && !o.topology.segments.some((s) => s.id === o.segmentId)) throw new SegmentError('SEG_UNKNOWN_SEGMENT', [o.segmentId, o.topology.name]);
}

export function parseCommitMeta(s: string | null | undefined): CommitMeta | undefined {
  if (!s) return undefined;
  try {
    const m = JSON.parse(s) as Partial<CommitMeta>;
    if (m.v !== 1 || typeof m.e !== 'number') return undefined;
    return { v: 1, wm: typeof m.wm === 'number' ? m.wm : null, e: m.e, ...(typeof m.n === 'number' ? { n: m.n } : {}) };
  } catch {
    return undefined;
  }
}

/** UTC yyyymm of an epoch-ms time: the `packets` table's partition (toYYYYMM(ts)). */
function monthOf(tsMs: number): number {
  const d = new Date(tsMs);
  return d.getUTCFullYear() * 100 + d.getUTCMonth() + 1;
}

/**
 * Cut rows (in offset order) into runs of consecutive rows of one month, at most `max` rows
 * each. Every insert then lands in one ClickHouse part, so it is all-or-nothing, and the
 * stored offsets of a partition are always a prefix: "max stored offset + 1" is exact.
 */
export function monthRuns(rows: PacketRow[], max = 100_000): PacketRow[][] {
  const out: PacketRow[][] = [];
  let cur: PacketRow[] = [];
  let month = -1;
  for (const r of rows) {
    const m = monthOf(r.ts_ms);
    if (cur.length && (m !== month || cur.length >= max)) {
      out.push(cur);
      cur = [];
    }
    month = m;
    cur.push(r);
  }
  if (cur.length) out.push(cur);
  return out;
}

export function createSegmentProcessor(opts: SegmentProcessorOptions): SegmentProcessor {
  validate(opts);
  const segment = opts.segmentId;
  const { bus, store } = opts;
  const topic = opts.topic ?? segmentTopic(segment);
  const dlqTopic = opts.dlqTopic ?? `iov.seg.${segment}.dlq`;
  const groupId = opts.groupId ?? segmentGroup(segment);
  const rules: FlowRules = { windowS: opts.windowS ?? 60, allowedLatenessMs: Math.round((opts.allowedLatenessS ?? 1) * 1000) };
  const maxQueued = opts.maxQueuedBatches ?? 32;
  // Rows are encoded where they are decoded (pool thread) when the store takes encoded bytes:
  // RowBinary when it can (ClickHouse parses it several times cheaper than JSON), else JSON.
  const encode: RowFormat | false = typeof store.insertEncoded !== 'function' ? false : store.encodedFormats?.includes('RowBinary') ? 'RowBinary' : 'JSONEachRow';
  const retryInitial = opts.retry?.initialMs ?? 100;
  const retryMax = opts.retry?.maxMs ?? 5_000;
  const faults = opts.faults ?? {};
  const workers = resolveWorkers(segment, opts.workers, opts.planFile);
  const metrics: SegmentMetrics = segmentMetrics(opts.registry);
  const log: Logger = opts.logger ?? pino({ level: process.env.IOV_LOG_LEVEL ?? 'warn', base: { component: 'segment', segment } });
  const L = { segment };

  let status: SegmentStats['status'] = 'idle';
  let crashedWith: Error | undefined;
  /** The topic's partition count, read at start and kept in every commit's metadata. */
  let partitionCount = 0;
  let consumer: BusConsumer | undefined;
  let runner: BatchRunner | undefined;
  let generation = 0;
  let utilTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  const pipelines = new Map<number, Pipeline>();
  const lag: Record<number, number> = {};
  const st = {
    messages: 0, owned: 0, late: 0, foreign: 0, replayed: 0, poison: 0, batches: 0,
    rowsPackets: 0, rowsFlow: 0, windowsFlushed: 0, storeRetries: 0, workerFailures: 0,
  };

  const alive = (pl: Pipeline) => !pl.dead && pl.gen === generation && status === 'running';
  const checkAlive = (pl: Pipeline) => {
    if (!alive(pl)) throw new SegmentError('SEG_ABORTED', [segment]);
  };

  function crash(err: Error): void {
    if (status !== 'running') return;
    status = 'crashed';
    crashedWith = err;
    for (const pl of pipelines.values()) pl.dead = true;
    log.error({ err: err.message }, new SegmentError('SEG_CRASHED', [segment, err.message]).message);
    // Stop consuming at once; stop() completes the shutdown.
    stopping ??= shutdown();
  }

  async function fault(name: Exclude<keyof SegmentFaults, 'workerFault'>, ctx: FaultContext): Promise<void> {
    const f = faults[name];
    if (!f) return;
    try {
      await f(ctx);
    } catch (err) {
      throw new FaultCrash(`fault ${name}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Wait with full jitter, in slices so a stop is noticed quickly. */
  async function backoff(pl: Pipeline, attempt: number): Promise<void> {
    const cap = Math.min(retryMax, retryInitial * 2 ** Math.min(attempt, 20));
    const until = Date.now() + Math.random() * cap;
    while (Date.now() < until) {
      checkAlive(pl);
      await sleep(Math.min(50, Math.max(1, until - Date.now())));
    }
  }

  /**
   * Run a write until it succeeds. `fn(retrying)` must be safe to repeat: when `retrying` is
   * true the previous attempt may or may not have landed (e.g. the connection dropped after
   * ClickHouse wrote the part), so it re-checks what is stored first.
   */
  async function persist(pl: Pipeline, what: string, fn: (retrying: boolean) => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      checkAlive(pl);
      try {
        await fn(attempt > 0);
        return;
      } catch (err) {
        if (err instanceof FaultCrash || (err instanceof SegmentError && err.code === 'SEG_ABORTED')) throw err;
        st.storeRetries++;
        metrics.storeRetries.inc(L);
        const e = err as Error;
        if (attempt % 10 === 0) log.warn({ partition: pl.partition, what, attempt }, new SegmentError('SEG_STORE_RETRY', [pl.partition, Math.min(retryMax, retryInitial * 2 ** attempt), e.message]).message);
        await backoff(pl, attempt);
      }
    }
  }

  async function storedPacketsFrom(partition: number): Promise<number> {
    const rows = await store.query<{ m: string; c: string }>(
      `SELECT max(kafka_offset) AS m, count() AS c FROM packets WHERE segment = ${quoteString(segment)} AND kafka_partition = ${partition}`,
    );
    const r = rows[0];
    return r && Number(r.c) > 0 ? Number(r.m) + 1 : 0;
  }

  async function storedWindows(partition: number, fromWs: number | undefined, only?: number): Promise<Set<number>> {
    let where = `segment = ${quoteString(segment)} AND window_s = ${rules.windowS} AND part = ${partition}`;
    if (only !== undefined) where += ` AND window_start = toDateTime(${only})`;
    else if (fromWs !== undefined) where += ` AND window_start >= toDateTime(${Math.max(0, fromWs)})`;
    const rows = await store.query<{ ws: number | string }>(`SELECT DISTINCT toUInt32(window_start) AS ws FROM traffic_flow WHERE ${where}`);
    return new Set(rows.map((r) => Number(r.ws)));
  }

  /** Rebuild a partition's resume state from the commit metadata and ClickHouse. */
  async function recover(pl: Pipeline): Promise<void> {
    let committed: { offset: string; metadata?: string | null } | undefined;
    await persist(pl, 'read committed offsets', async () => {
      committed = (await consumer!.committed(topic)).find((c) => c.partition === pl.partition);
    });
    const meta = parseCommitMeta(committed?.metadata);
    // The roll-up counts a vehicle once per partition (key = vehicleId): with another
    // partition count the same vehicles would land elsewhere and windows would count them
    // twice. Refuse loudly instead of writing wrong numbers (docs/segment.md, Storage).
    if (meta?.n !== undefined && meta.n !== partitionCount) throw new SegmentError('SEG_PARTITIONS_CHANGED', [topic, meta.n, partitionCount]);
    const wm = meta?.wm ?? -Infinity;
    pl.state = new PartitionWindows(segment, rules, wm);
    pl.next = committed ? Number(committed.offset) : undefined;
    pl.dlqFrom = meta?.e ?? pl.next ?? 0;
    // Windows a replay could flush again: every window not yet closed at the resume watermark.
    const fromWs = Number.isFinite(wm) ? (Math.floor((wm - rules.allowedLatenessMs) / 1000 / rules.windowS) - 1) * rules.windowS : undefined;
    await persist(pl, 'read stored windows', async () => {
      pl.skipWindows = await storedWindows(pl.partition, fromWs);
    });
    await persist(pl, 'read stored packets', async () => {
      pl.packetsFrom = await storedPacketsFrom(pl.partition);
    });
    pl.recovered = true;
    log.info({ partition: pl.partition, next: pl.next, wm, skip: pl.skipWindows.size, packetsFrom: pl.packetsFrom }, 'partition recovered');
  }

  async function insertPackets(pl: Pipeline, rows: PacketRow[]): Promise<void> {
    for (const run of monthRuns(rows)) {
      let todo = run;
      await persist(pl, 'insert packets', async (retrying) => {
        if (retrying) {
          const from = await storedPacketsFrom(pl.partition);
          todo = run.filter((r) => Number(r.kafka_offset) >= from);
        }
        await store.insert('packets', todo as unknown as Record<string, unknown>[]);
      });
      st.rowsPackets += todo.length;
      metrics.rows.inc({ segment, table: 'packets' }, todo.length);
    }
  }

  /** Same as insertPackets, for rows encoded where they were decoded (Store.insertEncoded). */
  async function insertEncodedPackets(pl: Pipeline, e: EncodedRows): Promise<void> {
    for (const [i, j] of encodedMonthRuns(e)) {
      let from = i;
      await persist(pl, 'insert packets', async (retrying) => {
        if (retrying) {
          const stored = await storedPacketsFrom(pl.partition);
          while (from < j && e.offsets[from]! < stored) from++;
        }
        if (from === j) return;
        if (store.insertEncoded) await store.insertEncoded('packets', e.format, rowSlice(e, from, j), e.format === 'RowBinary' ? PACKET_COLUMNS : undefined);
        else await store.insert('packets', decodeRows(e, from, j));
      });
      st.rowsPackets += j - from;
      metrics.rows.inc({ segment, table: 'packets' }, j - from);
    }
  }

  async function flush(pl: Pipeline, windows: { windowStart: number; rows: FlowRow[] }[], ctx: FaultContext): Promise<void> {
    for (let i = 0; i < windows.length; i++) {
      const w = windows[i]!;
      const records = w.rows.map((r) => toTrafficFlowRecord(r, pl.partition));
      let wrote = records.length;
      await persist(pl, 'insert traffic_flow', async (retrying) => {
        if (retrying && (await storedWindows(pl.partition, undefined, w.windowStart)).size > 0) {
          wrote = 0;
          return;
        }
        await store.insert('traffic_flow', records);
      });
      pl.state!.remove([w.windowStart]);
      pl.skipWindows.delete(w.windowStart);
      st.windowsFlushed++;
      st.rowsFlow += wrote;
      metrics.windows.inc(L);
      metrics.rows.inc({ segment, table: 'traffic_flow' }, wrote);
      ctx.flushed.push(w.windowStart);
      opts.onFlush?.({
        segment, partition: pl.partition, windowStart: w.windowStart, windowS: rules.windowS, rows: records.length,
        packets: w.rows.reduce((s, r) => s + r.packets, 0), at: Date.now(),
      });
      if (i < windows.length - 1) await fault('midFlush', ctx);
    }
  }

  async function commit(pl: Pipeline, next: number): Promise<void> {
    const rp = pl.state!.resumePoint(next);
    const meta: CommitMeta = { v: 1, wm: Number.isFinite(rp.wm) ? rp.wm : null, e: next, n: partitionCount };
    checkAlive(pl);
    try {
      await consumer!.commit([{ topic, partition: pl.partition, offset: String(rp.offset), metadata: JSON.stringify(meta) }]);
    } catch (err) {
      // A failed commit loses nothing: the next one covers it, and a restart from the older
      // commit replays into the same stored state (docs/segment.md).
      log.warn({ partition: pl.partition, err: (err as Error).message }, 'commit failed; the next commit covers it');
    }
    pl.next = next;
    metrics.openWindows.set({ segment, partition: String(pl.partition) }, pl.state!.openCount);
  }

  async function step(pl: Pipeline, batches: PackedBatch[]): Promise<void> {
    if (!alive(pl) || batches.length === 0) return;
    const t0 = performance.now();
    if (!pl.recovered) await recover(pl);
    let msgs = concatPacked(batches);
    const highWatermark = msgs.highWatermark;
    if (pl.next !== undefined && msgs.offsets.length) {
      const from = pl.next;
      if (msgs.offsets[0]! > from) {
        log.warn({ partition: pl.partition }, new SegmentError('SEG_OFFSET_GAP', [pl.partition, from, msgs.offsets[0]!]).message);
      }
      // Offsets ascend within a partition: drop the already-processed head.
      msgs = dropHead(msgs, firstAtOrAfter(msgs, from));
    }
    const n = msgs.offsets.length;
    if (n === 0) return;
    const first = msgs.offsets[0]!;
    const last = msgs.offsets[n - 1]!;
    const state = pl.state!;
    const task: BatchTask = {
      segment, partition: pl.partition, rules, ...taskBuffers(msgs),
      wm: state.wm, skipWindows: [...pl.skipWindows], packetsFrom: pl.packetsFrom, encode,
    };
    const res = await runner!.run(task, pl.partition, () => taskBuffers(msgs));
    checkAlive(pl);
    if (res.packed) res.rows = unpackRows(res.packed);
    state.apply(res);
    const ctx: FaultContext = { segment, partition: pl.partition, firstOffset: first, lastOffset: last, flushed: [] };
    await fault('afterDecode', ctx);

    const poison = res.poison.filter((x) => x.offset >= pl.dlqFrom);
    if (poison.length) {
      await persist(pl, 'produce to the dead-letter topic', () => bus.produce(poison.map((x) => {
        const i = firstAtOrAfter(msgs, x.offset);
        const m = { key: keyAt(msgs, i), value: valueAt(msgs, i) };
        log.warn({ partition: pl.partition, offset: x.offset }, new SegmentError('SEG_POISON', [pl.partition, x.offset, dlqTopic, x.reason]).message);
        return {
          topic: dlqTopic,
          key: m.key ?? `${pl.partition}:${x.offset}`,
          value: m.value,
          headers: {
            'iov-error-code': x.code, 'iov-error-reason': x.reason, 'iov-segment': segment,
            'iov-source-topic': topic, 'iov-source-partition': String(pl.partition), 'iov-source-offset': String(x.offset),
          },
        };
      })));
      st.poison += poison.length;
      metrics.poison.inc(L, poison.length);
    }
    pl.dlqFrom = Math.max(pl.dlqFrom, last + 1);

    if (res.encoded) await insertEncodedPackets(pl, res.encoded);
    else await insertPackets(pl, res.rows);
    pl.packetsFrom = Math.max(pl.packetsFrom, last + 1);
    await fault('afterPackets', ctx);

    await flush(pl, state.closed(), ctx);
    await fault('afterInsertBeforeCommit', ctx);
    await commit(pl, last + 1);

    st.batches++;
    st.messages += n;
    st.owned += res.owned;
    st.late += res.late;
    st.foreign += res.foreign;
    st.replayed += res.replayed;
    metrics.packets.inc({ segment, kind: 'owned' }, res.owned);
    metrics.packets.inc({ segment, kind: 'late' }, res.late);
    metrics.packets.inc({ segment, kind: 'foreign' }, res.foreign);
    metrics.packets.inc({ segment, kind: 'replayed' }, res.replayed);
    lag[pl.partition] = Math.max(0, Number(highWatermark) - (last + 1));
    metrics.lag.set({ segment, partition: String(pl.partition) }, lag[pl.partition]!);
    metrics.batchSeconds.observe(L, (performance.now() - t0) / 1000);
  }

  async function drainStep(pl: Pipeline): Promise<void> {
    if (!alive(pl)) return;
    if (!pl.recovered) await recover(pl);
    const state = pl.state!;
    state.advanceToCloseAll();
    const ctx: FaultContext = { segment, partition: pl.partition, flushed: [] };
    await flush(pl, state.closed(true), ctx);
    await fault('afterInsertBeforeCommit', ctx);
    if (pl.next !== undefined) await commit(pl, pl.next);
  }

  function enqueue(pl: Pipeline, work: () => Promise<void>): Promise<void> {
    pl.pending++;
    const p = pl.tail.then(work).catch((err: Error) => {
      if (err instanceof SegmentError && err.code === 'SEG_ABORTED') return;
      pl.dead = true;
      crash(err);
    }).finally(() => {
      pl.pending--;
    });
    pl.tail = p;
    return p;
  }

  function pipelineFor(partition: number): Pipeline {
    let pl = pipelines.get(partition);
    if (!pl || pl.gen !== generation) {
      const prev = pl;
      pl = {
        partition, gen: generation, dead: false, pending: 0, recovered: false, state: undefined, next: undefined,
        skipWindows: new Set(), packetsFrom: 0, dlqFrom: 0, buffer: [], scheduled: false,
        // A new incarnation starts only once the old one has finished its in-flight step, so
        // it reads the commit and the stored rows after the old one's last write.
        tail: prev ? prev.tail.then(() => {}, () => {}) : Promise.resolve(),
      };
      pipelines.set(partition, pl);
    }
    return pl;
  }

  async function handler(batch: ConsumedBatch, ctx: BatchContext): Promise<void> {
    if (status !== 'running' || batch.topic !== topic || batch.messages.length === 0) return;
    const pl = pipelineFor(batch.partition);
    // Batches that arrive while the partition's previous step runs are coalesced into the
    // next step: fewer, larger inserts and commits (a mock-cluster fetch is ~1 000 messages).
    pl.buffer.push(packBatch(batch.messages, batch.highWatermark));
    if (!pl.scheduled) {
      pl.scheduled = true;
      void enqueue(pl, () => {
        pl.scheduled = false;
        return step(pl, pl.buffer.splice(0));
      });
    }
    while (pl.buffer.length >= maxQueued && alive(pl) && ctx.isRunning()) {
      await sleep(10);
      await ctx.heartbeat().catch(() => {});
    }
  }

  async function shutdown(): Promise<void> {
    if (utilTimer) clearInterval(utilTimer);
    await consumer?.stop().catch(() => {});
    await Promise.allSettled([...pipelines.values()].map((pl) => pl.tail));
    await runner?.destroy().catch(() => {});
  }

  const proc: SegmentProcessor = {
    segmentId: segment,
    async start() {
      if (status !== 'idle') throw new SegmentError('SEG_INVALID_OPTION', ['start', 'can be called once']);
      await store.migrate();
      await ensurePacketColumns(store);
      const seg = opts.topology?.segments.find((s) => s.id === segment);
      await bus.ensureTopics([{ topic, partitions: Math.max(seg?.maxReplicas ?? 1, 1) }, { topic: dlqTopic, partitions: 1 }]);
      partitionCount = await bus.partitionCount(topic);
      consumer = bus.consumer({ groupId, topics: [topic], fromBeginning: true, maxBytesPerPartition: opts.maxBytesPerPartition ?? 4 * 1024 * 1024 });
      // Before anything is consumed: a group committed under another partition count would
      // count vehicles twice (recover() checks again after every rebalance).
      for (const c of await consumer.committed(topic)) {
        const n = parseCommitMeta(c.metadata)?.n;
        if (n !== undefined && n !== partitionCount) {
          status = 'stopped';
          throw new SegmentError('SEG_PARTITIONS_CHANGED', [topic, n, partitionCount]);
        }
      }
      runner = workers > 0
        ? piscinaRunner(workers, { workerFault: faults.workerFault, onFailure })
        : inProcessRunner({ workerFault: faults.workerFault, onFailure });
      await runner.warm();
      consumer.onAssign((assignment) => {
        // Kafka re-delivers every partition from its committed offset after a rebalance:
        // every pipeline starts again from the commit (docs/segment.md).
        generation++;
        for (const pl of pipelines.values()) pl.dead = true;
        // Recover the new partitions now, while the consumer starts fetching, instead of in
        // their first step: the commit read and the two ClickHouse look-ups took ~0.4 s that
        // the first batch waited for. Each recovery still runs after the old pipeline's last
        // step (pipelineFor chains the tails), so it reads what that step wrote.
        for (const p of assignment.find((a) => a.topic === topic)?.partitions ?? []) {
          const pl = pipelineFor(p);
          void enqueue(pl, () => (alive(pl) && !pl.recovered ? recover(pl) : Promise.resolve()));
        }
      });
      status = 'running';
      utilTimer = setInterval(() => metrics.poolUtilization.set(L, runner?.utilization() ?? 0), 1000);
      utilTimer.unref();
      await consumer.run(handler);
    },
    async stop() {
      if (status === 'stopped' || status === 'idle') {
        status = 'stopped';
        return;
      }
      if (status === 'running') status = 'stopping';
      stopping ??= shutdown();
      await stopping;
      if (status === 'stopping') status = 'stopped';
    },
    async drain(o = {}) {
      if (status !== 'running') throw new SegmentError('SEG_NOT_RUNNING', [segment]);
      const deadline = Date.now() + (o.timeoutMs ?? 60_000);
      const ends = new Map((await bus.endOffsets(topic)).map((e) => [e.partition, Number(e.offset)]));
      for (;;) {
        if (status !== 'running') throw crashedWith ? new SegmentError('SEG_CRASHED', [segment, crashedWith.message]) : new SegmentError('SEG_NOT_RUNNING', [segment]);
        const mine = consumer!.assignment().find((a) => a.topic === topic)?.partitions ?? [];
        const live = (p: number) => {
          const pl = pipelines.get(p);
          return pl && pl.gen === generation && pl.recovered ? pl : undefined;
        };
        // The group's commits are read (a Kafka round trip) only for partitions this member
        // has no live pipeline for, so the poll below can be short.
        const committed = mine.some((p) => !live(p) && (ends.get(p) ?? 0) > 0)
          ? new Map((await consumer!.committed(topic)).map((c) => [c.partition, Number(c.offset)]))
          : new Map<number, number>();
        const done = mine.length > 0 && mine.every((p) => {
          const end = ends.get(p) ?? 0;
          const pl = live(p);
          if (pl) return pl.pending === 0 && (pl.next ?? 0) >= end;
          return end === 0 || (committed.get(p) ?? -1) >= end;
        });
        if (done) {
          const steps = mine.map((p) => pipelines.get(p)).filter((pl): pl is Pipeline => !!pl && pl.gen === generation && pl.recovered)
            .map((pl) => enqueue(pl, () => drainStep(pl)));
          await Promise.all(steps);
          if (status !== 'running') throw new SegmentError('SEG_CRASHED', [segment, crashedWith?.message ?? 'stopped']);
          // A rebalance during the drain restarts the pipelines: drain again.
          if (mine.every((p) => pipelines.get(p)?.gen === generation)) return;
        }
        if (Date.now() > deadline) throw new SegmentError('SEG_NOT_RUNNING', [`${segment} (drain timed out)`]);
        await sleep(20);
      }
    },
    stats() {
      const positions: Record<number, number> = {};
      let open = 0;
      for (const [p, pl] of pipelines) {
        if (pl.next !== undefined) positions[p] = pl.next;
        open += pl.state?.openCount ?? 0;
      }
      return {
        segment, status, workers, messages: st.messages, owned: st.owned, late: st.late, foreign: st.foreign,
        replayed: st.replayed, poison: st.poison, batches: st.batches,
        rowsWritten: { packets: st.rowsPackets, traffic_flow: st.rowsFlow }, windowsFlushed: st.windowsFlushed,
        openWindows: open, lag: { ...lag }, positions, storeRetries: st.storeRetries, workerFailures: st.workerFailures,
        poolUtilization: runner?.utilization() ?? 0, ...(crashedWith ? { crashed: crashedWith.message } : {}),
      };
    },
    metrics: () => metrics.registry,
  };

  function onFailure(err: Error, partition: number, attempt: number): void {
    st.workerFailures++;
    metrics.workerFailures.inc(L);
    log.warn({ partition, attempt }, new SegmentError('SEG_WORKER_FAILED', [partition, attempt, err.message]).message);
  }

  return proc;
}

/** Add the processor's extra `packets` columns to a table created before they existed. */
async function ensurePacketColumns(store: Store): Promise<void> {
  const have = new Set((await store.query<{ name: string }>(
    `SELECT name FROM system.columns WHERE database = ${quoteString(store.database)} AND table = 'packets'`,
  )).map((r) => r.name));
  for (const [name, type] of [['late', 'UInt8'], ['has_speed', 'UInt8']] as const) {
    if (!have.has(name)) await store.command(`ALTER TABLE packets ADD COLUMN ${name} ${type}`);
  }
}
