// The product's fast solver under CPU contention (issue 19): a time limit is a promise
// (returns by the limit + timeMarginMs), and it is anytime — a plan at least as good as the
// GA's from the first phase on, improved after, never worse — with busy processes on every
// core beside it. The busy processes are started and stopped by this file, by their PIDs.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFeasible, solveAnytime, timeMarginMs, toGap } from '../../src/cabin/index.ts';
import { stopExactThread } from '../../src/cabin/exact-thread.ts';
import { generateInstance, generatePaperInstance, solveGa } from '../../src/cabin/lab/index.ts';

const hogs: ChildProcess[] = [];
beforeAll(() => {
  // busy for at most 90 s even if this file is killed before afterAll
  for (let k = 0; k < cpus().length; k++) hogs.push(spawn(process.execPath, ['-e', 'const end = Date.now() + 90_000; while (Date.now() < end) {}'], { stdio: 'ignore' }));
});
afterAll(async () => {
  for (const h of hogs) if (h.pid !== undefined && h.exitCode === null) process.kill(h.pid, 'SIGKILL');
  await stopExactThread();
});

const paper = (n: number, w: number, seed: number) => toGap(generatePaperInstance({ blocks: n, centres: w, seed })).gap;
const cabin = (n: number, w: number, seed: number) => toGap(generateInstance({ blocks: n, centres: w, seed })).gap;

describe('the fast solver beside busy processes on every core', () => {
  it('returns by its time limit + the documented margin: tabu only (300×200), with the exact phase on the worker (60×48, 100×82)', async () => {
    const cases = [
      { g: cabin(300, 200, 1), limit: 1000 },
      { g: paper(60, 48, 1), limit: 1000 },
      { g: paper(100, 82, 2), limit: 2000 },
    ];
    for (const { g, limit } of cases) {
      const t = Date.now();
      const r = await solveAnytime(g, { timeLimitMs: limit, seed: 1 });
      const wall = Date.now() - t;
      expect(wall, `${g.m}×${g.n} at ${limit} ms: ${r.phases.join(' → ')}`).toBeLessThanOrEqual(limit + timeMarginMs(limit));
      expect(r.assignment).not.toBeNull();
      expect(isFeasible(g, r.assignment!)).toBe(true);
    }
  });

  it('its first plan is at least as good as the GA\'s, and every later plan is better than the one before', async () => {
    for (const g of [paper(100, 82, 1), paper(100, 82, 3), cabin(100, 82, 1), paper(20, 16, 2)]) {
      const ga = solveGa(g, { seed: 1 });
      const plans: number[] = [];
      const r = await solveAnytime(g, { timeLimitMs: 600, seed: 1, onPlan: (c) => plans.push(c) });
      expect(r.phases[0], 'the first plan comes from the greedy construction').toBe('greedy');
      expect(r.firstPlan!.cost).toBeLessThanOrEqual(ga.cost);
      expect(plans[0]).toBe(r.firstPlan!.cost);
      for (let k = 1; k < plans.length; k++) expect(plans[k]!).toBeLessThan(plans[k - 1]!);
      expect(r.cost).toBe(plans[plans.length - 1]);
      expect(r.cost).toBeLessThanOrEqual(ga.cost);
      expect(isFeasible(g, r.assignment!)).toBe(true);
      expect(r.lowerBound).toBeLessThanOrEqual(r.cost + 1e-9);
    }
  });
});
