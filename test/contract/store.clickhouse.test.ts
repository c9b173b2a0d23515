import { describe, expect, it } from 'vitest';
import { storeContract } from './store.contract.ts';
import { infra, testStore } from '../helpers/index.ts';
import { createClickHouseStore, StoreError } from '../../src/store/index.ts';
import { freePort } from '../../src/infra/index.ts';

// Every cloud's server runs the same suite (each in a fresh database).
for (const cloud of ['cloud-a', 'cloud-b', 'cloud-c']) storeContract(`clickhouse ${cloud}`, () => testStore(cloud));

describe('ClickHouse store failures', () => {
  it('maps an unreachable server to STORE_UNAVAILABLE (retriable)', async () => {
    const port = await freePort();
    const s = createClickHouseStore({ cloud: 'cloud-x', endpoint: { url: `http://127.0.0.1:${port}`, database: 'iov' }, requestTimeoutMs: 2000 });
    const err = await s.query('SELECT 1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('STORE_UNAVAILABLE');
    expect((err as StoreError).retriable).toBe(true);
    expect((err as StoreError).message).toMatch(/^cloud-x: ClickHouse unreachable/);
    await s.close();
  });

  it('an insert that could not send its body before its deadline (process paused) never lands: STORE_TIMEOUT, retriable', async () => {
    const s = testStore('cloud-a');
    await s.migrate();
    await s.command('CREATE TABLE deadline_t (x UInt32) ENGINE = MergeTree() ORDER BY x');
    const pending = s.insert('deadline_t', [{ x: 1 }, { x: 2 }], { timeoutMs: 50 }).catch((e: unknown) => e);
    // A synchronous stall (as a GC pause or SIGSTOP) between the call and the send.
    const until = performance.now() + 300;
    while (performance.now() < until) { /* stalled */ }
    const err = await pending;
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('STORE_TIMEOUT');
    expect((err as StoreError).retriable).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(await s.query('SELECT count() AS n FROM deadline_t')).toEqual([{ n: '0' }]);
    await s.insert('deadline_t', [{ x: 3 }], { timeoutMs: 5_000 });
    expect(await s.query('SELECT count() AS n FROM deadline_t')).toEqual([{ n: '1' }]);
    await s.close();
  });

  it('runs against the server the infra started (18.16 or newer)', async () => {
    const s = testStore('oracle');
    await s.migrate();
    const [v] = await s.query<{ v: string }>('SELECT version() AS v');
    expect(v!.v).toMatch(/^\d+\.\d+/);
    expect(infra().clickhouse.oracle!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await s.close();
  });
});
