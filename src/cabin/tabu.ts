// Penalised tabu search for the GAP (docs/cabin.md §5.2, "tabu search, second version").
//
// f(σ) = Σ_j c_{σ(j) j} + Σ_i α_i · max(0, load_i − b_i): capacity overflow is allowed and
// priced, with per-agent weights α_i that adapt (strategic oscillation): an agent that stays
// overloaded gets dearer, and while the solution is feasible all weights relax, so the
// search keeps crossing the feasibility boundary in both directions.
//
// Every iteration takes the best non-tabu move of the whole shift neighbourhood (one job to
// another agent) and the swap neighbourhood (two jobs on different agents exchange agents),
// restricted to each job's candidate agents on large instances. Evaluation is O(1) per move
// from the cached agent loads and overflows; the data are laid out job-major (j·m + i) so a
// job's row is contiguous. Tabu attribute: (job, agent it left), random tenure; aspiration
// for a move that yields a new best feasible solution. After a run without a new best the
// search restarts from an elite solution (the best few feasible ones found) perturbed by a
// random path towards another elite (path relinking), with the weights reset.
import type { Gap } from './gap.ts';
import { createRng } from './rng.ts';

export interface TabuParams {
  /** stop when Date.now() passes this */
  deadline: number;
  /** stop after this many iterations (effort mode) */
  maxIterations?: number;
  seed: number;
  /** stop as soon as the best cost is ≤ this (a lower bound or a benchmark target) */
  stopAt?: number;
  /** initial penalty weights (default: mean cost per weight unit) */
  alpha?: Float64Array;
  /** candidate agents per job for swaps and shifts (agents with the lowest reduced cost);
   *  all agents when m ≤ this */
  candidates?: Int32Array;
  /** row length of `candidates` (K) */
  candK?: number;
  /** called with the time (Date.now()) whenever a new best feasible solution is found */
  onBest?: (cost: number, at: number) => void;
  /** tenure range: [tMin, tMin + tSpan) iterations */
  tenureMin?: number;
  tenureSpan?: number;
  /** iterations without a new best before a restart from the elite pool (default 10·n) */
  restartAfter?: number;
  /** weight factor per iteration for an overloaded agent (default 1.1) and for all while feasible (default 0.95) */
  up?: number;
  down?: number;
  /** one weight steered by the share of feasible iterations in a window */
  globalWeight?: boolean;
  window?: number;
  step?: number;
}

export interface TabuResult {
  best: Int32Array | null;
  cost: number;
  iterations: number;
}

export function tabuSearch(g: Gap, start: Int32Array, p: TabuParams): TabuResult {
  const { m, n, capacity: cap } = g;
  const rng = createRng(p.seed);
  const C = new Float64Array(n * m), W = new Float64Array(n * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) { C[j * m + i] = g.cost[i * n + j]!; W[j * m + i] = g.weight[i * n + j]!; }
  // candidate mask: ok[j·m + i] = 1 if i may receive j in a move
  const ok = new Uint8Array(n * m);
  const K = p.candidates && p.candK ? p.candK : m;
  if (p.candidates && p.candK && p.candK < m) {
    for (let j = 0; j < n; j++) for (let t = 0; t < K; t++) { const i = p.candidates[j * K + t]!; if (i >= 0) ok[j * m + i] = 1; }
  } else ok.fill(1);
  for (let k = 0; k < n * m; k++) if (W[k] === Infinity) ok[k] = 0;

  const a = Int32Array.from(start);
  const load = new Float64Array(m);
  const exc = new Float64Array(m);
  const list = new Int32Array(m * n);
  const cnt = new Int32Array(m);
  const pos = new Int32Array(n);
  let cur = 0, exSum = 0;
  const setAll = (src: Int32Array): void => {
    a.set(src);
    load.fill(0); cnt.fill(0); cur = 0;
    for (let j = 0; j < n; j++) {
      const i = a[j]!;
      load[i] += W[j * m + i]!; cur += C[j * m + i]!;
      pos[j] = cnt[i]!; list[i * n + cnt[i]!] = j; cnt[i]++;
    }
    exSum = 0;
    for (let i = 0; i < m; i++) { const e = load[i]! - cap[i]!; exc[i] = e > 1e-9 ? e : 0; exSum += exc[i]!; }
  };
  const move = (j: number, to: number): void => {
    const from = a[j]!;
    const q = pos[j]!;
    const last = list[from * n + cnt[from]! - 1]!;
    list[from * n + q] = last; pos[last] = q; cnt[from]--;
    pos[j] = cnt[to]!; list[to * n + cnt[to]!] = j; cnt[to]++;
    load[from] -= W[j * m + from]!; load[to] += W[j * m + to]!;
    cur += C[j * m + to]! - C[j * m + from]!;
    a[j] = to;
    exSum -= exc[from]! + exc[to]!;
    let e = load[from]! - cap[from]!; exc[from] = e > 1e-9 ? e : 0;
    e = load[to]! - cap[to]!; exc[to] = e > 1e-9 ? e : 0;
    exSum += exc[from]! + exc[to]!;
  };
  setAll(start);

  let sumC = 0, sumW = 0;
  for (let k = 0; k < n * m; k++) if (W[k] !== Infinity) { sumC += Math.abs(C[k]!); sumW += W[k]!; }
  const base = (sumW > 0 ? sumC / sumW : 1) * Number(process.env.TS_ALPHA ?? 1);
  const alpha = new Float64Array(m);
  const resetAlpha = (): void => { for (let i = 0; i < m; i++) alpha[i] = p.alpha ? Math.max(base * 0.1, p.alpha[i]!) : base; };
  resetAlpha();
  const aMin = base * 0.01, aMax = base * 1e4;

  const best = new Int32Array(n);
  let bestCost = Infinity;
  const E = 8;
  const elite: { a: Int32Array; c: number }[] = [];
  const addElite = (): void => {
    for (const e of elite) if (e.c === cur) return;
    if (elite.length < E) { elite.push({ a: Int32Array.from(a), c: cur }); return; }
    let w = 0;
    for (let k = 1; k < elite.length; k++) if (elite[k]!.c > elite[w]!.c) w = k;
    if (cur < elite[w]!.c) elite[w] = { a: Int32Array.from(a), c: cur };
  };
  const record = (): void => {
    if (exSum > 0) return;
    if (cur < bestCost - 1e-9) {
      bestCost = cur; best.set(a);
      p.onBest?.(cur, Date.now());
    }
    addElite();
  };
  record();

  const tabu = new Int32Array(n * m);
  const tMin = p.tenureMin ?? Math.max(5, Math.round(Math.sqrt(n)));
  const tSpan = p.tenureSpan ?? Math.max(5, Math.round(Math.sqrt(n)));
  const restartAfter = p.restartAfter ?? 10 * n;
  const maxIt = p.maxIterations ?? Infinity;
  const up = p.up ?? 1.1, down = p.down ?? 0.95;
  const globalW = p.globalWeight ?? false, winLen = p.window ?? 10, step = p.step ?? 0.2;
  let winN = 0, winF = 0;
  const stopAt = p.stopAt ?? -Infinity;
  let it = 0, sinceBest = 0, feasIts = 0, restarts = 0;
  const EPS = 1e-9;
  while (it < maxIt && bestCost > stopAt + 1e-9) {
    if ((it & 7) === 0 && Date.now() > p.deadline) break;
    it++;
    let bestD = Infinity, mJ = -1, mI = -1, mJ2 = -1, mI2 = -1;
    // shifts
    for (let j = 0; j < n; j++) {
      const f = a[j]!, row = j * m;
      const cf = C[row + f]!;
      let e = load[f]! - W[row + f]! - cap[f]!;
      const pf = alpha[f]! * ((e > 0 ? e : 0) - exc[f]!);
      const exF = exSum - exc[f]! + (e > 0 ? e : 0);
      for (let i = 0; i < m; i++) {
        if (i === f || ok[row + i] === 0) continue;
        e = load[i]! + W[row + i]! - cap[i]!;
        const ei = e > 0 ? e : 0;
        const dc = C[row + i]! - cf;
        const d = dc + pf + alpha[i]! * (ei - exc[i]!);
        if (d >= bestD) continue;
        if (tabu[row + i]! > it && !(cur + dc < bestCost - EPS && exF - exc[i]! + ei <= 1e-9)) continue;
        bestD = d; mJ = j; mI = i; mJ2 = -1;
      }
    }
    // swaps: j1 (on p) ↔ j2 (on q), p < q
    for (let pa = 0; pa < m; pa++) {
      const np = cnt[pa]!;
      if (np === 0) continue;
      for (let qa = pa + 1; qa < m; qa++) {
        const nq = cnt[qa]!;
        if (nq === 0) continue;
        const lp = load[pa]!, lq = load[qa]!, cp = cap[pa]!, cq = cap[qa]!, ep = exc[pa]!, eq = exc[qa]!;
        const ap = alpha[pa]!, aq = alpha[qa]!;
        const exRest = exSum - ep - eq;
        for (let r = 0; r < np; r++) {
          const j1 = list[pa * n + r]!, r1 = j1 * m;
          if (ok[r1 + qa] === 0) continue;
          const c1 = C[r1 + qa]! - C[r1 + pa]!;
          const lp1 = lp - W[r1 + pa]!, lq1 = lq + W[r1 + qa]! - cq;
          const t1 = tabu[r1 + qa]! > it;
          for (let s = 0; s < nq; s++) {
            const j2 = list[qa * n + s]!, r2 = j2 * m;
            if (ok[r2 + pa] === 0) continue;
            let e1 = lp1 + W[r2 + pa]! - cp; if (e1 < 0) e1 = 0;
            let e2 = lq1 - W[r2 + qa]!; if (e2 < 0) e2 = 0;
            const dc = c1 + C[r2 + pa]! - C[r2 + qa]!;
            const d = dc + ap * (e1 - ep) + aq * (e2 - eq);
            if (d >= bestD) continue;
            if ((t1 || tabu[r2 + pa]! > it) && !(cur + dc < bestCost - EPS && exRest + e1 + e2 <= 1e-9)) continue;
            bestD = d; mJ = j1; mI = qa; mJ2 = j2; mI2 = pa;
          }
        }
      }
    }
    if (mJ < 0) { // every move tabu: clear the list
      tabu.fill(0);
      continue;
    }
    const before = bestCost;
    const f1 = a[mJ]!;
    move(mJ, mI);
    tabu[mJ * m + f1] = it + tMin + Math.floor(rng() * tSpan);
    if (mJ2 >= 0) { move(mJ2, mI2); tabu[mJ2 * m + mI] = it + tMin + Math.floor(rng() * tSpan); }
    if (globalW) {
      // one weight for all agents, steered so that about half of the recent iterations are feasible
      if (exSum <= 0) { record(); feasIts++; winF++; }
      if (++winN >= winLen) {
        const f = winF / winN;
        const k = f > 0.5 ? 1 / (1 + step * (f - 0.5) * 2) : 1 + step * (0.5 - f) * 2;
        for (let i = 0; i < m; i++) alpha[i] = Math.min(aMax, Math.max(aMin, alpha[i]! * k));
        winN = 0; winF = 0;
      }
    } else if (exSum > 0) {
      for (let i = 0; i < m; i++) if (exc[i]! > 0) alpha[i] = Math.min(aMax, alpha[i]! * up);
    } else {
      record(); feasIts++;
      for (let i = 0; i < m; i++) alpha[i] = Math.max(aMin, alpha[i]! * down);
    }
    if (bestCost < before) sinceBest = 0; else sinceBest++;
    if (sinceBest >= restartAfter && elite.length) {
      sinceBest = 0; restarts++;
      const e1 = elite[Math.floor(rng() * elite.length)]!;
      const e2 = elite[Math.floor(rng() * elite.length)]!;
      const mix = Int32Array.from(e1.a);
      let diff = 0;
      for (let j = 0; j < n; j++) if (e2.a[j] !== mix[j]) { diff++; if (rng() < 0.5) mix[j] = e2.a[j]!; }
      if (diff < 4) for (let q = 0; q < Math.max(3, n / 50); q++) {
        const j = Math.floor(rng() * n), i = Math.floor(rng() * m);
        if (ok[j * m + i]) mix[j] = i;
      }
      setAll(mix);
      resetAlpha();
      tabu.fill(0);
    }
  }
  if (process.env.TS_DEBUG) console.error('feasIts', feasIts, 'of', it, 'restarts', restarts, 'alpha/base', Array.from(alpha, (x) => +(x / base).toFixed(2)).join(','));
  return { best: bestCost < Infinity ? best : null, cost: bestCost, iterations: it };
}
