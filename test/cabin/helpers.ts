// Brute force over every assignment: the oracle for tiny instances.
import type { Gap } from '../../src/cabin/index.ts';

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
