// Safety: only one read-only SELECT over the allowlisted tables and functions gets through;
// everything else is refused before any cloud is contacted, with a code and a message that
// names what is refused. Over-limit results are refused too (against real servers).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFederator, FederationError, type Federator } from '../../src/federation/index.ts';
import { createClickHouseStore, type Store } from '../../src/store/index.ts';
import { randomName, testStore } from '../helpers/index.ts';
import { loadDataset, makeDataset, shanghai } from './fixtures.ts';

const topo = shanghai();

function refusal(fed: Federator, sql: string): FederationError {
  try {
    fed.explain(sql);
  } catch (err) {
    expect(err).toBeInstanceOf(FederationError);
    return err as FederationError;
  }
  throw new Error(`not refused: ${sql}`);
}

describe('refused SQL (no cloud is contacted)', () => {
  // Stores on a closed port: any attempt to reach a cloud would fail differently.
  const stores = ['cloud-a', 'cloud-b', 'cloud-c'].map((c) => createClickHouseStore({ cloud: c, endpoint: { url: 'http://127.0.0.1:9', database: 'x' } }));
  const fed = createFederator({ topology: topo, stores });
  afterAll(async () => { await Promise.all(stores.map((s) => s.close())); });

  const cases: [sql: string, code: string, message: RegExp][] = [
    ['SELECT count() FROM packets; DROP TABLE packets', 'MULTIPLE_STATEMENTS', /one statement/],
    ['SELECT 1 FROM packets; SELECT 2 FROM packets', 'MULTIPLE_STATEMENTS', /one statement/],
    ["INSERT INTO packets (segment) VALUES ('x')", 'NOT_READ_ONLY', /INSERT/],
    ['ALTER TABLE packets DELETE WHERE 1', 'NOT_READ_ONLY', /ALTER/],
    ['DROP TABLE traffic_flow', 'NOT_READ_ONLY', /DROP/],
    ['TRUNCATE TABLE packets', 'NOT_READ_ONLY', /TRUNCATE/],
    ['CREATE TABLE t (x UInt8) ENGINE = Memory', 'NOT_READ_ONLY', /CREATE/],
    ['SELECT * FROM system.tables', 'TABLE_NOT_ALLOWED', /system\.tables/],
    ['SELECT name FROM system.clusters', 'TABLE_NOT_ALLOWED', /database-qualified/],
    ['SELECT * FROM iov.packets', 'TABLE_NOT_ALLOWED', /iov\.packets/],
    ['SELECT * FROM users', 'TABLE_NOT_ALLOWED', /users \(allowed: packets, traffic_flow, traffic_forecast\)/],
    ["SELECT * FROM url('http://example.invalid/x', CSV, 'a String')", 'FUNCTION_NOT_ALLOWED', /table functions are not allowed: url\(\)/],
    ["SELECT * FROM file('/etc/passwd', CSV, 'a String')", 'FUNCTION_NOT_ALLOWED', /file\(\)/],
    ["SELECT * FROM remote('127.0.0.1', system.one)", 'FUNCTION_NOT_ALLOWED', /remote\(\)/],
    ['SELECT * FROM numbers(10)', 'FUNCTION_NOT_ALLOWED', /numbers\(\)/],
    ["SELECT count() FROM packets WHERE segment = url('http://x')", 'FUNCTION_NOT_ALLOWED', /url\(\)/],
    ['SELECT sleep(3) FROM packets', 'FUNCTION_NOT_ALLOWED', /sleep\(\)/],
    ['SELECT hostName() FROM packets', 'FUNCTION_NOT_ALLOWED', /hostName\(\)/],
    ['SELECT uniq(vehicle_id) FROM packets', 'FUNCTION_NOT_ALLOWED', /uniq\(\)/],
    ['SELECT * FROM packets JOIN traffic_flow USING (cell)', 'UNSUPPORTED_SQL', /^JOIN is not supported$/],
    ['SELECT * FROM packets, traffic_flow', 'UNSUPPORTED_SQL', /JOIN is not supported/],
    ['SELECT count() FROM (SELECT * FROM packets)', 'UNSUPPORTED_SQL', /^subqueries are not supported$/],
    ['SELECT count() FROM packets WHERE cell IN (SELECT cell FROM traffic_flow)', 'UNSUPPORTED_SQL', /^subqueries are not supported$/],
    ['SELECT vehicle_id, count() OVER (PARTITION BY segment) FROM packets', 'UNSUPPORTED_SQL', /^window functions are not supported$/],
    ['SELECT 1 FROM packets UNION ALL SELECT 2 FROM packets', 'UNSUPPORTED_SQL', /UNION is not supported/],
    ['WITH 1 AS x SELECT x FROM packets', 'UNSUPPORTED_SQL', /WITH is not supported/],
    ['SELECT count() FROM packets FORMAT TSV', 'UNSUPPORTED_SQL', /FORMAT is not supported/],
    ['SELECT count() FROM packets SETTINGS readonly = 0', 'UNSUPPORTED_SQL', /SETTINGS is not supported/],
    ['SELECT count(DISTINCT vehicle_id) FROM packets', 'UNSUPPORTED_SQL', /count\(DISTINCT …\) is not supported/],
    ['SELECT quantile(0.5)(speed_kmh) FROM packets', 'UNSUPPORTED_SQL', /parametric functions/],
    ['SELECT segment, count() FROM packets GROUP BY 1', 'UNSUPPORTED_SQL', /column position/],
    ['SELECT toString(sum(packets)) FROM traffic_flow', 'UNSUPPORTED_SQL', /function toString\(\) over aggregates is not supported/],
    ['SELECT count() FROM packets WHERE speed_kmh IS NULL', 'UNSUPPORTED_SQL', /IS \[NOT\] NULL/],
    ['SELECT 1', 'UNSUPPORTED_SQL', /without FROM/],
    ['SELEC count() FROM packets', 'SQL_PARSE_ERROR', /expected SELECT/],
    ["SELECT count() FROM packets WHERE segment = 'north", 'SQL_PARSE_ERROR', /unterminated string/],
    ['SELECT count( FROM packets', 'SQL_PARSE_ERROR', /position/],
    ['SELECT nope FROM packets', 'UNKNOWN_COLUMN', /nope/],
    ['SELECT vehicle_id, count() FROM packets', 'INVALID_QUERY', /vehicle_id must be in GROUP BY/],
    ['SELECT count() FROM packets WHERE count() > 1', 'INVALID_QUERY', /not allowed in WHERE/],
    ['SELECT sum(vehicle_id) FROM packets', 'INVALID_QUERY', /numeric/],
    ['SELECT sum(max(speed_kmh)) FROM packets', 'INVALID_QUERY', /nested/],
  ];
  it.each(cases)('%s → %s', (sql, code, message) => {
    const e = refusal(fed, sql);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(e.statusCode).toBeGreaterThanOrEqual(400);
    expect(e.statusCode).toBeLessThan(500);
  });

  it('query() refuses the same way (the promise rejects with the code)', async () => {
    await expect(fed.query('DROP TABLE packets')).rejects.toMatchObject({ code: 'NOT_READ_ONLY', statusCode: 403 });
  });

  it('string literals cannot break out of the generated SQL', () => {
    const plan = fed.explain("SELECT count() FROM packets WHERE vehicle_id = 'x\\' OR 1=1 --' OR gateway_id = 'a''b'");
    const sql = plan.clouds.find((c) => !c.pruned)!.sql!;
    expect(sql).toContain("(`vehicle_id` = 'x\\' OR 1=1 --')");
    expect(sql).toContain("(`gateway_id` = 'a\\'b')");
  });

  it('quoted identifiers are re-quoted, never spliced', () => {
    const e = refusal(fed, 'SELECT `speed_kmh`` FROM system.one --` FROM packets');
    expect(e.code).toBe('UNKNOWN_COLUMN');
  });

  it('bad options fail fast', () => {
    expect(() => createFederator({ topology: topo, stores: [] })).toThrow('options.stores must be a non-empty array');
    expect(() => createFederator({ topology: topo, stores: stores.slice(0, 2) })).toThrow('no store for cloud cloud-c');
    expect(() => createFederator({ topology: topo, stores, limits: { maxRows: 0 } })).toThrow('options.limits.maxRows must be a positive integer');
    expect(() => createFederator({ topology: topo, stores, limits: { maxRowz: 1 } as never })).toThrow('options.limits.maxRowz is not a known limit');
  });
});

describe('row limits (real servers)', () => {
  const db = randomName('fedlim');
  let stores: Store[];
  let oracle: Store;
  beforeAll(async () => {
    stores = ['cloud-a', 'cloud-b', 'cloud-c'].map((c) => testStore(c, db));
    oracle = testStore('oracle', db);
    await loadDataset(makeDataset(topo, 7), topo, stores, oracle);
  });
  afterAll(async () => {
    for (const s of [...stores, oracle]) {
      await s.command(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
      await s.close();
    }
  });

  it('a merged result over the limit is refused with TOO_MANY_ROWS', async () => {
    const fed = createFederator({ topology: topo, stores, limits: { maxRows: 50 } });
    await expect(fed.query('SELECT vehicle_id, seq FROM packets')).rejects.toMatchObject({ code: 'TOO_MANY_ROWS', statusCode: 422 });
    await expect(fed.query('SELECT cell, window_start, count() FROM traffic_flow GROUP BY cell, window_start')).rejects.toMatchObject({ code: 'TOO_MANY_ROWS' });
    // A LIMIT under the cap is fine.
    expect((await fed.query('SELECT vehicle_id, seq FROM packets ORDER BY vehicle_id, seq LIMIT 50')).rows).toHaveLength(50);
  });

  it('a single cloud over the limit is refused by ClickHouse itself (max_result_rows)', async () => {
    const fed = createFederator({ topology: topo, stores, limits: { maxRows: 10 } });
    await expect(fed.query("SELECT vehicle_id, seq FROM packets WHERE segment = 'north'")).rejects.toMatchObject({ code: 'TOO_MANY_ROWS' });
  });

  it('too many partial groups from one cloud are refused', async () => {
    const fed = createFederator({ topology: topo, stores, limits: { maxCloudRows: 5 } });
    await expect(fed.query('SELECT vehicle_id, seq, count() FROM packets GROUP BY vehicle_id, seq LIMIT 1')).rejects.toMatchObject({ code: 'TOO_MANY_ROWS', message: expect.stringMatching(/more than 5 groups/) });
  });

  it('the per-cloud queries run read-only', async () => {
    // Even if SQL slipped through, readonly=2 would stop writes: check the store setting works here.
    await expect(stores[0]!.query('SELECT 1', { readonly: true })).resolves.toBeDefined();
    await expect(stores[0]!.query(`CREATE TABLE ${randomName('ro')} (x UInt8) ENGINE = Memory`, { readonly: true })).rejects.toThrow(/readonly|Cannot/i);
  });
});
