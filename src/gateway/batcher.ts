// Micro-batching producer queue in front of Bus.produce. Concurrent requests' records are
// merged into one produce call (one Kafka request per broker instead of one per HTTP
// request), which is what makes small requests cheap. Rules:
//  - a job (one request's records) is never split: it succeeds or fails as a whole, and its
//    promise settles only when the produce call holding it has settled (acks = all);
//  - jobs are sent in submission order; with maxConcurrent = 1 a vehicle's packets keep the
//    order in which requests were accepted by the state store;
//  - queued + in-flight bytes are bounded: a job that would exceed the bound is refused at
//    once (the caller answers 503), so memory stays bounded while Kafka is slow or down.
import type { Bus, ProduceRecord } from '../bus/index.ts';

const NO_RECORDS: ProduceRecord[] = [];

interface Job {
  records: ProduceRecord[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface BatcherOptions {
  /** Where batches go: the Bus itself, or the threaded producer (producer.ts). */
  bus: Pick<Bus, 'produce'>;
  maxInFlightBytes: number;
  maxBatchRecords: number;
  maxConcurrent: number;
  lingerMs: number;
  /** Called after every produce call with its size and duration. */
  onBatch?: (records: number, seconds: number, ok: boolean) => void;
}

export class OverloadError extends Error {
  constructor(readonly bound: number) {
    super(`in-flight bound of ${bound} bytes reached`);
    this.name = 'OverloadError';
  }
}

export interface ProduceBatcher {
  /** Resolves when every record is acknowledged; rejects with the bus error or OverloadError. */
  submit(records: ProduceRecord[], bytes: number): Promise<void>;
  /** Bytes queued or in flight. */
  readonly outstandingBytes: number;
  /** Wait for every submitted job to settle. */
  drain(): Promise<void>;
}

export function createBatcher(opts: BatcherOptions): ProduceBatcher {
  const queue: Job[] = [];
  let head = 0;
  let outstanding = 0;
  let sending = 0;
  let scheduled = false;
  const drainWaiters: (() => void)[] = [];

  const settleDrain = () => {
    if (outstanding === 0 && sending === 0 && queue.length === head) for (const w of drainWaiters.splice(0)) w();
  };

  const schedule = () => {
    if (scheduled || sending >= opts.maxConcurrent || queue.length === head) return;
    scheduled = true;
    // setImmediate (not a microtask): requests whose state round trip completed in the same
    // I/O phase join this batch.
    if (opts.lingerMs > 0) setTimeout(flush, opts.lingerMs);
    else setImmediate(flush);
  };

  const flush = () => {
    scheduled = false;
    while (sending < opts.maxConcurrent && queue.length > head) {
      const jobs: Job[] = [];
      const records: ProduceRecord[] = [];
      while (queue.length > head) {
        const j = queue[head]!;
        if (jobs.length > 0 && records.length + j.records.length > opts.maxBatchRecords) break;
        head++;
        jobs.push(j);
        for (const r of j.records) records.push(r);
        // The job keeps only its promise and size: the records go with this call alone.
        j.records = NO_RECORDS;
      }
      if (head > 1024 && head * 2 > queue.length) {
        queue.splice(0, head);
        head = 0;
      }
      sending++;
      const t0 = performance.now();
      const n = records.length;
      opts.bus.produce(records).then(
        () => finish(jobs, n, t0, undefined),
        (err: unknown) => finish(jobs, n, t0, err ?? new Error('produce failed')),
      );
    }
  };

  const finish = (jobs: Job[], n: number, t0: number, err: unknown) => {
    sending--;
    opts.onBatch?.(n, (performance.now() - t0) / 1000, err === undefined);
    for (const j of jobs) {
      outstanding -= j.bytes;
      if (err === undefined) j.resolve();
      else j.reject(err);
    }
    schedule();
    settleDrain();
  };

  return {
    submit(records, bytes) {
      if (records.length === 0) return Promise.resolve();
      // One job larger than the whole bound is still let through when nothing else is
      // outstanding, so a legal request can never be refused forever.
      if (outstanding > 0 && outstanding + bytes > opts.maxInFlightBytes) return Promise.reject(new OverloadError(opts.maxInFlightBytes));
      outstanding += bytes;
      return new Promise<void>((resolve, reject) => {
        queue.push({ records, bytes, resolve, reject });
        schedule();
      });
    },
    get outstandingBytes() {
      return outstanding;
    },
    drain() {
      if (outstanding === 0 && sending === 0 && queue.length === head) return Promise.resolve();
      return new Promise<void>((r) => drainWaiters.push(r));
    },
  };
}
