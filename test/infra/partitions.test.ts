import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { plannedPartitions } from '../../src/infra/index.ts';
import { loadTopology } from '../../src/topology/index.ts';

it('sizes segment topics by the larger of maxReplicas and the cabin plan', () => {
  const topo = loadTopology(new URL('../../infra/topology/shanghai.yaml', import.meta.url).pathname);
  expect([...plannedPartitions(topo)]).toEqual([['north', 4], ['central', 4], ['south', 4]]);
  const dir = mkdtempSync(join(tmpdir(), 'plan-'));
  const plan = join(dir, 'plan.json');
  writeFileSync(plan, JSON.stringify({ segments: [{ segment: 'central', replicas: 6 }, { segment: 'south', replicas: 1 }, { segment: 'elsewhere', replicas: 9 }] }));
  expect([...plannedPartitions(topo, plan)]).toEqual([['north', 4], ['central', 6], ['south', 4]]);
});
