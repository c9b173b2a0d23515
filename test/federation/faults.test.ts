// Fault handling with real servers: cloud-b runs on a PRIVATE ClickHouse that this test
// starts and stops (the shared servers are never touched). Stopped → the query fails naming
// cloud-b; with partial: true the other clouds' rows come back, flagged partial.
// A hung cloud (a socket that accepts and never answers) → CLOUD_TIMEOUT / status timeout.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFederator } from '../../src/federation/index.ts';
import { startClickHouse, stopPid, type ClickHouseHandle } from '../../src/infra/index.ts';
import { createClickHouseStore, type Store } from '../../src/store/index.ts';
import { randomName, testStore } from '../helpers/index.ts';
import { expectSameRows } from './compare.ts';
import { loadDataset, makeDataset, shanghai } from './fixtures.ts';

const topo = shanghai();
const ds = makeDataset(topo, 99);

describe('a cloud that is down or hangs', () => {
  const db = randomName('fedfault');
  const dir = mkdtempSync(join(tmpdir(), 'iov-fed-fault-'));
  let ch: ClickHouseHandle | undefined;
  let stores: Store[];
  let oracle: Store;
  let hung: Server;
  let hungPort = 0;

  beforeAll(async () => {
    ch = await startClickHouse('cloud-b-private', dir);
    stores = [
      testStore('cloud-a', db),
      createClickHouseStore({ cloud: 'cloud-b', endpoint: { url: ch.url, database: db } }),
      testStore('cloud-c', db),
    ];
    oracle = testStore('oracle', db);
    await loadDataset(ds, topo, stores, oracle);
    hung = createServer(() => { /* accept, never answer */ });
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    hungPort = (hung.address() as { port: number }).port;
  });

  afterAll(async () => {
    hung?.close();
    await stopPid(ch?.pid);
    for (const s of [...(stores ?? []), ...(oracle ? [oracle] : [])]) {
      if (s.cloud !== 'cloud-b') await s.command(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
      await s.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const SQL = 'SELECT segment, count() AS n, sum(speed_kmh) FROM packets GROUP BY segment ORDER BY segment';

  it('answers in full while every cloud is up', async () => {
    const fed = createFederator({ topology: topo, stores });
    const res = await fed.query(SQL);
    expectSameRows(res.rows, await oracle.query(SQL), true, SQL);
    expect(res.clouds.map((c) => c.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('stopped cloud → CLOUD_FAILED naming it; partial → the others, flagged', async () => {
    await stopPid(ch!.pid);
    const fed = createFederator({ topology: topo, stores });
    const err = await fed.query(SQL).then(() => undefined, (e: unknown) => e as { code: string; message: string; statusCode: number; clouds: string[] });
    expect(err?.code).toBe('CLOUD_FAILED');
    expect(err?.statusCode).toBe(502);
    expect(err?.message).toMatch(/^cloud-b: /);
    expect(err?.clouds).toEqual(['cloud-b']);

    const res = await fed.query(SQL, { partial: true });
    expect(res.partial).toBe(true);
    expect(res.clouds.map((c) => [c.cloud, c.status])).toEqual([['cloud-a', 'ok'], ['cloud-b', 'error'], ['cloud-c', 'ok']]);
    expect(res.clouds[1]!.error).toMatch(/cloud-b/);
    const want = await oracle.query(SQL.replace('GROUP BY', "WHERE segment != 'central' GROUP BY"));
    expectSameRows(res.rows, want, true, SQL);

    // Partial results need an answer: a query only the stopped cloud could answer fails even so.
    await expect(fed.query("SELECT count() FROM packets WHERE segment = 'central'", { partial: true }))
      .rejects.toMatchObject({ code: 'CLOUD_FAILED', clouds: ['cloud-b'] });

    // A query pruned to the healthy clouds does not notice.
    const north = await fed.query("SELECT count() FROM packets WHERE segment = 'north'");
    expect(north.partial).toBe(false);
    expect(north.rows[0]).toEqual({ 'count()': String(ds.packets.north!.length) });
  });

  it('hung cloud → CLOUD_TIMEOUT after the time limit; partial → status timeout', async () => {
    const slow = createClickHouseStore({ cloud: 'cloud-b', endpoint: { url: `http://127.0.0.1:${hungPort}`, database: db } });
    // (the limit is every cloud's: the healthy ones must answer within it on a loaded box, so
    // not 500 ms; the hung one costs it twice)
    const fed = createFederator({ topology: topo, stores: [stores[0]!, slow, stores[2]!], limits: { timeoutMs: 2_500 } });
    try {
      await expect(fed.query(SQL)).rejects.toMatchObject({ code: 'CLOUD_TIMEOUT', statusCode: 504, message: expect.stringMatching(/^cloud-b: /) });
      const res = await fed.query(SQL, { partial: true });
      expect(res.partial).toBe(true);
      expect(res.clouds.find((c) => c.cloud === 'cloud-b')!.status).toBe('timeout');
      expect(res.rows.map((r) => r.segment)).toEqual(['north', 'south']);
    } finally {
      await slow.close();
    }
  });
});
