// Worker thread of test/segment/lease.test.ts: watches a partition's lease in Redis while the
// test's main thread is blocked (a process that cannot run, so it cannot renew). Once the
// lease key has expired — the holder went a whole ttl without renewing — it optionally takes
// the lease itself (another member granted it: the epoch moves), then wakes the main thread
// through the shared flag.
import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { createRedisFence, isLease } from '../../src/fence/index.ts';

export interface LeaseWatch {
  url: string;
  keyPrefix: string;
  resource: string;
  /** Take the lease once it expired (as another member would). */
  take: boolean;
  /** Int32 flag: set to 1 (and notified) when done, 2 on an error. */
  flag: SharedArrayBuffer;
}

const w = workerData as LeaseWatch;
const flag = new Int32Array(w.flag);
const redis = new Redis(w.url);
const fence = createRedisFence({ url: w.url, keyPrefix: w.keyPrefix });
const done = (v: number) => {
  Atomics.store(flag, 0, v);
  Atomics.notify(flag, 0);
};

parentPort!.once('message', () => {
  void (async () => {
    try {
      while ((await redis.exists(`${w.keyPrefix}fence:${w.resource}`)) === 1) await new Promise((r) => setTimeout(r, 20));
      if (w.take && !isLease(await fence.tryAcquire(w.resource, 'another-member', 60_000))) throw new Error('the expired lease was refused');
      done(1);
    } catch (err) {
      parentPort!.postMessage((err as Error).message);
      done(2);
    } finally {
      await Promise.allSettled([redis.quit(), fence.close()]);
    }
  })();
});
parentPort!.postMessage('ready');
