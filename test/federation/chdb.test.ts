// The same differential corpus on chDB (current ClickHouse, in-process, as in the embedded
// mode): three chDB stores, one database per cloud, plus an oracle database with the union.
// Proves the generated per-cloud SQL runs on current ClickHouse as well as on 18.16.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createFederator, type Federator } from '../../src/federation/index.ts';
import { createChdbStore, openChdbSession, type ChdbSession, type Store } from '../../src/store/index.ts';
import { randomName } from '../helpers/index.ts';
import { expectSameRows } from './compare.ts';
import { corpus } from './corpus.ts';
import { loadDataset, makeDataset, shanghai } from './fixtures.ts';

const topo = shanghai();
const ds = makeDataset(topo, 11);

describe('federated answers equal the oracle on chDB (current ClickHouse)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iov-fed-chdb-'));
  const tag = randomName('f');
  let session: ChdbSession;
  let stores: Store[];
  let oracle: Store;
  let fed: Federator;

  beforeAll(async () => {
    session = await openChdbSession({ path: dir });
    stores = ['cloud-a', 'cloud-b', 'cloud-c'].map((c) => createChdbStore({ cloud: c, database: `${tag}_${c.replace('-', '_')}`, session }));
    oracle = createChdbStore({ cloud: 'oracle', database: `${tag}_oracle`, session });
    await loadDataset(ds, topo, stores, oracle);
    fed = createFederator({ topology: topo, stores });
  });

  afterAll(async () => {
    await fed?.close();
    for (const s of [...(stores ?? []), ...(oracle ? [oracle] : [])]) await s.close();
    await session?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(corpus(ds).map((c, i) => [i, c] as const))('query %i', async (_i, { sql, ordered }) => {
    const got = await fed.query(sql);
    const want = await oracle.query(sql);
    expectSameRows(got.rows, want, ordered ?? false, sql);
  });
});
