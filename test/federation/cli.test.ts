// `iov query` end to end: a real process, the local infra state file, real servers.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { infra, randomName, testStore } from '../helpers/index.ts';
import { loadDataset, makeDataset, shanghai } from './fixtures.ts';

const run = promisify(execFile);
const topo = shanghai();
const ds = makeDataset(topo, 3);
const bin = new URL('../../bin/iov.mjs', import.meta.url).pathname;

describe('iov query', () => {
  const db = randomName('fedcli');
  const root = mkdtempSync(join(tmpdir(), 'iov-fed-cli-'));
  let stores: Store[];
  let oracle: Store;
  const iov = (...args: string[]) => run('node', [bin, 'query', '--state-dir', root, '--database', db, ...args], { timeout: 60_000 });

  beforeAll(async () => {
    writeFileSync(join(root, 'infra.json'), JSON.stringify(infra()));
    stores = ['cloud-a', 'cloud-b', 'cloud-c'].map((c) => testStore(c, db));
    oracle = testStore('oracle', db);
    await loadDataset(ds, topo, stores, oracle);
  });
  afterAll(async () => {
    for (const s of [...stores, oracle]) {
      await s.command(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
      await s.close();
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('prints CSV and a per-cloud summary on stderr', async () => {
    const { stdout, stderr } = await iov('--format', 'csv', 'SELECT segment, count() AS n FROM packets GROUP BY segment ORDER BY segment');
    expect(stdout).toBe(`segment,n\r\ncentral,${ds.packets.central!.length}\r\nnorth,${ds.packets.north!.length}\r\nsouth,${ds.packets.south!.length}\r\n`);
    expect(stderr).toMatch(/3 rows in \d+ ms — cloud-a: ok 1 rows \d+ ms; cloud-b: ok 1 rows \d+ ms; cloud-c: ok 1 rows \d+ ms/);
  });

  it('--format json prints the whole result; --explain the plan', async () => {
    const j = JSON.parse((await iov('--format', 'json', "SELECT count() AS n FROM traffic_flow WHERE segment = 'south'")).stdout);
    expect(j.rows).toEqual([{ n: String(ds.flow.south!.length) }]);
    expect(j.clouds.map((c: { status: string }) => c.status)).toEqual(['pruned', 'pruned', 'ok']);
    const plan = JSON.parse((await iov('--explain', "SELECT count() FROM packets WHERE segment IN ('north', 'south')")).stdout);
    expect(plan.clouds.filter((c: { pruned: boolean }) => !c.pruned).map((c: { cloud: string }) => c.cloud)).toEqual(['cloud-a', 'cloud-c']);
  });

  it('a refused query exits non-zero with the code', async () => {
    const err = await iov('DROP TABLE packets').then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain('iov: [NOT_READ_ONLY] only SELECT is allowed: DROP statements are refused');
  });
});
