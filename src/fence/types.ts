// Leases with fencing epochs (issue #16 item 2): one holder at a time per resource (e.g. one
// segment's Kafka partition), each grant numbered by an epoch that only grows. A holder may
// act only while its lease is valid by its OWN monotonic clock; that local validity ends
// before the server lets anyone else in, so two holders never act at once (the timing
// assumptions are in docs/segment.md, Fencing). Redis and in-memory adapters pass
// test/contract/fence.contract.ts.

/**
 * Bounded clock rate drift between a holder and the lease server: a holder counts a lease of
 * ttl ms as valid for ttl·(1 − CLOCK_DRIFT) − CLOCK_SLACK_MS from the moment it SENT the
 * request (before the server started the ttl), so its validity ends first.
 */
export const CLOCK_DRIFT = 0.01;
export const CLOCK_SLACK_MS = 2;

export interface Lease {
  readonly resource: string;
  readonly holder: string;
  /** Grant number: strictly greater than every earlier grant of this resource. */
  readonly epoch: number;
  readonly ttlMs: number;
  /** performance.now() until which the holder may act (updated by renew). */
  validUntil: number;
}

/** Why a lease was refused: someone else holds it for about `expiresInMs` more. */
export interface LeaseRefusal {
  heldBy: string;
  epoch: number;
  expiresInMs: number;
}

export interface Fence {
  /** One attempt: a new lease (new epoch) unless another holder's lease is unexpired. */
  tryAcquire(resource: string, holder: string, ttlMs: number): Promise<Lease | LeaseRefusal>;
  /**
   * Wait until the resource is free (released, or the previous lease expired), then take it.
   * Rejects with the signal's reason when aborted.
   */
  acquire(resource: string, holder: string, ttlMs: number, opts?: { signal?: AbortSignal; pollMs?: number }): Promise<Lease>;
  /**
   * Extend a lease still held (same epoch). A lease that lapsed (expired, or released) is
   * taken again under the same epoch if nobody was granted the resource since (one
   * compare-and-set on the grant counter); false once anyone else was (docs/segment.md,
   * Fencing, point 17).
   */
  renew(lease: Lease): Promise<boolean>;
  /** Give the lease up (no-op if it was already lost). */
  release(lease: Lease): Promise<void>;
  /** The resource's latest epoch (0 if never granted). */
  epoch(resource: string): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class FenceError extends Error {
  constructor(message: string, readonly retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FenceError';
  }
}

export const isLease = (x: Lease | LeaseRefusal): x is Lease => 'validUntil' in x;

/** Local validity of a lease whose request was sent at `sentAt` (performance.now()). */
export const validUntil = (sentAt: number, ttlMs: number) => sentAt + ttlMs * (1 - CLOCK_DRIFT) - CLOCK_SLACK_MS;

/** acquire() as repeated tryAcquire(), waiting out the holder's remaining time between tries. */
export async function acquireByPolling(fence: Pick<Fence, 'tryAcquire'>, resource: string, holder: string, ttlMs: number, opts: { signal?: AbortSignal; pollMs?: number } = {}): Promise<Lease> {
  const poll = opts.pollMs ?? 100;
  for (;;) {
    opts.signal?.throwIfAborted();
    const r = await fence.tryAcquire(resource, holder, ttlMs);
    if (isLease(r)) return r;
    const wait = Math.max(5, Math.min(poll, r.expiresInMs + 1));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, wait);
      opts.signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(opts.signal!.reason);
      }, { once: true });
    });
  }
}
