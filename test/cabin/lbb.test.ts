// Lagrangian branch-and-bound with variable fixing on a target (src/cabin/lbb.ts): against
// brute force on tiny integer instances, a fixed-effort (node-limited, no clock) run that
// reaches and proves a published optimum, and the allocation path through the independent
// checker.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allocate, assignmentCost, CabinError, checkAllocation, gapDataDir, isFeasible, lagrangianBound, makeGap, readGapFile, toGap, type AllocationInstance,
} from '../../src/cabin/index.ts';
import { lagrangianBB, lbbApplies, solveFastHybrid } from '../../src/cabin/lab/index.ts';
import { createRng } from '../../src/cabin/rng.ts';
import { bruteForce, randomIntGap } from './helpers.ts';

function solve(g: ReturnType<typeof makeGap>, incumbent?: Int32Array | null) {
  const lp = lagrangianBound(g, { maxIterations: 200 });
  return lagrangianBB(g, { mu: lp.mu, incumbent: incumbent ?? null, maxNodes: 200_000 })!;
}

describe('Lagrangian B&B = brute force on tiny integer GAPs', () => {
  const cases: [number, number, number][] = [];
  for (let seed = 1; seed <= 24; seed++) cases.push([2 + (seed % 3), 6 + (seed % 5), seed]);
  for (const [m, n, seed] of cases) {
    it(`${m}x${n} seed ${seed}`, () => {
      // tightness 0.7–1.3 × the mean load: some instances infeasible, some loose
      const g = randomIntGap(m, n, seed, 0.7 + (seed % 5) * 0.15);
      const bf = bruteForce(g);
      const r = solve(g);
      if (!bf.assignment) {
        expect(r.assignment).toBeNull();
        expect(r.provenOptimal).toBe(false);
        return;
      }
      expect(r.provenOptimal).toBe(true);
      expect(r.cost).toBe(bf.cost);
      expect(r.lowerBound).toBe(bf.cost);
      expect(isFeasible(g, r.assignment!)).toBe(true);
      expect(assignmentCost(g, r.assignment!)).toBe(r.cost);
    });
  }

  it('with forbidden pairs and a poor incumbent given, still the optimum', () => {
    for (let seed = 40; seed < 52; seed++) {
      const r0 = createRng(seed);
      const m = 3, n = 9;
      const cost: number[] = [], weight: number[] = [], cap: number[] = [];
      for (let k = 0; k < m * n; k++) { cost.push(1 + Math.floor(r0() * 30)); weight.push(r0() < 0.2 ? Infinity : 1 + Math.floor(r0() * 9)); }
      for (let i = 0; i < m; i++) cap.push(Math.floor(n * 5 / m * 1.1));
      const g = makeGap(m, n, cost, weight, cap);
      const bf = bruteForce(g);
      if (!bf.assignment) continue;
      // the worst feasible assignment brute force can give: the incumbent to beat
      let worst: Int32Array | null = null, wc = -Infinity;
      const a = new Int32Array(n), load = new Float64Array(m);
      const rec = (j: number, c: number): void => {
        if (j === n) { if (c > wc) { wc = c; worst = Int32Array.from(a); } return; }
        for (let i = 0; i < m; i++) {
          const w = g.weight[i * n + j]!;
          if (w === Infinity || load[i]! + w > g.capacity[i]!) continue;
          a[j] = i; load[i] += w; rec(j + 1, c + g.cost[i * n + j]!); load[i] -= w;
        }
      };
      rec(0, 0);
      const r = solve(g, worst);
      expect(r.provenOptimal).toBe(true);
      expect(r.cost).toBe(bf.cost);
      expect(isFeasible(g, r.assignment!)).toBe(true);
    }
  });

  it('rejects bad options with the option named', async () => {
    const g = randomIntGap(2, 4, 1, 1.5);
    const mu = new Float64Array(2);
    const bad = (msg: string) => new CabinError('CABIN_BAD_OPTION', msg);
    expect(() => lagrangianBB(g, { mu, maxNodes: -1 })).toThrow(bad('options.maxNodes must be an integer ≥ 0'));
    expect(() => lagrangianBB(g, { mu, rootIterations: 0 })).toThrow(bad('options.rootIterations must be an integer ≥ 1'));
    expect(() => lagrangianBB(g, { mu, targetRootIterations: 1.5 })).toThrow(bad('options.targetRootIterations must be an integer ≥ 1'));
    expect(() => lagrangianBB(g, { mu, nodeIterations: 0 })).toThrow(bad('options.nodeIterations must be an integer ≥ 1'));
    expect(() => lagrangianBB(g, { mu, polishMaxViolated: -2 })).toThrow(bad('options.polishMaxViolated must be an integer ≥ -1'));
    expect(() => lagrangianBB(g, { mu, rootPolishMaxViolated: NaN })).toThrow(bad('options.rootPolishMaxViolated must be an integer ≥ -1'));
    expect(() => lagrangianBB(g, { mu, nodeTheta: 0 })).toThrow(bad('options.nodeTheta must be in (0, 2]'));
    expect(() => lagrangianBB(g, { mu, deadline: Infinity })).toThrow(bad('options.deadline must be a finite time in ms'));
    await expect(solveFastHybrid(g, { lbbShare: 1.5 })).rejects.toThrow(bad('options.lbbShare must be in (0, 1]'));
    await expect(solveFastHybrid(g, { lbbMaxNodes: -1 })).rejects.toThrow(bad('options.lbbMaxNodes must be an integer ≥ 0'));
    // the defaults pass
    expect(lagrangianBB(g, { mu, maxNodes: Infinity })!.stop).not.toBe('nodes');
  });

  it('declines fractional costs (the target steps need integers)', () => {
    const g = makeGap(2, 2, [1.5, 2, 3, 1], [1, 1, 1, 1], [2, 2]);
    expect(lagrangianBB(g, { mu: new Float64Array(2) })).toBeNull();
    expect(lbbApplies(g)).toBe(false);
  });
});

const dir = gapDataDir();
const have = existsSync(join(dir, 'chu1997', 'c10100'));

describe('fixed effort on an OR-Library instance', () => {
  it.runIf(have)('chu1997 c10100: the optimum 1402, proven, within a node budget (no clock)', () => {
    const g = readGapFile(join(dir, 'chu1997', 'c10100'));
    const lp = lagrangianBound(g, { maxIterations: 300 });
    const r = lagrangianBB(g, { mu: lp.mu, maxNodes: 3000 })!;
    expect(r.stop).toBe('optimal');
    expect(r.cost).toBe(1402);
    expect(r.provenOptimal).toBe(true);
    expect(r.nodes).toBeLessThanOrEqual(3000);
    expect(isFeasible(g, r.assignment!)).toBe(true);
    expect(assignmentCost(g, r.assignment!)).toBe(1402);
    // deterministic without a deadline: the same tree again
    const r2 = lagrangianBB(g, { mu: lp.mu, maxNodes: 3000 })!;
    expect([r2.nodes, r2.cost, r2.targets]).toEqual([r.nodes, r.cost, r.targets]);
  });

  it.runIf(have)('a node budget too small stops unproven, with a valid bound', () => {
    const g = readGapFile(join(dir, 'chu1997', 'c10100'));
    const lp = lagrangianBound(g, { maxIterations: 300 });
    const r = lagrangianBB(g, { mu: lp.mu, maxNodes: 3 })!;
    expect(r.stop).toBe('nodes');
    expect(r.provenOptimal).toBe(false);
    expect(r.lowerBound).toBeLessThanOrEqual(1402);
    if (r.assignment) { expect(isFeasible(g, r.assignment)).toBe(true); expect(r.cost).toBeGreaterThanOrEqual(1402); }
  });
});

/** Allocation instances whose GAP costs are integers: uplink price × 60 windows and VM
 *  price × 1 h are whole dollars, blocks whole GB; VM counts scaled to the blocks. */
function integerInstance(seed: number, blocks: number, centres: number): AllocationInstance {
  const r = createRng(seed);
  return {
    name: `int-${seed}`, deadlineS: 10, rentalHours: 1, windowS: 60, latency: { baseMs: 5, msPerKm: 0.01 },
    centres: Array.from({ length: centres }, (_, i) => ({
      id: `c${i}`, provider: 'p', location: `l${i}`, vmSpeed: 20 + Math.floor(r() * 80), vmPrice: 1 + Math.floor(r() * 3),
      uplinkPrice: [0.25, 0.5, 1][Math.floor(r() * 3)]!, vmCount: Math.round((blocks / centres) * (6 + r() * 6)),
      vmBandwidth: 60 + Math.floor(r() * 190), vmStorage: 16384, lat: 22 + r() * 20, lng: 100 + r() * 22,
    })),
    blocks: Array.from({ length: blocks }, (_, j) => ({ id: `b${j}`, size: 1024 * (1 + Math.floor(r() * 3)), maxReplicas: 32, lat: 22 + r() * 20, lng: 100 + r() * 22 })),
  };
}

describe('allocation path: integer instances, B&B (or its MILP hand-over) = HiGHS, plans pass the checker', () => {
  // Generous limits: both paths return as soon as they have a proof, so nothing here
  // depends on the machine's speed.
  it('24 blocks × 6 centres, seeds 2 and 5 through allocate: the B&B proves the optimum', async () => {
    for (const seed of [2, 5]) {
      const inst = integerInstance(seed, 24, 6);
      const red = toGap(inst);
      expect(red.gap.integerCosts).toBe(true);
      expect(lbbApplies(red.gap)).toBe(true);
      const exact = await allocate(inst, { solver: 'exact', timeLimitMs: 20_000 });
      expect(exact.status).toBe('optimal');
      // (the B&B needs 0 and 21 nodes here; a 20 s budget gives it 4 s)
      const fast = await allocate(inst, { solver: 'hybrid', timeLimitMs: 20_000 });
      expect(fast.info.method).toBe('lagrangian-bb');
      expect(fast.info.proof).toBe('lagrangian-bb');
      expect(fast.status).toBe('optimal');
      expect(fast.totalCost).toBeCloseTo(exact.totalCost, 6);
      for (const r of [exact, fast]) {
        const chk = checkAllocation(inst, r.allocations);
        expect(chk.violations).toEqual([]);
        expect(chk.totalCost).toBeCloseTo(r.totalCost, 6);
      }
    }
  });

  it('seed 3 (~12 000 nodes): the B&B alone proves the optimum HiGHS finds', async () => {
    const inst = integerInstance(3, 24, 6);
    const g = toGap(inst).gap;
    const exact = await allocate(inst, { solver: 'exact', timeLimitMs: 20_000 });
    expect(exact.status).toBe('optimal');
    const r = await solveFastHybrid(g, { timeLimitMs: 20_000, lbbShare: 1 });
    expect(r.method).toBe('lagrangian-bb');
    expect(r.proof).toBe('lagrangian-bb');
    expect(r.nodes).toBeGreaterThan(1000);
    expect(r.cost).toBeCloseTo(exact.totalCost, 6);
    expect(isFeasible(g, r.assignment!)).toBe(true);
  });

  it('seed 4 (the B&B needs > 700 000 nodes): its incumbent goes to the MILP phase, which proves the optimum', async () => {
    const inst = integerInstance(4, 24, 6);
    const g = toGap(inst).gap;
    const exact = await allocate(inst, { solver: 'exact', timeLimitMs: 20_000 });
    expect(exact.status).toBe('optimal');
    // (3 s: the short-budget path, where an unproven B&B answer is the MILP phase's start;
    // HiGHS needs ~0.3 s on it)
    const r = await solveFastHybrid(g, { timeLimitMs: 3000, lbbMaxNodes: 2000 });
    expect(r.method).toBeUndefined(); // the answer is the MILP phase's
    expect(r.milpPhase).toBe('main');
    expect(r.provenOptimal).toBe(true);
    expect(r.proof).toMatch(/^(highs:|cutoff|reduced|knapsack|lagrangian-bound|bound)/);
    expect(r.cost).toBeCloseTo(exact.totalCost, 6);
    expect(isFeasible(g, r.assignment!)).toBe(true);
  });

  it('the hybrid reports the B&B honestly: proven only with a proof', async () => {
    const g = randomIntGap(4, 12, 7, 1.1);
    const bf = bruteForce(g);
    expect(bf.assignment).not.toBeNull();
    const r = await solveFastHybrid(g, { timeLimitMs: 1000 });
    expect(r.method).toBe('lagrangian-bb');
    expect(r.cost).toBe(bf.cost);
    expect(r.provenOptimal).toBe(true);
    expect(r.proof).toBe('lagrangian-bb');
    expect(isFeasible(g, r.assignment!)).toBe(true);
  });
});
