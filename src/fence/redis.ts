// Fence in Redis (ioredis). Per resource two keys:
//   <prefix>fence:<resource>        hash { h: holder, e: epoch }, PEXPIRE ttl (the lease)
//   <prefix>fence:<resource>:epoch  counter of grants (never expires, so epochs only grow)
// Each operation is one script: atomic against every other holder. The lease's expiry is the
// server's; a holder's own validity is counted from before it sent the request (types.ts).
import { Redis } from 'ioredis';
import { acquireByPolling, FenceError, validUntil, type Fence, type Lease } from './types.ts';

const ACQUIRE = `
local cur = redis.call('HMGET', KEYS[1], 'h', 'e')
if cur[1] and cur[1] ~= ARGV[1] then
  return {0, cur[1], tonumber(cur[2]), redis.call('PTTL', KEYS[1])}
end
local e = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'h', ARGV[1])
redis.call('HSET', KEYS[1], 'e', e)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, ARGV[1], e, tonumber(ARGV[2])}
`;

// Renew, as one compare-and-set on the epoch: extend the lease while it is still ours; or, when
// it lapsed (the key expired or was released) and the grant counter still equals our epoch —
// nobody was granted the resource since our grant — take it again under the same epoch
// (docs/segment.md, Fencing, point 17). Any later grant moved the counter: refused.
const RENEW = `
local cur = redis.call('HMGET', KEYS[1], 'h', 'e')
if cur[1] == ARGV[1] and tonumber(cur[2]) == tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
if not cur[1] and tonumber(redis.call('GET', KEYS[2]) or '0') == tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'h', ARGV[1])
  redis.call('HSET', KEYS[1], 'e', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 2
end
return 0
`;

const RELEASE = `
local cur = redis.call('HMGET', KEYS[1], 'h', 'e')
if cur[1] == ARGV[1] and tonumber(cur[2]) == tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

type FenceRedis = Redis & {
  fenceAcquire(lease: string, epoch: string, holder: string, ttl: string): Promise<[number, string, number, number]>;
  fenceRenew(lease: string, epoch: string, holder: string, grant: string, ttl: string): Promise<number>;
  fenceRelease(lease: string, holder: string, epoch: string): Promise<number>;
};

export interface RedisFenceOptions {
  url: string;
  /** Key prefix (tests use a random one). */
  keyPrefix?: string;
  /** Per-command timeout, ms (default 2 000): a lease call never hangs past the lease itself. */
  commandTimeoutMs?: number;
}

export function createRedisFence(opts: RedisFenceOptions): Fence {
  const prefix = `${opts.keyPrefix ?? 'iov:'}fence:`;
  const redis = new Redis(opts.url, { lazyConnect: false, maxRetriesPerRequest: 1, commandTimeout: opts.commandTimeoutMs ?? 2_000, enableAutoPipelining: false }) as FenceRedis;
  redis.defineCommand('fenceAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  redis.defineCommand('fenceRenew', { numberOfKeys: 2, lua: RENEW });
  redis.defineCommand('fenceRelease', { numberOfKeys: 1, lua: RELEASE });
  redis.on('error', () => { /* surfaced per command */ });
  const wrap = (what: string) => (err: unknown): never => {
    throw new FenceError(`fence ${what}: ${(err as Error).message}`, true, { cause: err });
  };
  const fence: Fence = {
    async tryAcquire(resource, holder, ttlMs) {
      const sentAt = performance.now();
      const [ok, h, epoch, ms] = await redis.fenceAcquire(prefix + resource, `${prefix}${resource}:epoch`, holder, String(Math.ceil(ttlMs))).catch(wrap('acquire'));
      if (ok === 1) return { resource, holder, epoch: Number(epoch), ttlMs, validUntil: validUntil(sentAt, ttlMs) } satisfies Lease;
      return { heldBy: h, epoch: Number(epoch), expiresInMs: Math.max(0, Number(ms)) };
    },
    acquire: (resource, holder, ttlMs, o) => acquireByPolling(fence, resource, holder, ttlMs, o),
    async renew(lease) {
      const sentAt = performance.now();
      const ok = await redis.fenceRenew(prefix + lease.resource, `${prefix}${lease.resource}:epoch`, lease.holder, String(lease.epoch), String(Math.ceil(lease.ttlMs))).catch(wrap('renew'));
      if (ok !== 1 && ok !== 2) return false;
      lease.validUntil = validUntil(sentAt, lease.ttlMs);
      return true;
    },
    async release(lease) {
      await redis.fenceRelease(prefix + lease.resource, lease.holder, String(lease.epoch)).catch(wrap('release'));
    },
    async epoch(resource) {
      return Number((await redis.get(`${prefix}${resource}:epoch`).catch(wrap('epoch'))) ?? 0);
    },
    async ping() {
      await redis.ping().catch(wrap('ping'));
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
  return fence;
}
