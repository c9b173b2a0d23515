// Cyclic and path exchanges for the GAP (docs/cabin.md §5.2): a very large neighbourhood
// searched in the feasible space (Ahuja–Orlin–Sharma style improvement graph).
//
// Improvement graph on the jobs of a feasible σ: an arc j → k (σ(j) ≠ σ(k)) means "j moves to
// σ(k), and k leaves σ(k)"; it costs c(j, σ(k)) − c(j, σ(j)) and is usable iff σ(k) stays
// within capacity after swapping k for j. A cycle j1 → … → jL → j1 that visits each agent at
// most once is a cyclic exchange (every agent on it gives one job and receives one: a swap
// when L = 2); a path j1 → … → jL whose last job goes to an agent X with room (not on the
// path) is a path exchange (a shift when L = 1). Both keep σ feasible; Δcost is the sum of
// the arcs. Search: depth-first from every job with the gain criterion (only extend while the
// partial sum is negative — every negative cycle has a rotation with all prefix sums
// negative), at most `branch` cheapest extensions per node and depth ≤ `depth`; the first
// improving exchange found is applied.
import type { Gap } from './gap.ts';
import { createRng } from './rng.ts';

export interface CyclicOptions {
  /** deepest exchange (jobs moved), default 8 */
  depth?: number;
  /** extensions tried per node, default 4 */
  branch?: number;
  deadline?: number;
  seed?: number;
}

/**
 * Improve the feasible assignment `a` in place by cyclic/path exchanges until none is found
 * (or the deadline passes). Returns the new cost.
 */
export function cyclicDescent(g: Gap, a: Int32Array, opts: CyclicOptions = {}, prepared?: Prepared): number {
  const P = prepared ?? prepare(g);
  const { m, n, C, W } = P;
  const cap = g.capacity;
  const depth = opts.depth ?? 8, branch = opts.branch ?? 4;
  const rng = createRng(opts.seed ?? 1);
  const load = new Float64Array(m);
  const list = new Int32Array(m * n), cnt = new Int32Array(m), pos = new Int32Array(n);
  let cur = 0;
  for (let j = 0; j < n; j++) { const i = a[j]!; load[i] += W[j * m + i]!; cur += C[j * m + i]!; pos[j] = cnt[i]!; list[i * n + cnt[i]!] = j; cnt[i]++; }
  const move = (j: number, to: number): void => {
    const f = a[j]!, q = pos[j]!, last = list[f * n + cnt[f]! - 1]!;
    list[f * n + q] = last; pos[last] = q; cnt[f]--;
    pos[j] = cnt[to]!; list[to * n + cnt[to]!] = j; cnt[to]++;
    load[f] -= W[j * m + f]!; load[to] += W[j * m + to]!; cur += C[j * m + to]! - C[j * m + f]!; a[j] = to;
  };
  const EPS = 1e-9;
  const pathJ = new Int32Array(depth + 1);
  const onPath = new Uint8Array(m); // agents on the current path
  // per-level candidate buffers
  const bufK = new Int32Array((depth + 1) * branch), bufD = new Float64Array((depth + 1) * branch);
  let found = -1; // length of the improving exchange found
  let foundX = -1; // path exchange: final agent (−1: a cycle)

  // Depth-first search; path holds pathJ[0..len-1], partial sum S (< 0 except at the root).
  const dfs = (len: number, S: number): boolean => {
    const jl = pathJ[len - 1]!;
    const rowL = jl * m;
    const fl = a[jl]!;
    const cl = C[rowL + fl]!;
    const j1 = pathJ[0]!;
    const a1 = a[j1]!;
    // close the cycle: jl goes to σ(j1), which lost j1
    if (len >= 2) {
      const w = W[rowL + a1]!;
      if (w !== Infinity && load[a1]! - W[j1 * m + a1]! + w <= cap[a1]! + 1e-9 && S + C[rowL + a1]! - cl < -EPS) { found = len; foundX = -1; return true; }
    }
    // end as a path: jl goes to an agent with room, off the path (σ(j1) counts as off:
    // it only lost j1)
    for (let x = 0; x < m; x++) {
      if (x === fl || (onPath[x] && x !== a1)) continue;
      const w = W[rowL + x]!;
      if (w === Infinity) continue;
      const room = x === a1 && len >= 1 ? cap[x]! - load[x]! + W[j1 * m + a1]! : cap[x]! - load[x]!;
      if (x === a1 && len === 1) continue; // j1 back home
      if (w <= room + 1e-9 && S + C[rowL + x]! - cl < -EPS) { found = len; foundX = x; return true; }
    }
    if (len >= depth) return false;
    // extensions: jl → k (k on an agent not on the path), the `branch` cheapest with S + d < 0
    const base = len * branch;
    let nb = 0;
    for (let q = 0; q < m; q++) {
      if (onPath[q]) continue;
      const w = W[rowL + q]!;
      if (w === Infinity) continue;
      const d = S + C[rowL + q]! - cl;
      if (d >= -EPS) continue;
      const room = cap[q]! - load[q]! - w;
      for (let r = 0; r < cnt[q]!; r++) {
        const k = list[q * n + r]!;
        if (W[k * m + q]! + room < -1e-9) continue; // q over capacity with j in, k out
        // keep the `branch` best (smallest d) — insertion into a short sorted buffer
        if (nb < branch) { let t = nb++; while (t > 0 && bufD[base + t - 1]! > d) { bufD[base + t] = bufD[base + t - 1]!; bufK[base + t] = bufK[base + t - 1]!; t--; } bufD[base + t] = d; bufK[base + t] = k; }
        else if (d < bufD[base + nb - 1]!) { let t = nb - 1; while (t > 0 && bufD[base + t - 1]! > d) { bufD[base + t] = bufD[base + t - 1]!; bufK[base + t] = bufK[base + t - 1]!; t--; } bufD[base + t] = d; bufK[base + t] = k; }
      }
    }
    for (let t = 0; t < nb; t++) {
      const k = bufK[base + t]!;
      const q = a[k]!;
      pathJ[len] = k; onPath[q] = 1;
      const ok = dfs(len + 1, bufD[base + t]!);
      onPath[q] = 0;
      if (ok) return true;
    }
    return false;
  };

  const order = new Int32Array(n);
  for (let j = 0; j < n; j++) order[j] = j;
  for (let sweep = 0; sweep < 1000; sweep++) {
    let improved = false;
    for (let q = n - 1; q > 0; q--) { const r = Math.floor(rng() * (q + 1)); const t = order[q]!; order[q] = order[r]!; order[r] = t; }
    for (let s = 0; s < n; s++) {
      if ((s & 7) === 0 && opts.deadline !== undefined && Date.now() > opts.deadline) return cur;
      const j1 = order[s]!;
      pathJ[0] = j1; onPath[a[j1]!] = 1;
      found = -1;
      const ok = dfs(1, 0);
      onPath[a[j1]!] = 0;
      if (!ok) continue;
      // apply: pathJ[t] goes to σ(pathJ[t+1]); the last one to σ(j1) (cycle) or foundX
      const L = found;
      const dest = new Int32Array(L);
      for (let t = 0; t < L - 1; t++) dest[t] = a[pathJ[t + 1]!]!;
      dest[L - 1] = foundX >= 0 ? foundX : a[pathJ[0]!]!;
      for (let t = 0; t < L; t++) move(pathJ[t]!, dest[t]!);
      improved = true;
    }
    if (!improved) break;
  }
  return cur;
}

export interface Prepared { m: number; n: number; C: Float64Array; W: Float64Array }
export function prepare(g: Gap): Prepared {
  const { m, n } = g;
  const C = new Float64Array(n * m), W = new Float64Array(n * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) { C[j * m + i] = g.cost[i * n + j]!; W[j * m + i] = g.weight[i * n + j]!; }
  return { m, n, C, W };
}
