// Writes to ClickHouse and Kafka, retried with full-jitter exponential backoff until they
// succeed (docs/segment.md, Back-pressure and outages).
import { SegmentError } from './errors.ts';
import { checkAlive, FaultCrash, sleep, type Pipeline, type SegmentRuntime } from './runtime.ts';

/** Wait with full jitter, in slices so a stop is noticed quickly. */
async function backoff(rt: SegmentRuntime, pl: Pipeline, attempt: number): Promise<void> {
  const cap = Math.min(rt.retry.maxMs, rt.retry.initialMs * 2 ** Math.min(attempt, 20));
  const until = Date.now() + Math.random() * cap;
  while (Date.now() < until) {
    checkAlive(rt, pl);
    await sleep(Math.min(50, Math.max(1, until - Date.now())));
  }
}

/**
 * Run a write until it succeeds. `fn(retrying)` must be safe to repeat: when `retrying` is
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
      if (err instanceof FaultCrash || (err instanceof SegmentError && err.code === 'SEG_ABORTED')) throw err;
      rt.counters.storeRetries++;
      rt.metrics.storeRetries.inc(rt.labels);
      const e = err as Error;
      if (attempt % 10 === 0) rt.log.warn({ partition: pl.partition, what, attempt }, new SegmentError('SEG_STORE_RETRY', [pl.partition, Math.min(retry.maxMs, retry.initialMs * 2 ** attempt), e.message]).message);
      await backoff(rt, pl, attempt);
    }
  }
}
