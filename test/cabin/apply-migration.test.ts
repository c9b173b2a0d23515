// The migration term (docs/cabin.md §2.2): against a running plan, a segment moves only
// when the move gains more than it costs; a centre that is no longer offered moves it anyway.
import { describe, expect, it } from 'vitest';
import { allocate, DEFAULT_MIGRATION, migrationCost, parseDemand, planFromResult, type AllocationInstance, type CentreParams } from '../../src/cabin/index.ts';


const centre = (id: string, vmPrice: number): CentreParams => ({
  id, provider: 'p', location: id, vmSpeed: 50, vmPrice, uplinkPrice: 0.05, vmCount: 10, vmBandwidth: 100, vmStorage: 8192, lat: 31.2, lng: 121.4,
});

// One 600 MB block; a VM takes 600·(1/100 + 1/50)/(10 − 0.005) → 2 VMs at either centre, rented 24 h.
const instance = (priceA: number, priceB: number, running?: Record<string, string>): AllocationInstance => ({
  name: 'mig', deadlineS: 10, rentalHours: 24, windowS: 60, latency: { baseMs: 5, msPerKm: 0 },
  centres: [centre('A', priceA), centre('B', priceB)],
  blocks: [{ id: 'north', size: 600, maxReplicas: 4, lat: 31.2, lng: 121.4 }],
  ...(running ? { running } : {}),
});

describe('migration cost', () => {
  it('is fixed cost + destination uplink price × the open windows\' data, and 0 for staying or a first plan', () => {
    const inst = instance(0.1, 0.1, { north: 'B' });
    expect(migrationCost(inst, 1, 0)).toBe(0);
    expect(migrationCost(inst, 0, 0)).toBeCloseTo(DEFAULT_MIGRATION.fixedCost + 0.05 * (DEFAULT_MIGRATION.stateWindows * 600) / 1024, 9);
    expect(migrationCost(instance(0.1, 0.1), 0, 0)).toBe(0);
  });

  it('a tiny gain does not move a running segment; a large one does; a first plan takes the cheapest', async () => {
    // A is cheaper by 0.01 $/VM·h: 2 VMs × 24 h = 0.48 $ per day, less than the move's ~2.06 $.
    const tiny = await allocate(instance(0.10, 0.11, { north: 'B' }), { solver: 'exact' });
    expect(tiny.allocations.map((a) => a.centre)).toEqual(['B']);
    expect(tiny.allocations[0]!.migrationCost).toBe(0);
    const first = await allocate(instance(0.10, 0.11), { solver: 'exact' });
    expect(first.allocations.map((a) => a.centre)).toEqual(['A']);
    // A cheaper by 0.10 $/VM·h: 4.80 $ per day, more than the move.
    const large = await allocate(instance(0.10, 0.20, { north: 'B' }), { solver: 'exact' });
    expect(large.allocations.map((a) => a.centre)).toEqual(['A']);
    expect(large.allocations[0]!.migrationCost).toBeGreaterThan(2);
    // The plan states the running cost; the one-off move is not part of it.
    const plan = planFromResult(instance(0.10, 0.20, { north: 'B' }), large);
    expect(plan.totalCost).toBeCloseTo(large.totalCost - large.allocations[0]!.migrationCost!, 2);
  });

  it('a centre no longer offered moves its segment whatever the move costs', async () => {
    const inst = instance(0.50, 0.10, { north: 'B' });
    inst.centres = inst.centres.filter((c) => c.id !== 'B');
    inst.migration = { fixedCost: 1000, stateWindows: 2 };
    const r = await allocate(inst, { solver: 'exact' });
    expect(r.allocations.map((a) => [a.centre, a.replicas])).toEqual([['A', 2]]);
  });

  it('the demand file sets the term; bad values are refused by field', () => {
    expect(parseDemand({ migration: { fixedCost: 5 } }).migration).toEqual({ fixedCost: 5, stateWindows: DEFAULT_MIGRATION.stateWindows });
    expect(() => parseDemand({ migration: { fixedCost: -1 } }, 'd.yaml')).toThrow('d.yaml: migration.fixedCost: must be a number ≥ 0, got -1');
  });
});
