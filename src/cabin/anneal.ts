// Penalised simulated annealing for the GAP (docs/cabin.md §5.2).
//
// f(σ) = cost(σ) + α·Σ_i max(0, load_i − b_i), random shift (one job to a random candidate
// agent) and swap (two jobs on different agents exchange agents) moves, each evaluated in
// O(1) from the cached loads, so millions of moves per second. Metropolis acceptance with a
// geometric cooling schedule per cycle (reheated after each cycle, starting the next one from
// the best solution); α adapts so that roughly a target share of the visited states is
// feasible (the search runs along the capacity boundary, where the good GAP solutions are).
import type { Gap } from './gap.ts';
import { createRng } from './rng.ts';

export interface AnnealParams {
  deadline: number;
  seed: number;
  stopAt?: number;
  /** moves per cooling cycle (default 2 000·n) */
  cycleMoves?: number;
  /** stop after this many moves (effort mode) */
  maxMoves?: number;
  /** candidate agents per job, row-major j·K + t (−1 = none); all agents if absent */
  candidates?: Int32Array;
  candK?: number;
  onBest?: (cost: number, at: number) => void;
  /** start / end temperature as a share of the mean |cost| of a pair */
  t0?: number;
  t1?: number;
}

export interface AnnealResult { best: Int32Array | null; cost: number; moves: number }

export function anneal(g: Gap, start: Int32Array, p: AnnealParams): AnnealResult {
  const { m, n, capacity: cap } = g;
  const rng = createRng(p.seed);
  const C = new Float64Array(n * m), W = new Float64Array(n * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) { C[j * m + i] = g.cost[i * n + j]!; W[j * m + i] = g.weight[i * n + j]!; }
  // candidate agents per job (usable pairs only)
  const K = p.candidates && p.candK ? p.candK : m;
  const cand = new Int32Array(n * K).fill(-1);
  const candN = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    let k = 0;
    for (let t = 0; t < K; t++) {
      const i = p.candidates && p.candK ? p.candidates[j * K + t]! : t;
      if (i >= 0 && W[j * m + i] !== Infinity) cand[j * K + k++] = i;
    }
    candN[j] = k;
  }
  const a = Int32Array.from(start);
  const load = new Float64Array(m);
  let cur = 0;
  const reset = (src: Int32Array): void => {
    a.set(src); load.fill(0); cur = 0;
    for (let j = 0; j < n; j++) { load[a[j]!] += W[j * m + a[j]!]!; cur += C[j * m + a[j]!]!; }
  };
  reset(start);
  const ex = (i: number, l: number): number => { const e = l - cap[i]!; return e > 1e-9 ? e : 0; };
  let exSum = 0;
  for (let i = 0; i < m; i++) exSum += ex(i, load[i]!);
  let sumC = 0, sumW = 0, cntP = 0;
  for (let k = 0; k < n * m; k++) if (W[k] !== Infinity) { sumC += Math.abs(C[k]!); sumW += W[k]!; cntP++; }
  const meanC = cntP ? sumC / cntP : 1;
  let alpha = sumW > 0 ? sumC / sumW : 1;
  const best = new Int32Array(n);
  let bestCost = Infinity;
  const stopAt = p.stopAt ?? -Infinity;
  const T0 = (p.t0 ?? 0.05) * meanC, T1 = (p.t1 ?? 0.002) * meanC;
  const cycle = p.cycleMoves ?? 2000 * n;
  const maxMoves = p.maxMoves ?? Infinity;
  let moves = 0;
  if (exSum === 0) { bestCost = cur; best.set(a); }
  const cool = Math.pow(T1 / T0, 1 / cycle);
  let T = T0, inCycle = 0, feas = 0, window = 0;
  while (moves < maxMoves && bestCost > stopAt + 1e-9) {
    if ((moves & 4095) === 0 && Date.now() > p.deadline) break;
    moves++;
    if (++inCycle >= cycle) {
      inCycle = 0; T = T0;
      if (bestCost < Infinity) reset(best);
      exSum = 0;
      for (let i = 0; i < m; i++) exSum += ex(i, load[i]!);
    }
    T *= cool;
    const j1 = Math.floor(rng() * n);
    const f1 = a[j1]!;
    if (rng() < 0.5) {
      // shift j1 → i
      const k = candN[j1]!;
      const i = cand[j1 * K + Math.floor(rng() * k)]!;
      if (i === f1) continue;
      const w1 = W[j1 * m + f1]!, wi = W[j1 * m + i]!;
      const dEx = ex(f1, load[f1]! - w1) - ex(f1, load[f1]!) + ex(i, load[i]! + wi) - ex(i, load[i]!);
      const dc = C[j1 * m + i]! - C[j1 * m + f1]!;
      const d = dc + alpha * dEx;
      if (d > 0 && rng() >= Math.exp(-d / T)) continue;
      load[f1] -= w1; load[i] += wi; cur += dc; exSum += dEx; a[j1] = i;
    } else {
      const j2 = Math.floor(rng() * n);
      const f2 = a[j2]!;
      if (f2 === f1) continue;
      const w12 = W[j1 * m + f2]!, w21 = W[j2 * m + f1]!;
      if (w12 === Infinity || w21 === Infinity) continue;
      const l1 = load[f1]! - W[j1 * m + f1]! + w21, l2 = load[f2]! - W[j2 * m + f2]! + w12;
      const dEx = ex(f1, l1) - ex(f1, load[f1]!) + ex(f2, l2) - ex(f2, load[f2]!);
      const dc = C[j1 * m + f2]! + C[j2 * m + f1]! - C[j1 * m + f1]! - C[j2 * m + f2]!;
      const d = dc + alpha * dEx;
      if (d > 0 && rng() >= Math.exp(-d / T)) continue;
      load[f1] = l1; load[f2] = l2; cur += dc; exSum += dEx; a[j1] = f2; a[j2] = f1;
    }
    if (exSum < 1e-7) {
      exSum = 0;
      feas++;
      if (cur < bestCost - 1e-9) { bestCost = cur; best.set(a); p.onBest?.(cur, Date.now()); }
    }
    // keep about a third of the accepted states feasible
    if (++window >= 1000) {
      if (feas < 300) alpha *= 1.1; else alpha /= 1.1;
      window = 0; feas = 0;
    }
  }
  return { best: bestCost < Infinity ? best : null, cost: bestCost, moves };
}
