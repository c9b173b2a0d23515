import { describe, expect, it } from 'vitest';
import { storeContract } from './store.contract.ts';
import { infra, testStore } from '../helpers/index.ts';
import { createClickHouseStore, StoreError } from '../../src/store/index.ts';
import { freePort } from '../../src/infra/index.ts';
import { createRowEncoder, PACKET_COLUMNS, rowSlice } from '../../src/flow/index.ts';

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

  it('combines insertEncoded calls made together into one INSERT; a call past its deadline fails alone and never lands', async () => {
    const s = testStore('cloud-b');
    await s.migrate();
    const t0 = Date.UTC(2026, 11, 7, 12);
    const rows = (partition: number, n: number) => {
      const enc = createRowEncoder('RowBinary', 'combine', partition, 4096);
      for (let i = 0; i < n; i++) enc.add(`v${partition}-${i}`, i + 1, t0 + i, 31.2, 121.4, 40, 90, '8931aa1a3b7ffff', t0, 'gw', i, false);
      return rowSlice(enc.finish(), 0, n);
    };
    const send = (partition: number, n: number, timeoutMs = 5_000) =>
      s.insertEncoded!('packets', 'RowBinary', rows(partition, n), PACKET_COLUMNS, { timeoutMs, combine: true }).then(() => 'ok', (e: StoreError) => e.code);
    // Four partitions' steps in one turn of the event loop, and one whose deadline passes before the send.
    const results = await Promise.all([send(0, 10), send(1, 20), send(2, 30), send(3, 40), send(4, 5, 0)]);
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'STORE_TIMEOUT']);
    const stored = await s.query<{ p: number; n: string }>('SELECT kafka_partition AS p, count() AS n FROM packets GROUP BY p ORDER BY p');
    expect(stored).toEqual([{ p: 0, n: '10' }, { p: 1, n: '20' }, { p: 2, n: '30' }, { p: 3, n: '40' }]);
    // Block numbers count INSERTs into the table (merges keep them): one.
    const [blocks] = await s.query<{ b: string }>(`SELECT max(max_block_number) AS b FROM system.parts WHERE database = '${s.database}' AND table = 'packets'`);
    expect(blocks!.b).toBe('1');
    // Without combine, each call is its own INSERT.
    await Promise.all([0, 1].map((p) => s.insertEncoded!('packets', 'RowBinary', rows(p + 10, 3), PACKET_COLUMNS)));
    const [after] = await s.query<{ b: string }>(`SELECT max(max_block_number) AS b FROM system.parts WHERE database = '${s.database}' AND table = 'packets'`);
    expect(after!.b).toBe('3');
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
