// Iterated ejection-chain local search for the GAP (docs/cabin.md §5.2).
//
// f(σ) = cost(σ) + Σ_i α_i·max(0, load_i − b_i). The local search alternates first-improvement
// passes over three neighbourhoods, all evaluated in O(1) per move from cached loads:
//   shift  — one job to another of its candidate agents;
//   swap   — two jobs on different agents exchange agents;
//   chain  — an ejection chain: j1 moves i1 → i2, then a job j2 of i2 moves on to i3, … up
//            to `chainLength` steps, each step the best (job, agent) of the agent that just
//            received a job; the best prefix of the chain is applied if it improves f
//            (i_{l+1} = i1 closes a cyclic exchange).
// Between local optima (strategic oscillation): the weights of agents left overloaded grow
// in proportion to their relative overflow, all weights shrink after a feasible optimum;
// a kick of a few random shifts; after a run of optima without a new best, a restart from
// a random point between two elite solutions (path relinking).
import type { Gap } from './gap.ts';
import { createRng } from './rng.ts';

export interface EjectionParams {
  deadline: number;
  seed: number;
  stopAt?: number;
  /** stop after this many local searches (effort mode) */
  maxRounds?: number;
  /** candidate agents per job, j·K + t (−1 = none); every usable agent if absent */
  candidates?: Int32Array;
  candK?: number;
  /** initial weights (default: mean cost per weight unit) */
  alpha?: Float64Array;
  chainLength?: number;
  /** extra starting solutions for the elite pool */
  elite?: Int32Array[];
  onBest?: (cost: number, at: number) => void;
}

export interface EjectionResult { best: Int32Array | null; cost: number; rounds: number }

export function ejectionSearch(g: Gap, start: Int32Array, p: EjectionParams): EjectionResult {
  const { m, n, capacity: cap } = g;
  const rng = createRng(p.seed);
  const C = new Float64Array(n * m), W = new Float64Array(n * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) { C[j * m + i] = g.cost[i * n + j]!; W[j * m + i] = g.weight[i * n + j]!; }
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
  const a = new Int32Array(n);
  const load = new Float64Array(m);
  const list = new Int32Array(m * n), cnt = new Int32Array(m), pos = new Int32Array(n);
  let cur = 0;
  const setAll = (src: Int32Array): void => {
    a.set(src); load.fill(0); cnt.fill(0); cur = 0;
    for (let j = 0; j < n; j++) { const i = a[j]!; load[i] += W[j * m + i]!; cur += C[j * m + i]!; pos[j] = cnt[i]!; list[i * n + cnt[i]!] = j; cnt[i]++; }
  };
  const move = (j: number, to: number): void => {
    const f = a[j]!, q = pos[j]!, last = list[f * n + cnt[f]! - 1]!;
    list[f * n + q] = last; pos[last] = q; cnt[f]--;
    pos[j] = cnt[to]!; list[to * n + cnt[to]!] = j; cnt[to]++;
    load[f] -= W[j * m + f]!; load[to] += W[j * m + to]!; cur += C[j * m + to]! - C[j * m + f]!; a[j] = to;
  };
  setAll(start);
  let sumC = 0, sumW = 0;
  for (let k = 0; k < n * m; k++) if (W[k] !== Infinity) { sumC += Math.abs(C[k]!); sumW += W[k]!; }
  const base = sumW > 0 ? sumC / sumW : 1;
  const alpha = new Float64Array(m);
  const resetAlpha = (): void => { for (let i = 0; i < m; i++) alpha[i] = p.alpha ? Math.max(base * 0.05, p.alpha[i]!) : base; };
  resetAlpha();
  const aMin = base * 0.01, aMax = base * 1e4;
  const ex = (i: number, l: number): number => { const e = l - cap[i]!; return e > 1e-9 ? e : 0; };
  // change of f when agent i's load changes by dl
  const pen = (i: number, dl: number): number => alpha[i]! * (ex(i, load[i]! + dl) - ex(i, load[i]!));
  const feasible = (): boolean => { for (let i = 0; i < m; i++) if (load[i]! > cap[i]! + 1e-9) return false; return true; };
  const EPS = 1e-9;
  const order = new Int32Array(n);
  for (let j = 0; j < n; j++) order[j] = j;
  const shuffle = (): void => { for (let q = n - 1; q > 0; q--) { const r = Math.floor(rng() * (q + 1)); const t = order[q]!; order[q] = order[r]!; order[r] = t; } };

  const shiftPass = (): boolean => {
    let imp = false;
    shuffle();
    for (let q = 0; q < n; q++) {
      const j = order[q]!, f = a[j]!, row = j * m;
      const base0 = -C[row + f]! + pen(f, -W[row + f]!);
      let bd = -EPS, bi = -1;
      for (let t = 0; t < candN[j]!; t++) {
        const i = cand[j * K + t]!;
        if (i === f) continue;
        const d = C[row + i]! + base0 + pen(i, W[row + i]!);
        if (d < bd) { bd = d; bi = i; }
      }
      if (bi >= 0) { move(j, bi); imp = true; }
    }
    return imp;
  };
  const swapPass = (): boolean => {
    let imp = false;
    shuffle();
    for (let q = 0; q < n; q++) {
      const j1 = order[q]!, f1 = a[j1]!, r1 = j1 * m;
      let bd = -EPS, bj = -1;
      for (let t = 0; t < candN[j1]!; t++) {
        const f2 = cand[j1 * K + t]!;
        if (f2 === f1) continue;
        const w12 = W[r1 + f2]!, w11 = W[r1 + f1]!;
        const dc1 = C[r1 + f2]! - C[r1 + f1]!;
        const e1 = ex(f1, load[f1]!), e2 = ex(f2, load[f2]!);
        for (let s = 0; s < cnt[f2]!; s++) {
          const j2 = list[f2 * n + s]!, r2 = j2 * m;
          const w21 = W[r2 + f1]!;
          if (w21 === Infinity) continue;
          const d = dc1 + C[r2 + f1]! - C[r2 + f2]! + alpha[f1]! * (ex(f1, load[f1]! - w11 + w21) - e1) + alpha[f2]! * (ex(f2, load[f2]! - W[r2 + f2]! + w12) - e2);
          if (d < bd) { bd = d; bj = j2; }
        }
      }
      if (bj >= 0) { const f2 = a[bj]!; move(j1, f2); move(bj, f1); imp = true; }
    }
    return imp;
  };
  const L = p.chainLength ?? Math.max(4, Math.min(20, m));
  const chainJobs = new Int32Array(L + 1), chainFrom = new Int32Array(L + 1);
  const movedMark = new Int32Array(n);
  let stamp = 0;
  const chainPass = (): boolean => {
    let imp = false;
    shuffle();
    for (let q = 0; q < n; q++) {
      if ((q & 15) === 0 && Date.now() > p.deadline) break;
      const j1 = order[q]!;
      const f1 = a[j1]!;
      for (let t = 0; t < candN[j1]!; t++) {
        const i2 = cand[j1 * K + t]!;
        if (i2 === f1) continue;
        stamp++;
        const f0 = cur + fPen();
        // step 1
        move(j1, i2); movedMark[j1] = stamp; chainJobs[0] = j1; chainFrom[0] = f1;
        let len = 1;
        let bestLen = 0, bestF = f0 - EPS;
        let fNow = cur + fPen();
        if (fNow < bestF) { bestF = fNow; bestLen = 1; }
        let at = i2;
        while (len < L) {
          // eject the best job of `at` to the best other agent
          let bd = Infinity, bj = -1, bi = -1;
          for (let s = 0; s < cnt[at]!; s++) {
            const j = list[at * n + s]!;
            if (movedMark[j] === stamp) continue;
            const row = j * m;
            const out = -C[row + at]! + pen(at, -W[row + at]!);
            for (let u = 0; u < candN[j]!; u++) {
              const i = cand[j * K + u]!;
              if (i === at) continue;
              const d = C[row + i]! + out + pen(i, W[row + i]!);
              if (d < bd) { bd = d; bj = j; bi = i; }
            }
          }
          if (bj < 0) break;
          chainJobs[len] = bj; chainFrom[len] = at;
          move(bj, bi); movedMark[bj] = stamp; len++;
          fNow += bd;
          if (fNow < bestF - EPS) { bestF = fNow; bestLen = len; }
          at = bi;
        }
        // undo back to the best prefix
        for (let s = len - 1; s >= bestLen; s--) move(chainJobs[s]!, chainFrom[s]!);
        if (bestLen > 0) { imp = true; break; }
      }
    }
    return imp;
  };
  const fPen = (): number => { let s = 0; for (let i = 0; i < m; i++) s += alpha[i]! * ex(i, load[i]!); return s; };

  const descend = (): void => {
    for (let r = 0; r < 200; r++) {
      let imp = shiftPass();
      imp = swapPass() || imp;
      if (!imp) imp = chainPass();
      if (!imp || Date.now() > p.deadline) return;
    }
  };

  const best = new Int32Array(n);
  let bestCost = Infinity;
  const E = 8;
  const elite: { a: Int32Array; c: number }[] = [];
  const addElite = (x: Int32Array, c: number): void => {
    for (const e of elite) if (e.c === c) return;
    if (elite.length < E) { elite.push({ a: Int32Array.from(x), c }); return; }
    let w = 0;
    for (let k = 1; k < elite.length; k++) if (elite[k]!.c > elite[w]!.c) w = k;
    if (c < elite[w]!.c) elite[w] = { a: Int32Array.from(x), c };
  };
  for (const e of p.elite ?? []) {
    let c = 0; const l = new Float64Array(m); let okE = true;
    for (let j = 0; j < n; j++) { c += C[j * m + e[j]!]!; l[e[j]!] += W[j * m + e[j]!]!; }
    for (let i = 0; i < m; i++) if (l[i]! > cap[i]! + 1e-9) okE = false;
    if (okE) { addElite(e, c); if (c < bestCost) { bestCost = c; best.set(e); } }
  }
  const stopAt = p.stopAt ?? -Infinity;
  const maxRounds = p.maxRounds ?? Infinity;
  let rounds = 0, since = 0;
  let strength = Math.max(2, Math.round(n / 100));
  while (rounds < maxRounds && bestCost > stopAt + 1e-9 && Date.now() <= p.deadline) {
    rounds++;
    descend();
    if (!feasible()) {
      since++;
      for (let i = 0; i < m; i++) { const e = ex(i, load[i]!); if (e > 0) alpha[i] = Math.min(aMax, alpha[i]! * (1 + Math.min(1, 4 * e / cap[i]!))); }
      if (since % 6 !== 0) continue;
    } else {
      if (cur < bestCost - EPS) { bestCost = cur; best.set(a); since = 0; strength = Math.max(2, Math.round(n / 100)); p.onBest?.(cur, Date.now()); } else since++;
      addElite(a, cur);
      for (let i = 0; i < m; i++) alpha[i] = Math.max(aMin, alpha[i]! * 0.8);
    }
    if (since > 0 && since % 30 === 0 && elite.length) {
      const e1 = elite[Math.floor(rng() * elite.length)]!;
      const e2 = elite[Math.floor(rng() * elite.length)]!;
      const mix = Int32Array.from(e1.a);
      for (let j = 0; j < n; j++) if (e2.a[j] !== mix[j] && rng() < 0.5) mix[j] = e2.a[j]!;
      setAll(mix);
      resetAlpha();
    }
    if (since > 0 && since % 10 === 0) strength = Math.min(Math.max(4, Math.round(n / 10)), strength + Math.max(1, strength >> 1));
    for (let q = 0; q < strength; q++) {
      const j = Math.floor(rng() * n), k = candN[j]!;
      if (k < 2) continue;
      const i = cand[j * K + Math.floor(rng() * Math.min(k, 4))]!;
      if (i !== a[j]) move(j, i);
    }
  }
  return { best: bestCost < Infinity ? best : null, cost: bestCost, rounds };
}
