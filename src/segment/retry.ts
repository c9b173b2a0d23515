// Writes to ClickHouse and Kafka: an error that retrying can fix is retried with full-jitter
// exponential backoff until the write succeeds; any other stops the partition with its code
// (docs/segment.md, Failures). Whether an error is retriable is decided where it is made: the
// store maps ClickHouse's codes through one table (src/store SERVER_CODES), the bus maps
// Kafka's (kafkajs marks its errors).
import { SegmentError } from './errors.ts';
import { checkAlive, FaultCrash, waitAlive, type Pipeline, type SegmentRuntime } from './runtime.ts';

/** A write failed in a way retrying cannot fix: the pipeline stops its partition (failures.ts). */
export class PartitionStopped extends Error {
  constructor(readonly what: string, readonly error: SegmentError) {
    super(error.message, { cause: error });
  }
}

/** Whether a failed write may succeed if tried again. */
export function isRetriable(err: unknown): boolean {
  // Programming errors never heal by themselves (kafkajs src/retry never retries them either).
  if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError) return false;
  const retriable = (err as { retriable?: unknown } | undefined)?.retriable;
  // An error that does not say (e.g. a socket error below the adapters) is taken as transient.
  return typeof retriable === 'boolean' ? retriable : true;
}

/** The stable code of a failed write: the adapter's code, and ClickHouse's own when there is one. */
export function failureCode(err: unknown): { code: string; serverCode?: number } {
  const e = err as { code?: unknown; serverCode?: unknown; name?: string } | undefined;
  const code = typeof e?.code === 'string' ? e.code : (e?.name ?? 'Error');
  return typeof e?.serverCode === 'number' ? { code, serverCode: e.serverCode } : { code };
}

/** Wait with full jitter, in slices so a stop is noticed quickly. */
async function backoff(rt: SegmentRuntime, pl: Pipeline, attempt: number, err: unknown): Promise<void> {
  const cap = Math.min(rt.retry.maxMs, rt.retry.initialMs * 2 ** Math.min(attempt, 20));
  // A write given up at its own deadline may still land within writeDeadlineMs of its body
  // reaching the server (docs/segment.md, Fencing, T2): the retry's re-check comes after that.
  const landing = failureCode(err).code === 'STORE_TIMEOUT' ? rt.fencing.writeDeadlineMs : 0;
  await waitAlive(rt, pl, landing + Math.random() * cap);
}

/**
 * Run a write until it succeeds, or until it fails in a way retrying cannot fix
 * (SEG_PARTITION_STOPPED). `fn(retrying)` must be safe to repeat: when `retrying` is
 * true the previous attempt may or may not have landed (e.g. the connection dropped after
 * ClickHouse wrote the part), so it re-checks what is stored first.
 */
export async function persist(rt: SegmentRuntime, pl: Pipeline, what: string, fn: (retrying: boolean) => Promise<void>): Promise<void> {
  const { retry } = rt;
  for (let attempt = 0; ; attempt++) {
    checkAlive(rt, pl);
    try {
      await fn(attempt > 0);
      return;
    } catch (err) {
      if (err instanceof FaultCrash || (err instanceof SegmentError && (err.code === 'SEG_ABORTED' || err.code === 'SEG_FENCED'))) throw err;
      if (!isRetriable(err)) {
        const f = failureCode(err);
        throw new PartitionStopped(what, new SegmentError('SEG_PARTITION_STOPPED', [pl.partition, what, f.serverCode === undefined ? f.code : `${f.code} (ClickHouse code ${f.serverCode})`, (err as Error).message], { cause: err }));
      }
      rt.counters.storeRetries++;
      rt.metrics.storeRetries.inc(rt.labels);
      const e = err as Error;
      if (attempt % 10 === 0) rt.log.warn({ partition: pl.partition, what, attempt }, new SegmentError('SEG_STORE_RETRY', [pl.partition, Math.min(retry.maxMs, retry.initialMs * 2 ** attempt), e.message]).message);
      await backoff(rt, pl, attempt, err);
    }
  }
}
