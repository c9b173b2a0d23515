// The replica-plan module (src/topology/plan.ts): partitions and workers per segment from the
// topology and the plan, and a bad plan file is an error that names the field.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { loadTopology, plannedPartitions, readPlanIfAny, replicasFor, segmentTopicSpecs, validatePlan, writePlan, type ReplicaPlan } from '../../src/topology/index.ts';

const topo = loadTopology(new URL('../../infra/topology/shanghai.yaml', import.meta.url).pathname);
const plan: ReplicaPlan = {
  createdAt: '2026-01-01T00:00:00Z', solver: 'exact', status: 'optimal', totalCost: 1,
  segments: [
    { segment: 'central', centre: 'c1', replicas: 6, expectedLatencyMs: 10, cost: 1 },
    { segment: 'south', centre: 'c1', replicas: 1, expectedLatencyMs: 10, cost: 0 },
    { segment: 'elsewhere', centre: 'c1', replicas: 9, expectedLatencyMs: 10, cost: 0 },
  ],
};

it('sizes segment topics by the larger of maxReplicas and the cabin plan', () => {
  expect([...plannedPartitions(topo)]).toEqual([['north', 4], ['central', 4], ['south', 4]]);
  expect([...plannedPartitions(topo, plan)]).toEqual([['north', 4], ['central', 6], ['south', 4]]);
  expect(segmentTopicSpecs(topo, plan)).toEqual([
    { topic: 'iov.seg.north.packets', partitions: 4 }, { topic: 'iov.seg.central.packets', partitions: 6 }, { topic: 'iov.seg.south.packets', partitions: 4 },
  ]);
});

it('gives workers from the plan, else the fallback', () => {
  expect([replicasFor(plan, 'central', 2), replicasFor(plan, 'north', 2), replicasFor(undefined, 'north', 2)]).toEqual([6, 2, 2]);
});

it('reads a plan file when there is one, and refuses a broken one naming the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plan-'));
  const file = join(dir, 'plan.json');
  expect(readPlanIfAny(file)).toBeUndefined();
  writePlan(file, plan);
  expect(readPlanIfAny(file)).toEqual(plan);
  writeFileSync(file, JSON.stringify({ ...plan, segments: [{ ...plan.segments[0], replicas: 0 }] }));
  expect(() => readPlanIfAny(file)).toThrow(`${file}: segments[0].replicas: must be an integer ≥ 1`);
  expect(() => validatePlan({ ...plan, solver: 'lingo' })).toThrow(expect.objectContaining({ code: 'PLAN_INVALID', message: 'plan: solver: must be one of exact, fast, ga, hybrid, tabu' }));
  writeFileSync(file, JSON.stringify({ segments: [{ segment: 'central', replicas: 6 }] }));
  expect(() => readPlanIfAny(file)).toThrow(expect.objectContaining({ code: 'PLAN_INVALID', message: `${file}: createdAt: must be an ISO date` }));
});
