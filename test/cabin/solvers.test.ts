import { describe, expect, it } from 'vitest';
import {
  allocate, checkAllocation, isFeasible, solveExact, solveFast, toGap, makeGap, type AllocationInstance,
} from '../../src/cabin/index.ts';
import { generateInstance, solveGa } from '../../src/cabin/lab/index.ts';
import { createRng } from '../../src/cabin/rng.ts';
import { bruteForce } from './helpers.ts';

function randomGap(seed: number, m: number, n: number): ReturnType<typeof makeGap> {
  const r = createRng(seed);
  const cost: number[] = [], weight: number[] = [], cap: number[] = [];
  for (let k = 0; k < m * n; k++) { cost.push(10 + Math.floor(r() * 40)); weight.push(r() < 0.1 ? Infinity : 5 + Math.floor(r() * 20)); }
  for (let i = 0; i < m; i++) cap.push(Math.floor((n / m) * 15 * 0.9));
  return makeGap(m, n, cost, weight, cap, `rand-${seed}`);
}

describe('solvers agree with brute force on tiny GAPs', () => {
  for (let seed = 1; seed <= 12; seed++) {
    it(`random GAP seed ${seed}`, async () => {
      const g = randomGap(seed, 3 + (seed % 2), 7 + (seed % 3));
      const bf = bruteForce(g);
      const ex = await solveExact(g, { timeLimitMs: 10_000 });
      const fa = solveFast(g, { maxIterations: 300, seed }); // (effort-bounded: the same answer at any load)
      const ga = solveGa(g, { seed, generations: 100 });
      if (bf.assignment === null) {
        expect(ex.status).toBe('infeasible');
        expect(fa.assignment).toBeNull();
        expect(ga.assignment).toBeNull();
        return;
      }
      expect(ex.status).toBe('optimal');
      expect(ex.cost).toBe(bf.cost);
      expect(isFeasible(g, ex.assignment!)).toBe(true);
      expect(fa.cost).toBe(bf.cost);
      expect(isFeasible(g, fa.assignment!)).toBe(true);
      expect(fa.lowerBound).toBeLessThanOrEqual(bf.cost);
      if (ga.assignment) {
        expect(isFeasible(g, ga.assignment)).toBe(true);
        expect(ga.cost).toBeGreaterThanOrEqual(bf.cost);
      }
    });
  }
});

describe('allocation instances: every plan passes the independent checker', () => {
  for (const [n, w] of [[5, 10], [10, 20], [14, 20]] as const) {
    it(`${n}x${w}: exact = brute force, fast = exact, GA ≥ exact, all feasible`, async () => {
      const inst = generateInstance({ blocks: n, centres: w, seed: 3 });
      const exact = await allocate(inst, { solver: 'exact', timeLimitMs: 20_000 });
      const fast = await allocate(inst, { solver: 'fast', timeLimitMs: 500 });
      const ga = await allocate(inst, { solver: 'ga', timeLimitMs: 500 });
      expect(exact.status).toBe('optimal');
      if (n <= 10) expect(exact.totalCost).toBeCloseTo(bruteForce(toGap(inst).gap).cost, 6);
      expect(fast.totalCost).toBeCloseTo(exact.totalCost, 6);
      expect(ga.totalCost).toBeGreaterThanOrEqual(exact.totalCost - 1e-6);
      for (const r of [exact, fast, ga]) {
        const chk = checkAllocation(inst, r.allocations);
        expect(chk.violations).toEqual([]);
        expect(chk.totalCost).toBeCloseTo(r.totalCost, 6);
        for (const a of r.allocations) expect(a.replicas).toBeLessThanOrEqual(inst.blocks.find((b) => b.id === a.block)!.maxReplicas!);
      }
    });
  }

  it('the checker catches each kind of violation', () => {
    const inst = generateInstance({ blocks: 3, centres: 4, seed: 5 });
    const c = inst.centres[0]!;
    const bad = checkAllocation(inst, [
      { block: 'b1', centre: c.id, replicas: 1.5, expectedLatencyMs: 0, transferCost: 0, rentalCost: 0, cost: 0 },
      { block: 'b2', centre: c.id, replicas: c.vmCount + 1, expectedLatencyMs: 0, transferCost: 0, rentalCost: 0, cost: 0 },
    ]);
    expect(bad.ok).toBe(false);
    expect(bad.violations).toContain('b1: replicas 1.5 is not a positive integer');
    expect(bad.violations).toContain('b3: not allocated');
    expect(bad.violations).toContain(`${c.id}: ${c.vmCount + 1} VMs used > ${c.vmCount} available`);
  });
});

function tinyInstance(): AllocationInstance {
  return {
    name: 'tiny', deadlineS: 2, rentalHours: 1, windowS: 60, latency: { baseMs: 0, msPerKm: 0 },
    centres: [
      { id: 'c1', provider: 'p', location: 'l', vmSpeed: 10, vmPrice: 1, uplinkPrice: 0, vmCount: 5, vmBandwidth: 1e12, vmStorage: 1e6, lat: 0, lng: 0 },
      { id: 'c7', provider: 'p', location: 'l', vmSpeed: 20, vmPrice: 2, uplinkPrice: 0, vmCount: 3, vmBandwidth: 1e12, vmStorage: 1e6, lat: 0, lng: 0 },
    ],
    blocks: [{ id: 'north', size: 100, maxReplicas: 4, lat: 0, lng: 0 }],
  };
}

describe('infeasible inputs are explained', () => {
  it('deadline too tight: names the block and the fastest centre', async () => {
    const inst = tinyInstance(); // c1: 100/(4·10) = 2.5 s, c7: 100/(3·20) = 1.667 s … make it too tight
    inst.deadlineS = 1.2;
    const r = await allocate(inst, { solver: 'exact' });
    expect(r.status).toBe('infeasible');
    expect(r.explanation).toEqual(['block north: every centre misses the 1.2 s deadline with at most 4 replicas; fastest is c7 at 1.67 s (with 3 VMs)']);
  });

  it('latency alone misses the deadline', async () => {
    const inst = tinyInstance();
    inst.latency = { baseMs: 3000, msPerKm: 0 };
    const r = await allocate(inst, { solver: 'fast' });
    expect(r.status).toBe('infeasible');
    expect(r.explanation).toEqual(['block north: every centre misses the 2 s deadline on network latency alone; nearest is c1 at 3 s']);
  });

  it('not enough VMs in total', async () => {
    const inst = tinyInstance();
    inst.blocks = [1, 2, 3].map((k) => ({ id: `b${k}`, size: 100, maxReplicas: 4, lat: 0, lng: 0 }));
    // each block needs 3 VMs at c7 (1.67 s) or 5 at c1 (2 s): demand 9 > 8
    const r = await allocate(inst, { solver: 'exact' });
    expect(r.status).toBe('infeasible');
    expect(r.explanation).toEqual(['total VM demand 9 > capacity 8 (each block at its cheapest VM count)']);
  });

  it('capacity fits in total but not in any assignment: the MILP proves it', async () => {
    const inst = tinyInstance();
    inst.centres[0]!.vmCount = 2; // c1 cannot host anyone (needs 5), c7 has 3
    inst.centres.push({ ...inst.centres[1]!, id: 'c8', vmCount: 2 });
    inst.blocks = [1, 2].map((k) => ({ id: `b${k}`, size: 100, maxReplicas: 4, lat: 0, lng: 0 }));
    const r = await allocate(inst, { solver: 'exact' });
    expect(r.status).toBe('infeasible');
    expect(r.explanation[0]).toMatch(/no assignment respects every centre's VM count/);
  });
});

describe('the worked example of docs/cabin.md §3.3', () => {
  it('gives block 1 → A with 6 VMs, block 2 → B with 7 VMs, cost 8.10', async () => {
    const c = { provider: 'p', location: 'l', vmStorage: 4096, lat: 0, lng: 0 };
    const inst: AllocationInstance = {
      name: 'doc', deadlineS: 11, rentalHours: 1, windowS: 60, latency: { baseMs: 1000, msPerKm: 0 },
      centres: [
        { ...c, id: 'A', vmSpeed: 20, vmBandwidth: 180, vmPrice: 0.1, uplinkPrice: 0.05, vmCount: 12 },
        { ...c, id: 'B', vmSpeed: 45, vmBandwidth: 90, vmPrice: 0.3, uplinkPrice: 0.02, vmCount: 8 },
      ],
      blocks: [{ id: '1', size: 1024, lat: 0, lng: 0 }, { id: '2', size: 2048, lat: 0, lng: 0 }],
    };
    const red = toGap(inst);
    expect(Array.from(red.gap.weight)).toEqual([6, 12, 4, 7]);
    expect(Array.from(red.gap.cost).map((x) => Math.round(x * 100) / 100)).toEqual([3.6, 7.2, 2.4, 4.5]);
    for (const solver of ['exact', 'fast', 'ga'] as const) {
      const r = await allocate(inst, { solver });
      expect(r.allocations.map((a) => [a.block, a.centre, a.replicas])).toEqual([['1', 'A', 6], ['2', 'B', 7]]);
      expect(r.totalCost).toBeCloseTo(8.1, 9);
    }
  });
});
