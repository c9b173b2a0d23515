// POST /v1/query through fastify's inject(): JSON, NDJSON and CSV out, per-cloud timings and
// row counts in the body or headers, catalogue errors with their HTTP status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFederator, createQueryServer, type Federator } from '../../src/federation/index.ts';
import type { Store } from '../../src/store/index.ts';
import { randomName, testStore } from '../helpers/index.ts';
import { loadDataset, makeDataset, shanghai } from './fixtures.ts';

const topo = shanghai();
const ds = makeDataset(topo, 5);

describe('POST /v1/query', () => {
  const db = randomName('fedhttp');
  let stores: Store[];
  let oracle: Store;
  let fed: Federator;
  let app: ReturnType<typeof createQueryServer>;
  const SQL = 'SELECT segment, count() AS n FROM packets GROUP BY segment ORDER BY segment';
  const total = (seg: string) => String(ds.packets[seg]!.length);

  beforeAll(async () => {
    stores = ['cloud-a', 'cloud-b', 'cloud-c'].map((c) => testStore(c, db));
    oracle = testStore('oracle', db);
    await loadDataset(ds, topo, stores, oracle);
    fed = createFederator({ topology: topo, stores });
    app = createQueryServer({ federator: fed });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    for (const s of [...stores, oracle]) {
      await s.command(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
      await s.close();
    }
  });

  it('JSON: columns, rows, per-cloud report and plan', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/query', payload: { sql: SQL } });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.columns).toEqual([{ name: 'segment', type: 'String' }, { name: 'n', type: 'UInt64' }]);
    expect(body.rows).toEqual([{ segment: 'central', n: total('central') }, { segment: 'north', n: total('north') }, { segment: 'south', n: total('south') }]);
    expect(body.partial).toBe(false);
    expect(body.clouds.map((c: { cloud: string; status: string; rows: number }) => [c.cloud, c.status, c.rows])).toEqual([['cloud-a', 'ok', 1], ['cloud-b', 'ok', 1], ['cloud-c', 'ok', 1]]);
    expect(body.clouds.every((c: { ms: number }) => typeof c.ms === 'number')).toBe(true);
    expect(body.plan.strategy).toBe('merge-aggregate');
  });

  it('NDJSON: one row per line, clouds in headers', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/query', payload: { sql: SQL, format: 'ndjson' } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/x-ndjson/);
    expect(r.body.trim().split('\n').map((l) => JSON.parse(l))).toEqual([{ segment: 'central', n: total('central') }, { segment: 'north', n: total('north') }, { segment: 'south', n: total('south') }]);
    expect(r.headers['x-iov-partial']).toBe('false');
    expect(r.headers['x-iov-clouds']).toMatch(/^cloud-a;status=ok;ms=\d+;rows=1, cloud-b;status=ok;ms=\d+;rows=1, cloud-c;status=ok;ms=\d+;rows=1$/);
  });

  it('CSV: header and quoted fields', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/query?format=csv', payload: { sql: "SELECT segment, 'a,\"b' AS odd FROM packets WHERE segment = 'south' LIMIT 1" } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/csv/);
    expect(r.body).toBe('segment,odd\r\nsouth,"a,""b"\r\n');
    expect(r.headers['x-iov-clouds']).toMatch(/cloud-a;status=pruned;ms=0;rows=0/);
  });

  it('explain returns the plan without running it', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/query', payload: { sql: "SELECT count() FROM packets WHERE segment = 'north'", explain: true } });
    expect(r.statusCode).toBe(200);
    expect(r.json().plan.clouds.filter((c: { pruned: boolean }) => !c.pruned).map((c: { cloud: string }) => c.cloud)).toEqual(['cloud-a']);
  });

  it.each([
    [{ sql: 'SELECT * FROM packets JOIN traffic_flow USING (cell)' }, 400, 'UNSUPPORTED_SQL', 'JOIN is not supported'],
    [{ sql: 'DROP TABLE packets' }, 403, 'NOT_READ_ONLY', 'only SELECT is allowed: DROP statements are refused'],
    [{ sql: 'SELECT * FROM system.tables' }, 403, 'TABLE_NOT_ALLOWED', 'table not allowed: database-qualified names are not allowed: system.tables'],
    [{ sql: 'SELECT count( FROM packets' }, 400, 'SQL_PARSE_ERROR', undefined],
    [{ sql: 42 }, 400, 'BAD_REQUEST', 'bad request: "sql" must be a non-empty string'],
    [{ sql: 'SELECT count() FROM packets', format: 'xml' }, 400, 'BAD_REQUEST', 'bad request: "format" must be json, ndjson or csv'],
    [{ sql: 'SELECT count() FROM packets', partial: 'yes' }, 400, 'BAD_REQUEST', 'bad request: "partial" must be a boolean'],
  ])('%j → %i %s', async (payload, status, code, message) => {
    const r = await app.inject({ method: 'POST', url: '/v1/query', payload });
    expect(r.statusCode).toBe(status);
    expect(r.json().error.code).toBe(code);
    if (message) expect(r.json().error.message).toBe(message);
  });

  it('a malformed JSON body is a 400, not a crash', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/query', headers: { 'content-type': 'application/json' }, payload: '{"sql": ' });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('BAD_REQUEST');
  });
});
