// Per-partition fencing (docs/segment.md, Fencing): a pipeline writes only while it holds
// its partition's lease, and starts recovery only once it holds it, i.e. after the previous
// holder can no longer write. Every insert and commit is preceded by a synchronous check of
// the lease against the local clock and carries a deadline shorter than what is left of it.
// Without a fence (one process per segment, embedded mode) every check passes.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Fence, Lease } from '../fence/index.ts';
import { SegmentError } from './errors.ts';
import { checkAlive, waitAlive, type Pipeline, type SegmentRuntime } from './runtime.ts';

export interface FencingSettings {
  fence: Fence | undefined;
  /** Lease length, ms. */
  ttlMs: number;
  /** Longest an insert or commit may take once started, ms (< ttlMs / 2). */
  writeDeadlineMs: number;
  /** This processor instance's name as a lease holder. */
  holder: string;
}

export const DEFAULT_LEASE_TTL_MS = 10_000;
export const DEFAULT_WRITE_DEADLINE_MS = 3_000;

export const newHolderId = () => `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

const resourceOf = (rt: SegmentRuntime, partition: number) => `seg:${rt.segment}:${rt.topic}:${partition}`;

/** Thrown when this member lost a partition's lease: it must not write anything more. */
function fenced(pl: Pipeline, why: string): SegmentError {
  return new SegmentError('SEG_FENCED', [pl.partition, pl.lease?.epoch ?? 0, why]);
}

/**
 * Take the partition's lease before recovery reads anything, waiting out a previous holder's
 * unexpired lease. Gives up (SEG_ABORTED) if the pipeline is superseded meanwhile.
 */
export async function acquireLease(rt: SegmentRuntime, pl: Pipeline): Promise<void> {
  const f = rt.fencing;
  if (!f.fence) return;
  const ctl = new AbortController();
  const watch = setInterval(() => {
    try {
      checkAlive(rt, pl);
    } catch (err) {
      ctl.abort(err);
    }
  }, 50);
  const t0 = performance.now();
  try {
    for (;;) {
      try {
        pl.lease = await f.fence.acquire(resourceOf(rt, pl.partition), f.holder, f.ttlMs, { signal: ctl.signal, pollMs: 100 });
        break;
      } catch (err) {
        if (ctl.signal.aborted) throw ctl.signal.reason;
        // The lease server is unreachable: nothing may be read or written until it answers.
        rt.log.warn({ partition: pl.partition, err: (err as Error).message }, 'lease server unreachable; retrying');
        await new Promise((r) => setTimeout(r, 200));
        checkAlive(rt, pl);
      }
    }
  } finally {
    clearInterval(watch);
  }
  // An insert the previous holder started (its body sent) before its validity ended may still
  // be landing on the server: wait out the longest that takes before recovery reads S and P.
  if (pl.lease.epoch > 1) await waitAlive(rt, pl, f.writeDeadlineMs);
  rt.metrics.leaseWaitSeconds.observe(rt.labels, (performance.now() - t0) / 1000);
  rt.log.info({ partition: pl.partition, epoch: pl.lease.epoch }, 'partition lease acquired');
}

/**
 * Renew a pipeline's lease. One that lapsed — this process could not renew it for a whole ttl
 * (the lease server unreachable, the process paused) — is taken again under the same epoch
 * when nobody was granted it since (the fence's compare-and-set on the epoch): no write was
 * made without a valid lease meanwhile (every write checks first), so nothing changed under
 * this pipeline's feet (docs/segment.md, Fencing, point 17). False: someone was; fenced.
 */
async function renewLease(rt: SegmentRuntime, pl: Pipeline, lease: Lease): Promise<boolean> {
  const lapsed = lease.validUntil <= performance.now();
  const renewed = await rt.fencing.fence!.renew(lease);
  if (renewed && lapsed) rt.log.warn({ partition: pl.partition, epoch: lease.epoch }, 'partition lease renewed after its validity here had run out: nobody was granted it meanwhile');
  return renewed;
}

/**
 * Right before an insert or commit: returns the deadline (ms) the write must be sent with,
 * or throws SEG_FENCED if the lease is lost. Renews first when too little of it is left.
 */
export async function writeDeadline(rt: SegmentRuntime, pl: Pipeline): Promise<number | undefined> {
  const f = rt.fencing;
  if (!f.fence) return undefined;
  const lease = pl.lease;
  if (!lease) throw fenced(pl, 'no lease');
  if (lease.validUntil - performance.now() > f.writeDeadlineMs) return f.writeDeadlineMs;
  // An unreachable lease server throws (retriable): the write waits, retried by persist, until
  // the server answers — with the lease kept, taken again, or refused — writing nothing meanwhile.
  if (!(await renewLease(rt, pl, lease))) throw fenced(pl, 'the lease expired or another member took it');
  if (lease.validUntil - performance.now() > f.writeDeadlineMs) return f.writeDeadlineMs;
  throw fenced(pl, 'lease renewed too late');
}

/** Renew every live pipeline's lease in the background; a lost lease stops this processor. */
export function startRenewal(rt: SegmentRuntime): () => void {
  const f = rt.fencing;
  if (!f.fence) return () => {};
  let busy = false;
  const timer = setInterval(() => {
    if (busy || rt.status !== 'running') return;
    busy = true;
    const live = [...rt.pipelines.values()].filter((pl) => pl.lease && !pl.dead && pl.generation === rt.generation);
    void Promise.all(live.map(async (pl) => {
      const lease = pl.lease!;
      try {
        if (!(await renewLease(rt, pl, lease)) && pl.lease === lease && !pl.dead) rt.crash(fenced(pl, 'the lease expired or another member took it'));
      } catch (err) {
        rt.log.warn({ partition: pl.partition, err: (err as Error).message }, 'lease renewal failed; retrying');
      }
    })).finally(() => {
      busy = false;
    });
  }, Math.max(50, Math.floor(f.ttlMs / 4)));
  timer.unref();
  return () => clearInterval(timer);
}

/** Give a pipeline's lease up once its last step is over (partition revoked, or stopping). */
export async function releaseLease(rt: SegmentRuntime, pl: Pipeline): Promise<void> {
  const lease: Lease | undefined = pl.lease;
  if (!rt.fencing.fence || !lease) return;
  pl.lease = undefined;
  await rt.fencing.fence.release(lease).catch((err: Error) => rt.log.warn({ partition: pl.partition, err: err.message }, 'lease release failed (it expires by itself)'));
}
