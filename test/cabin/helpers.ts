// Brute force over every assignment: the oracle for tiny instances.
import type { Gap } from '../../src/cabin/index.ts';
import { makeGap } from '../../src/cabin/gap.ts';
import { createRng } from '../../src/cabin/rng.ts';

/** A seeded GAP with integer costs 10-49 and weights 5-24; capacity = tight x the mean load. */
export function randomIntGap(m: number, n: number, seed: number, tight: number) {
  const r = createRng(seed);
  const cost: number[] = [], weight: number[] = [];
  for (let k = 0; k < m * n; k++) { cost.push(10 + Math.floor(r() * 40)); weight.push(5 + Math.floor(r() * 20)); }
  const cap: number[] = [];
  for (let i = 0; i < m; i++) { let s = 0; for (let j = 0; j < n; j++) s += weight[i * n + j]!; cap.push(Math.floor((s / m) * tight)); }
  return makeGap(m, n, cost, weight, cap);
}

export function bruteForce(g: Gap): { cost: number; assignment: Int32Array | null } {
  const a = new Int32Array(g.n);
  const load = new Float64Array(g.m);
  let best = Infinity;
  let bestA: Int32Array | null = null;
  const rec = (j: number, c: number): void => {
    if (c >= best) return;
    if (j === g.n) { best = c; bestA = Int32Array.from(a); return; }
    for (let i = 0; i < g.m; i++) {
      const w = g.weight[i * g.n + j]!;
      if (w === Infinity || load[i]! + w > g.capacity[i]! + 1e-9) continue;
      a[j] = i; load[i] += w;
      rec(j + 1, c + g.cost[i * g.n + j]!);
      load[i] -= w;
    }
  };
  rec(0, 0);
  return { cost: best, assignment: bestA };
}
