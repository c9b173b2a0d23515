// In-memory fence (one process: embedded mode and tests). Same contract as the Redis one.
import { acquireByPolling, validUntil, type Fence, type Lease } from './types.ts';

interface Held { holder: string; epoch: number; expiresAt: number }

export function createMemoryFence(): Fence {
  const held = new Map<string, Held>();
  const epochs = new Map<string, number>();
  const live = (resource: string, now: number) => {
    const h = held.get(resource);
    return h && h.expiresAt > now ? h : undefined;
  };
  const fence: Fence = {
    async tryAcquire(resource, holder, ttlMs) {
      const now = performance.now();
      const h = live(resource, now);
      if (h && h.holder !== holder) return { heldBy: h.holder, epoch: h.epoch, expiresInMs: h.expiresAt - now };
      const epoch = (epochs.get(resource) ?? 0) + 1;
      epochs.set(resource, epoch);
      held.set(resource, { holder, epoch, expiresAt: now + ttlMs });
      return { resource, holder, epoch, ttlMs, validUntil: validUntil(now, ttlMs) } satisfies Lease;
    },
    acquire: (resource, holder, ttlMs, opts) => acquireByPolling(fence, resource, holder, ttlMs, opts),
    async renew(lease) {
      const now = performance.now();
      const h = live(lease.resource, now);
      if (h && (h.epoch !== lease.epoch || h.holder !== lease.holder)) return false;
      // Lapsed: taken again under the same epoch only if nobody was granted it since (redis.ts).
      if (!h && epochs.get(lease.resource) !== lease.epoch) return false;
      held.set(lease.resource, { holder: lease.holder, epoch: lease.epoch, expiresAt: now + lease.ttlMs });
      lease.validUntil = validUntil(now, lease.ttlMs);
      return true;
    },
    async release(lease) {
      const h = held.get(lease.resource);
      if (h && h.epoch === lease.epoch && h.holder === lease.holder) held.delete(lease.resource);
    },
    epoch: async (resource) => epochs.get(resource) ?? 0,
    ping: async () => {},
    close: async () => {
      held.clear();
    },
  };
  return fence;
}
