// Genetic algorithm baseline in the style of the paper (Jiang et al. compared Lingo with a
// GA): a chromosome is the centre of every block (the VM count follows as n^min, see
// docs/cabin.md §3), fitness = cost + a penalty per VM over a centre's capacity, tournament
// selection, uniform crossover, per-gene mutation, elitism. Seeded; stops after a number of
// generations or a time limit. It is the benchmark's baseline, not a production solver.
import { removeOversizePairs } from '../bound.ts';
import type { Gap } from '../gap.ts';
import { createRng } from '../rng.ts';

export interface GaOptions {
  seed?: number;
  population?: number;
  generations?: number;
  timeLimitMs?: number;
  mutationRate?: number;
}

export interface GaResult {
  assignment: Int32Array | null;
  cost: number;
  generations: number;
  timeMs: number;
}

export function solveGa(input: Gap, opts: GaOptions = {}): GaResult {
  const t0 = Date.now();
  const rng = createRng(opts.seed ?? 1);
  const g = removeOversizePairs(input).gap;
  const { m, n, cost, weight, capacity } = g;
  const P = opts.population ?? 60;
  const G = opts.generations ?? 400;
  const deadline = t0 + (opts.timeLimitMs ?? 5000);
  const mut = opts.mutationRate ?? 1 / Math.max(1, n);
  const allowed: number[][] = [];
  for (let j = 0; j < n; j++) {
    const l: number[] = [];
    for (let i = 0; i < m; i++) if (weight[i * n + j] !== Infinity) l.push(i);
    if (l.length === 0) return { assignment: null, cost: Infinity, generations: 0, timeMs: Date.now() - t0 };
    allowed.push(l);
  }
  let maxC = 0;
  for (let k = 0; k < m * n; k++) if (weight[k] !== Infinity) maxC = Math.max(maxC, Math.abs(cost[k]!));
  const penalty = maxC * 2 + 1; // per unit of excess: any infeasible is worse than… mostly
  const load = new Float64Array(m);
  const evalc = (a: Int32Array): { fit: number; cost: number; feasible: boolean } => {
    load.fill(0);
    let c = 0;
    for (let j = 0; j < n; j++) { const k = a[j]! * n + j; c += cost[k]!; load[a[j]!] += weight[k]!; }
    let ex = 0;
    for (let i = 0; i < m; i++) if (load[i]! > capacity[i]!) ex += load[i]! - capacity[i]!;
    return { fit: c + penalty * ex, cost: c, feasible: ex <= 1e-9 };
  };
  let pop: Int32Array[] = [];
  for (let p = 0; p < P; p++) {
    const a = new Int32Array(n);
    for (let j = 0; j < n; j++) { const l = allowed[j]!; a[j] = l[Math.floor(rng() * l.length)]!; }
    pop.push(a);
  }
  let fits = pop.map(evalc);
  let best: Int32Array | null = null;
  let bestCost = Infinity;
  const keep = (): void => {
    fits.forEach((f, p) => { if (f.feasible && f.cost < bestCost) { bestCost = f.cost; best = Int32Array.from(pop[p]!); } });
  };
  keep();
  const tour = (): Int32Array => {
    const x = Math.floor(rng() * P), y = Math.floor(rng() * P);
    return fits[x]!.fit <= fits[y]!.fit ? pop[x]! : pop[y]!;
  };
  let gen = 0;
  for (; gen < G && Date.now() < deadline; gen++) {
    const order = fits.map((f, p) => [f.fit, p] as const).sort((u, v) => u[0] - v[0]);
    const next: Int32Array[] = [Int32Array.from(pop[order[0]![1]]!), Int32Array.from(pop[order[1 % P]![1]]!)];
    while (next.length < P) {
      const p1 = tour(), p2 = tour();
      const child = new Int32Array(n);
      for (let j = 0; j < n; j++) {
        child[j] = rng() < 0.5 ? p1[j]! : p2[j]!;
        if (rng() < mut) { const l = allowed[j]!; child[j] = l[Math.floor(rng() * l.length)]!; }
      }
      next.push(child);
    }
    pop = next;
    fits = pop.map(evalc);
    keep();
  }
  return { assignment: best, cost: bestCost, generations: gen, timeMs: Date.now() - t0 };
}
