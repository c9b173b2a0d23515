// Where batches are decoded and pre-aggregated: a Piscina pool of worker threads, or the main
// thread (workers = 0, the baseline). A task whose worker throws or dies is retried (Piscina
// replaces a dead thread by itself); after `attempts` failures the batch runs in-process, so
// a broken pool slows the processor down but never loses or skips a batch.
import { Piscina } from 'piscina';
import { FLOW_WORKER_URL, processBatch, type BatchResult, type BatchTask } from '../flow/index.ts';

export interface BatchRunner {
  readonly threads: number;
  /**
   * Run one task. With `repack`, the task's buffers are transferred to the worker (not copied)
   * and `repack()` rebuilds them for a retry or the in-process fallback.
   */
  run(task: BatchTask, partition: number, repack?: () => Pick<BatchTask, 'data' | 'ends' | 'offsets'>): Promise<BatchResult>;
  /**
   * Load the worker module (tsx, Avro codec, H3) in every thread before the first batch; a
   * cold thread took ~0.3 s for its first task. Failures are ignored (tasks retry anyway).
   */
  warm(): Promise<void>;
  /** 0-1: share of time the pool's threads were busy (0 for the in-process runner). */
  utilization(): number;
  destroy(): Promise<void>;
}

export interface RunnerHooks {
  /** Test fault for attempt `attempt` (1-based) of a task on `partition`. */
  workerFault?: (ctx: { partition: number; attempt: number }) => 'throw' | 'exit' | undefined;
  onFailure?: (err: Error, partition: number, attempt: number) => void;
  attempts?: number;
}

export function inProcessRunner(hooks: RunnerHooks = {}): BatchRunner {
  return {
    threads: 0,
    async run(task, partition) {
      const attempts = hooks.attempts ?? 3;
      for (let attempt = 1; ; attempt++) {
        try {
          if (hooks.workerFault?.({ partition, attempt }) === 'throw') throw new Error('injected worker fault');
          return processBatch(task);
        } catch (err) {
          hooks.onFailure?.(err as Error, partition, attempt);
          if (attempt >= attempts) throw err;
        }
      }
    },
    async warm() {},
    utilization: () => 0,
    async destroy() {},
  };
}

/** execArgv for worker threads that must load a .ts module. */
function workerExecArgv(): string[] {
  // V8 heap-size flags (e.g. --max-semi-space-size for the main thread) are per process and
  // refused by worker threads: their heaps are sized through resourceLimits instead.
  const inherited = process.execArgv.filter((a) => !HEAP_FLAG.test(a));
  if (inherited.some((a) => a.includes('tsx'))) return inherited;
  let loader = 'tsx';
  try {
    loader = import.meta.resolve('tsx');
  } catch {
    /* resolve relative to the working directory */
  }
  return [...inherited.filter((a) => !a.startsWith('--input-type')), '--import', loader];
}

const HEAP_FLAG = /^--(max|min)-(semi-space|old-space|heap)-size|^--max-old-space-size|^--stack-size/;

export function piscinaRunner(threads: number, hooks: RunnerHooks = {}): BatchRunner {
  const pool = new Piscina<BatchTask, BatchResult>({
    filename: FLOW_WORKER_URL,
    minThreads: threads,
    maxThreads: threads,
    // One task per thread at a time: a partition's batches are sequential anyway, and a
    // queue inside the thread would only hide backpressure.
    concurrentTasksPerWorker: 1,
    idleTimeout: 60_000,
    execArgv: FLOW_WORKER_URL.endsWith('.ts') ? workerExecArgv() : process.execArgv.filter((a) => !HEAP_FLAG.test(a)),
  });
  const attempts = hooks.attempts ?? 3;
  return {
    threads,
    async run(task, partition, repack) {
      let t = task;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        // A transferred buffer is gone from this thread (detached): rebuild it for a retry.
        if (attempt > 1 && repack) t = { ...t, ...repack() };
        try {
          const fault = hooks.workerFault?.({ partition, attempt });
          // Without repack, no transferList: the task's buffers must survive a retry.
          const transferList = repack ? [t.data.buffer, t.ends.buffer, t.offsets.buffer] as ArrayBuffer[] : undefined;
          return await pool.run(fault ? { ...t, fault } : t, transferList ? { transferList: transferList as never } : {});
        } catch (err) {
          hooks.onFailure?.(err as Error, partition, attempt);
        }
      }
      return processBatch(repack ? { ...t, ...repack() } : t);
    },
    async warm() {
      const empty: BatchTask = {
        segment: '', partition: 0, rules: { windowS: 60, allowedLatenessMs: 0 }, data: new Uint8Array(0), ends: new Uint32Array(0),
        offsets: new Float64Array(0), wm: -Infinity, skipWindows: [], packetsFrom: 0, encode: true, holdMs: 50,
      };
      // One task per thread at a time (concurrentTasksPerWorker: 1) and each holds its thread
      // briefly, so `threads` tasks in flight reach every thread.
      await Promise.allSettled(Array.from({ length: threads }, () => pool.run(empty)));
    },
    utilization: () => pool.utilization,
    async destroy() {
      await pool.destroy();
    },
  };
}
