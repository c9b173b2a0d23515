// The Fence interface's spec (src/fence): one holder at a time, epochs that only grow, a
// holder's own validity ending before anyone else is let in. Redis and in-memory adapters
// run this same suite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLease, type Fence, type Lease, type LeaseRefusal } from '../../src/fence/index.ts';
import { randomName } from '../helpers/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function fenceContract(name: string, makeFence: () => Fence): void {
  describe(`Fence contract: ${name}`, () => {
    let fence: Fence;
    beforeAll(async () => {
      fence = makeFence();
      await fence.ping();
    });
    afterAll(async () => {
      await fence?.close();
    });

    it('grants one holder at a time, with epochs that only grow', async () => {
      const r = randomName('res');
      expect(await fence.epoch(r)).toBe(0);
      const a = (await fence.tryAcquire(r, 'a', 5_000)) as Lease;
      expect([isLease(a), a.epoch, a.holder, a.resource]).toEqual([true, 1, 'a', r]);
      const refused = (await fence.tryAcquire(r, 'b', 5_000)) as LeaseRefusal;
      expect(isLease(refused)).toBe(false);
      expect(refused.heldBy).toBe('a');
      expect(refused.epoch).toBe(1);
      expect(refused.expiresInMs).toBeGreaterThan(3_000);
      expect(refused.expiresInMs).toBeLessThanOrEqual(5_000);
      await fence.release(a);
      const b = (await fence.tryAcquire(r, 'b', 5_000)) as Lease;
      expect(b.epoch).toBe(2);
      // The same holder asking again gets a new grant (a restarted pipeline of one process).
      const b2 = (await fence.tryAcquire(r, 'b', 5_000)) as Lease;
      expect(b2.epoch).toBe(3);
      expect(await fence.renew(b)).toBe(false);
      expect(await fence.renew(b2)).toBe(true);
      expect(await fence.epoch(r)).toBe(3);
      await fence.release(b2);
    });

    it('a lost lease cannot be renewed or released, and releasing it does not free the new one', async () => {
      const r = randomName('res');
      const a = (await fence.tryAcquire(r, 'a', 150)) as Lease;
      await sleep(250);
      const b = (await fence.tryAcquire(r, 'b', 5_000)) as Lease;
      expect(isLease(b)).toBe(true);
      expect(b.epoch).toBe(a.epoch + 1);
      expect(await fence.renew(a)).toBe(false);
      await fence.release(a);
      expect(isLease(await fence.tryAcquire(r, 'c', 5_000))).toBe(false);
      await fence.release(b);
    });

    it('a lapsed lease nobody was granted since is taken again by renew, under the same epoch; once anyone was, never', async () => {
      // A holder that could not renew for a whole ttl (lease server unreachable, process
      // paused): nobody else may have written meanwhile, so it may go on (docs/segment.md,
      // Fencing, point 17).
      const r = randomName('res');
      const a = (await fence.tryAcquire(r, 'a', 150)) as Lease;
      await sleep(250);
      expect(await fence.renew(a)).toBe(true);
      expect(await fence.epoch(r)).toBe(a.epoch);
      expect(a.validUntil).toBeGreaterThan(performance.now() + 50);
      // It is a lease again: held against others, and renewed as usual.
      const refused = (await fence.tryAcquire(r, 'b', 5_000)) as LeaseRefusal;
      expect([isLease(refused), refused.heldBy, refused.epoch]).toEqual([false, 'a', a.epoch]);
      expect(await fence.renew(a)).toBe(true);
      // Released and not taken by anyone: the counter still names a's grant.
      await fence.release(a);
      expect(await fence.renew(a)).toBe(true);
      // Lapsed, then granted to b and released by b: the counter moved on, a stays out.
      await sleep(250);
      const b = (await fence.tryAcquire(r, 'b', 5_000)) as Lease;
      expect(b.epoch).toBe(a.epoch + 1);
      await fence.release(b);
      expect(await fence.renew(a)).toBe(false);
      expect(await fence.epoch(r)).toBe(b.epoch);
      expect(isLease(await fence.tryAcquire(r, 'c', 5_000))).toBe(true);
    });

    it('renewing keeps a lease past its first ttl; local validity moves with it', async () => {
      const r = randomName('res');
      const a = (await fence.tryAcquire(r, 'a', 1_000)) as Lease;
      const first = a.validUntil;
      expect(first).toBeLessThan(performance.now() + 1_000);
      for (let i = 0; i < 4; i++) {
        await sleep(200);
        expect(await fence.renew(a)).toBe(true);
      }
      expect(a.validUntil).toBeGreaterThan(first + 600);
      expect(isLease(await fence.tryAcquire(r, 'b', 1_000))).toBe(false);
      await fence.release(a);
    });

    it('acquire() waits out the holder: the new lease starts only after the old holder’s own validity ended', async () => {
      const r = randomName('res');
      const a = (await fence.tryAcquire(r, 'a', 400)) as Lease;
      const b = await fence.acquire(r, 'b', 5_000, { pollMs: 20 });
      const grantedAt = performance.now();
      expect(b.epoch).toBe(a.epoch + 1);
      expect(grantedAt).toBeGreaterThanOrEqual(a.validUntil);
      // And a's renew, however late, is refused.
      expect(await fence.renew(a)).toBe(false);
      await fence.release(b);
    });

    it('acquire() stops waiting when aborted', async () => {
      const r = randomName('res');
      const a = (await fence.tryAcquire(r, 'a', 5_000)) as Lease;
      const ctl = new AbortController();
      const p = fence.acquire(r, 'b', 5_000, { signal: ctl.signal, pollMs: 20 });
      setTimeout(() => ctl.abort(new Error('superseded')), 60);
      await expect(p).rejects.toThrow('superseded');
      await fence.release(a);
    });
  });
}
