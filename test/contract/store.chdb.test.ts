import { afterAll, describe, expect, it } from 'vitest';
import { storeContract } from './store.contract.ts';
import { createChdbStore, openChdbSession, StoreError } from '../../src/store/index.ts';
import { randomName } from '../helpers/index.ts';

// Three clouds on one process-wide chDB session, one database each (the embedded layout).
for (const cloud of ['cloud-a', 'cloud-b', 'cloud-c']) storeContract(`chdb ${cloud}`, () => createChdbStore({ cloud, database: randomName('t') }));

describe('chDB store specifics', () => {
  const sessionP = openChdbSession();
  afterAll(async () => {
    await (await sessionP).close();
  });

  it('keeps each cloud in its own database on one shared session', async () => {
    const session = await sessionP;
    const a = createChdbStore({ cloud: 'cloud-a', session });
    const b = createChdbStore({ cloud: 'cloud-b', session });
    await Promise.all([a.migrate(), b.migrate()]);
    const row = { window_start: 1_795_300_020, window_s: 60, segment: 'north', cell: '617700169958293503', vehicles: 1, packets: 2, speed_sum: 3, speed_count: 2, inv_speed_sum: 0.5, min_speed: 1, max_speed: 2, part: 0 };
    await Promise.all([a.insert('traffic_flow', [row, { ...row, part: 1 }]), b.insert('traffic_flow', [row])]);
    // Interleaved queries must each see their own database.
    const res = await Promise.all([a, b, a, b].map((s) => s.query<{ db: string; n: string }>('SELECT currentDatabase() AS db, count() AS n FROM traffic_flow')));
    expect(res.map((r) => r[0])).toEqual([
      { db: 'iov_cloud_a', n: '2' }, { db: 'iov_cloud_b', n: '1' }, { db: 'iov_cloud_a', n: '2' }, { db: 'iov_cloud_b', n: '1' },
    ]);
    await Promise.all([a.close(), b.close()]);
    expect(session.closed).toBe(false);
  });

  it('refuses writes in readonly queries and maps timeouts', async () => {
    const s = createChdbStore({ cloud: 'cloud-x', session: await sessionP });
    await s.migrate();
    const ro = await s.query('INSERT INTO packets SELECT * FROM packets', { readonly: true }).catch((e: unknown) => e);
    expect(ro).toBeInstanceOf(StoreError);
    expect((ro as StoreError).code).toBe('STORE_QUERY');
    const slow = await s.query('SELECT count() FROM system.numbers WHERE NOT ignore(sipHash64(number))', { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(StoreError);
    expect((slow as StoreError).code).toBe('STORE_TIMEOUT');
    expect((slow as StoreError).retriable).toBe(true);
    await s.close();
  });

  it('maps a closed store to STORE_UNAVAILABLE', async () => {
    const s = createChdbStore({ cloud: 'cloud-y', session: await sessionP });
    await s.close();
    const err = await s.query('SELECT 1').catch((e: unknown) => e);
    expect((err as StoreError).code).toBe('STORE_UNAVAILABLE');
  });
});
