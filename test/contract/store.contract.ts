// The Store interface's spec. ClickHouse (18.16 over HTTP) and chDB adapters run this suite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError, type Store } from '../../src/store/index.ts';

export function storeContract(name: string, makeStore: () => Store | Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await makeStore();
      await store.migrate();
    });
    afterAll(async () => {
      await store?.close();
    });

    const packet = (i: number) => ({
      segment: i % 2 ? 'north' : 'south',
      vehicle_id: `v${i % 5}`,
      seq: i,
      ts: 1_795_300_000 + i,
      ts_ms: String(1_795_300_000_000 + i * 1000),
      lat: 31.2 + i / 1000,
      lng: 121.4,
      speed_kmh: i * 1.5,
      heading: 90,
      cell: '617700169958293503', // above 2^53: must round-trip exactly
      ingest_ts_ms: String(1_795_300_000_500 + i * 1000),
    });

    it('migrate is idempotent and creates the logical tables', async () => {
      await store.migrate();
      const t = await store.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name`);
      expect(t.map((r) => r.name)).toEqual(expect.arrayContaining(['packets', 'traffic_flow']));
    });

    it('inserts rows and reads them back exactly, UInt64 as strings', async () => {
      await store.insert('packets', Array.from({ length: 10 }, (_, i) => packet(i)));
      const rows = await store.query(`SELECT vehicle_id, seq, ts_ms, cell, speed_kmh, toUnixTimestamp(ts) AS ts_s FROM packets WHERE seq = 3`);
      expect(rows).toEqual([{ vehicle_id: 'v3', seq: '3', ts_ms: '1795300003000', cell: '617700169958293503', speed_kmh: 4.5, ts_s: 1795300003 }]);
      const agg = await store.query<{ segment: string; n: string; s: number }>(
        `SELECT segment, count() AS n, sum(speed_kmh) AS s FROM packets GROUP BY segment ORDER BY segment`,
      );
      expect(agg).toEqual([{ segment: 'north', n: '5', s: 37.5 }, { segment: 'south', n: '5', s: 30 }]);
    });

    it('inserts traffic_flow rows and aggregates them with time buckets', async () => {
      const base = 1_795_300_020; // 2026-11-21 22:27:00 UTC, a minute boundary
      await store.insert('traffic_flow', [
        { window_start: base, window_s: 60, segment: 'north', cell: '617700169958293503', vehicles: 3, packets: 10, speed_sum: 300.5, speed_count: 9, inv_speed_sum: 0.3, min_speed: 10, max_speed: 50, part: 0 },
        { window_start: base, window_s: 60, segment: 'north', cell: '617700169958293503', vehicles: 2, packets: 4, speed_sum: 100, speed_count: 4, inv_speed_sum: 0.1, min_speed: 5, max_speed: 40, part: 1 },
        { window_start: base + 60, window_s: 60, segment: 'north', cell: '617700169958293503', vehicles: 1, packets: 1, speed_sum: 20, speed_count: 1, inv_speed_sum: 0.05, min_speed: 20, max_speed: 20, part: 0 },
      ]);
      const rows = await store.query(
        `SELECT toStartOfFiveMinute(window_start) AS b, sum(vehicles) AS v, sum(packets) AS p, min(min_speed) AS lo, max(max_speed) AS hi FROM traffic_flow GROUP BY b ORDER BY b`,
      );
      expect(rows).toEqual([{ b: '2026-11-21 22:25:00', v: '6', p: '15', lo: 5, hi: 50 }]);
    });

    it('maps bad SQL to STORE_QUERY (not retriable) with the server message', async () => {
      const err = await store.query('SELECT no_such_column FROM packets').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe('STORE_QUERY');
      expect((err as StoreError).retriable).toBe(false);
      expect((err as StoreError).message).toMatch(/no_such_column/);
    });

    it('refuses results over maxRows with STORE_TOO_MANY_ROWS', async () => {
      const err = await store.query('SELECT number FROM system.numbers LIMIT 1000', { maxRows: 10 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe('STORE_TOO_MANY_ROWS');
      expect(await store.query('SELECT number FROM system.numbers LIMIT 5', { maxRows: 10 })).toHaveLength(5);
    });

    it('runs readonly queries with limits and a timeout', async () => {
      const rows = await store.query<{ n: string }>('SELECT count() AS n FROM packets', { readonly: true, timeoutMs: 5000, maxRows: 1 });
      expect(rows).toEqual([{ n: '10' }]);
    });

    // After the readonly test, which counts the packets table.
    it('inserts pre-encoded JSONEachRow (string or bytes) exactly, and rejects a bad body', async () => {
      expect(typeof store.insertEncoded).toBe('function');
      // Every adapter takes JSONEachRow; RowBinary (server only) is tested in test/flow/rowbinary.
      expect(store.encodedFormats).toContain('JSONEachRow');
      const line = (i: number) => `${JSON.stringify({ ...packet(i), segment: 'encoded', vehicle_id: `é-${i}`, kafka_offset: String(2 ** 53 + 2 * i) })}\n`;
      await store.insertEncoded!('packets', 'JSONEachRow', line(1) + line(2));
      await store.insertEncoded!('packets', 'JSONEachRow', new TextEncoder().encode(line(3)));
      await store.insertEncoded!('packets', 'JSONEachRow', '');
      const rows = await store.query(`SELECT vehicle_id, seq, cell, kafka_offset FROM packets WHERE segment = 'encoded' ORDER BY seq`);
      expect(rows).toEqual([1, 2, 3].map((i) => ({ vehicle_id: `é-${i}`, seq: String(i), cell: '617700169958293503', kafka_offset: String(2n ** 53n + 2n * BigInt(i)) })));
      const err = await store.insertEncoded!('packets', 'JSONEachRow', '{"seq": "not a number"\n').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe('STORE_QUERY');
      const n = await store.query<{ n: string }>(`SELECT count() AS n FROM packets WHERE segment = 'encoded'`);
      expect(n).toEqual([{ n: '3' }]);
    });
  });
}
