// Strict fixing + cutoff in the hybrid's MILP phase (docs/cabin.md §5.1, ExactOptions.strict):
// with integer costs only solutions of cost ≤ incumbent − 1 matter, so more pairs go and
// the incumbent's own pairs may be removed; the answer must still be the optimum.
import { describe, expect, it } from 'vitest';
import { isFeasible, solveExact, solveFast } from '../../src/cabin/index.ts';
import { bruteForce, randomIntGap } from './helpers.ts';

describe('strict fixing with a cutoff', () => {
  it('agrees with brute force on small integer instances, from a poor warm start', async () => {
    for (let seed = 1; seed <= 8; seed++) {
      const g = randomIntGap(3, 9, seed, 1.3);
      const bf = bruteForce(g);
      if (!bf.assignment) continue;
      const warm = solveFast(g, { maxIterations: 0, seed });
      const ex = await solveExact(g, { timeLimitMs: 10_000, warm, strict: true });
      expect(ex.status).toBe('optimal');
      expect(ex.cost).toBe(bf.cost);
      expect(isFeasible(g, ex.assignment!)).toBe(true);
    }
  });

  it('proves an optimal incumbent (the reduced model has nothing cheaper)', async () => {
    const g = randomIntGap(5, 30, 11, 1.2);
    const ref = await solveExact(g, { timeLimitMs: 20_000 });
    expect(ref.status).toBe('optimal');
    const warm = solveFast(g, { maxIterations: 300, seed: 1 });
    const ex = await solveExact(g, { timeLimitMs: 20_000, warm: { ...warm, assignment: ref.assignment, cost: ref.cost, provenOptimal: false }, strict: true });
    expect(ex.status).toBe('optimal');
    expect(ex.cost).toBe(ref.cost);
    expect(ex.assignment).not.toBeNull();
  });
});
