// Differential test: every query in the corpus runs through the federator over cloud-a/b/c
// (each holding its own segments' rows) and directly on the oracle ClickHouse holding the
// union; the answers must be the same rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFederator, type Federator } from '../../src/federation/index.ts';
import type { Store } from '../../src/store/index.ts';
import { randomName, testStore } from '../helpers/index.ts';
import { expectSameRows } from './compare.ts';
import { corpus } from './corpus.ts';
import { loadDataset, makeDataset, shanghai } from './fixtures.ts';

const topo = shanghai();
const ds = makeDataset(topo);
const CORPUS = corpus(ds);

describe('federated answers equal the oracle (union ClickHouse)', () => {
  const db = randomName('fed');
  let stores: Store[];
  let oracle: Store;
  let fed: Federator;

  beforeAll(async () => {
    stores = ['cloud-a', 'cloud-b', 'cloud-c'].map((c) => testStore(c, db));
    oracle = testStore('oracle', db);
    await loadDataset(ds, topo, stores, oracle);
    fed = createFederator({ topology: topo, stores });
  });

  afterAll(async () => {
    await fed?.close();
    for (const s of [...(stores ?? []), ...(oracle ? [oracle] : [])]) {
      await s.command(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
      await s.close();
    }
  });

  it('has a corpus of at least 40 queries', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(40);
  });

  it('the data really is spread over three clouds', async () => {
    const counts = await Promise.all(stores.map(async (s) => Number((await s.query<{ n: string }>('SELECT count() AS n FROM packets'))[0]!.n)));
    expect(counts.every((n) => n > 0)).toBe(true);
  });

  it.each(CORPUS.map((c, i) => [i, c] as const))('query %i', async (_i, { sql, ordered }) => {
    const [got, want] = await Promise.all([fed.query(sql), oracle.query(sql)]);
    expect(got.partial).toBe(false);
    expect(got.columns.length).toBe(Object.keys(want[0] ?? got.rows[0] ?? {}).length || got.columns.length);
    expectSameRows(got.rows, want, ordered ?? false, sql);
  });
});
