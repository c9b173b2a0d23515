// White-box checks of the knapsack Lagrangian bound and its pair fixing (src/cabin/kbound.ts),
// and of the hybrid fast solver (src/cabin/hybrid.ts), against brute force.
import { describe, expect, it } from 'vitest';
import {
  isFeasible, lagrangianBound, makeGap,
} from '../../src/cabin/index.ts';
import { solveFastHybrid } from '../../src/cabin/lab/index.ts';
import { removeOversizePairs } from '../../src/cabin/bound.ts';
import { knapsackBound, knapsackFixing } from '../../src/cabin/kbound.ts';
import { createRng } from '../../src/cabin/rng.ts';
import { bruteForce } from './helpers.ts';

function tightGap(seed: number, m: number, n: number): ReturnType<typeof makeGap> {
  const r = createRng(seed);
  const cost: number[] = [], weight: number[] = [], cap: number[] = [];
  for (let k = 0; k < m * n; k++) { cost.push(10 + Math.floor(r() * 40)); weight.push(r() < 0.1 ? Infinity : 5 + Math.floor(r() * 20)); }
  for (let i = 0; i < m; i++) cap.push(Math.floor((n / m) * 15 * 0.95));
  return makeGap(m, n, cost, weight, cap, `tight-${seed}`);
}

describe('knapsack Lagrangian bound', () => {
  for (let seed = 1; seed <= 10; seed++) {
    it(`seed ${seed}: LP bound ≤ knapsack bound ≤ optimum, fixing keeps the optimum`, () => {
      const g = removeOversizePairs(tightGap(seed, 3 + (seed % 2), 8 + (seed % 3))).gap;
      const bf = bruteForce(g);
      if (!bf.assignment) return;
      const ub = bf.cost + 3; // a worse "incumbent": fixing must keep the optimum's pairs
      const lp = lagrangianBound(g, { upper: ub, maxIterations: 500 });
      const kb = knapsackBound(g, { upper: ub, mu: lp.mu, maxIterations: 500 })!;
      expect(kb).not.toBeNull();
      expect(kb.bound).toBeLessThanOrEqual(bf.cost);
      expect(kb.raw).toBeGreaterThanOrEqual(lp.raw - 1e-6);
      const fx = knapsackFixing(g, kb.lambda, ub, false);
      for (let j = 0; j < g.n; j++) expect(fx.mask[bf.assignment[j]! * g.n + j]).toBe(0);
    });
  }
  it('returns null for fractional weights', () => {
    const g = makeGap(1, 2, [1, 2], [0.5, 1], [2]);
    expect(knapsackBound(g, { upper: 3, mu: new Float64Array(1) })).toBeNull();
  });
});

describe('hybrid fast solver', () => {
  for (let seed = 1; seed <= 4; seed++) {
    it(`seed ${seed}: finds the brute-force optimum within its budget`, async () => {
      const g = tightGap(100 + seed, 3, 9);
      const bf = bruteForce(g);
      const r = await solveFastHybrid(g, { timeLimitMs: 400, seed });
      if (!bf.assignment) { expect(r.assignment).toBeNull(); return; }
      expect(r.cost).toBe(bf.cost);
      expect(isFeasible(g, r.assignment!)).toBe(true);
      expect(r.lowerBound).toBeLessThanOrEqual(bf.cost);
    });
  }
  it('rejects a heuristic share outside (0, 1]', async () => {
    await expect(solveFastHybrid(tightGap(1, 2, 3), { heuristicShare: 0 })).rejects.toThrow('options.heuristicShare must be in (0, 1]');
  });
});
