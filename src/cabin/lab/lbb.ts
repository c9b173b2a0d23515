// Lagrangian branch-and-bound with variable fixing on a target value (docs/cabin-history.md §2.3),
// in the spirit of Posta, Ferland & Michelon (2012); our own code.
//
// Bound: relax "each job exactly once" with multipliers λ_j (as in kbound.ts): one exact
// 0-1 knapsack per agent over the jobs still free, on the agent's residual capacity. For
// every pair the DP also gives the exact knapsack value with the job forced in or kept out
// (prefix and suffix DP tables, combined per item), so
//   in(i,j)  = bound of every solution with x_ij = 1,
//   out(i,j) = bound of every solution with x_ij = 0.
// Fixing against a target T ("is there a solution of cost ≤ T?"): a pair with in > T is
// removed, a job with out(i,j) > T is fixed to i; fixing a job lowers its agent's residual
// capacity (more pairs go), a job left with one agent is fixed to it; repeated every
// subgradient iteration, so with T near the bound most pairs vanish.
// Search: T = ⌈best bound⌉, then a depth-first tree (branch on the free job with the fewest
// agents left, the cheapest forced bound first; each node warm-starts λ from its parent and
// runs a few subgradient steps aimed at T + 1, fixing as it goes). A tree that is exhausted
// proves that no solution costs ≤ T: T + 1 next. With integer costs and steps of 1, the
// first solution of cost ≤ T is optimal and proven; a known incumbent U ends the sweep at
// T = U − 1 (exhausting that tree proves U optimal).
import { badOption } from '../errors.ts';
import type { Gap } from '../gap.ts';
import { integerWeights, startLambda } from '../kbound.ts';
import { makePolisher } from './klh.ts';

export interface LbbOptions {
  /** LP capacity multipliers, for the starting λ_j = min_i c_ij + μ_i w_ij */
  mu: Float64Array;
  /** starting job multipliers (e.g. a knapsack-bound pass's); replaces the start from μ */
  lambda?: Float64Array;
  /** a known feasible solution (the sweep stops below its cost) */
  incumbent?: Int32Array | null;
  /** Date.now() ms */
  deadline?: number;
  /** stop after this many nodes in all (fixed-effort runs) */
  maxNodes?: number;
  /** subgradient iterations of the root pass that sets the first target (default 400) */
  rootIterations?: number;
  /** subgradient iterations at the root of each target's tree (default 60) */
  targetRootIterations?: number;
  /** subgradient iterations per node (default 10) */
  nodeIterations?: number;
  /** first step size factor at a node (default 0.25; 1 and 0.5 took more evaluations) */
  nodeTheta?: number;
  /** repair the relaxed solution at a node (before branching) only when at most this many
   *  free jobs are chosen by zero or several agents (default 4; −1: never) */
  polishMaxViolated?: number;
  /** the same at the root pass, every iteration (default 10: each repair costs ~2 ms at
   *  200 jobs, and repairs of iterates far from feasible rarely pay) */
  rootPolishMaxViolated?: number;
  /** with an incumbent U: search only the target U − 1, again after each better solution,
   *  instead of climbing from the bound. An exhausted tree still proves U optimal; the
   *  lower bound stays the root's. For small sub-problems where any improvement matters
   *  (lns.ts), not for closing a gap from below. */
  descend?: boolean;
}

export interface LbbResult {
  assignment: Int32Array | null;
  cost: number;
  /** proven: no solution below it */
  lowerBound: number;
  /** the tree under the last target was exhausted or a solution at the target was found */
  provenOptimal: boolean;
  nodes: number;
  /** targets whose trees were searched */
  targets: number;
  /** the root bound (rounded up) that set the first target */
  rootBound: number;
  /** pairs left after the root's fixing against the first target */
  rootPairs: number;
  lambda: Float64Array;
  /** why it stopped: 'optimal' | 'time' | 'nodes' | 'infeasible' */
  stop: string;
  timeMs: number;
  stats: { evaluations: number; suffixDps: number; polishes: number; polishMs: number; nodesPerTarget: number[]; rootMs: number; rootEvaluations: number; items: number; bestAtMs: number };
}

interface NodeState {
  /** 1 = pair still allowed */
  avail: Uint8Array;
  /** agents left per free job */
  nAvail: Int32Array;
  /** agent a job is fixed to, −1 = free */
  fixedTo: Int32Array;
  res: Int32Array;
  fixedCost: number;
}

const cloneState = (s: NodeState): NodeState => ({
  avail: s.avail.slice(), nAvail: s.nAvail.slice(), fixedTo: s.fixedTo.slice(), res: s.res.slice(), fixedCost: s.fixedCost,
});

class Abort extends Error {}

/** Fail fast on bad options (STYLE.md). */
export function validateLbbOptions(o: LbbOptions): void {
  const count = (v: number | undefined, name: string, min: number): void => {
    if (v !== undefined && !(v === Infinity || (Number.isInteger(v) && v >= min))) throw badOption(`options.${name} must be an integer ≥ ${min}`);
  };
  count(o.maxNodes, 'maxNodes', 0);
  count(o.rootIterations, 'rootIterations', 1);
  count(o.targetRootIterations, 'targetRootIterations', 1);
  count(o.nodeIterations, 'nodeIterations', 1);
  count(o.polishMaxViolated, 'polishMaxViolated', -1);
  count(o.rootPolishMaxViolated, 'rootPolishMaxViolated', -1);
  if (o.nodeTheta !== undefined && !(o.nodeTheta > 0 && o.nodeTheta <= 2)) throw badOption('options.nodeTheta must be in (0, 2]');
  if (o.deadline !== undefined && !Number.isFinite(o.deadline)) throw badOption('options.deadline must be a finite time in ms');
}

/** Returns null unless costs and weights are integers (the target steps rely on it). */
export function lagrangianBB(g: Gap, opts: LbbOptions): LbbResult | null {
  validateLbbOptions(opts);
  if (!g.integerCosts || !integerWeights(g)) return null;
  const t0 = Date.now();
  const { m, n, cost, weight } = g;
  const W = new Int32Array(m * n);
  for (let k = 0; k < m * n; k++) W[k] = weight[k] === Infinity ? -1 : weight[k]!;
  const deadline = opts.deadline ?? Infinity;
  const maxNodes = opts.maxNodes ?? Infinity;
  const rootIt = opts.rootIterations ?? 400;
  const targetRootIt = opts.targetRootIterations ?? 60;
  const nodeIt = opts.nodeIterations ?? 10;
  // Tolerance on "bound > T": the rounding of L (sums of n doubles of magnitude ≤ Σ c, about
  // n·2⁻⁵³·Σ c ≈ 10⁻⁸ at 200 jobs and costs of 10⁵–10⁶) is far below it; a larger one (10⁻⁴)
  // fixed fewer pairs (bounds land just above integers) and grew c10200's tree 394 → 412.
  const EPS = 1e-6;

  // incumbent
  let bestA: Int32Array | null = null;
  let U = Infinity;
  const offer = (a: Int32Array): number => {
    let c = 0;
    const load = new Float64Array(m);
    for (let j = 0; j < n; j++) {
      const i = a[j]!, k = i * n + j;
      if (i < 0 || W[k]! < 0) return Infinity;
      c += cost[k]!; load[i] += W[k]!;
    }
    for (let i = 0; i < m; i++) if (load[i]! > g.capacity[i]! + 1e-9) return Infinity;
    if (c < U) { U = c; bestA = Int32Array.from(a); stats.bestAtMs = Date.now() - t0; }
    return c;
  };

  // --- workspaces --------------------------------------------------------------------------
  let maxCap = 0;
  for (let i = 0; i < m; i++) maxCap = Math.max(maxCap, Math.max(0, Math.floor(g.capacity[i]! + 1e-9)));
  // per-agent item lists (offset i*n) and DP tables (offset tabOff[i])
  const itJ = new Int32Array(m * n), itW = new Int32Array(m * n), itP = new Float64Array(m * n);
  const itK = new Int32Array(m), tabOff = new Int32Array(m), P = new Float64Array(m);
  let F = new Float64Array((n + m) * (maxCap + 1)), B = new Float64Array((n + 1) * (maxCap + 1));
  const count = new Int32Array(n);
  const owner = new Int32Array(n);
  /** L increase if x_ij is forced to 1 (resp. 0), per pair */
  const dIn = new Float64Array(m * n), dOut = new Float64Array(m * n);
  const chosen = new Uint8Array(m * n);
  const pol = makePolisher(g);
  const cand = new Int32Array(n);
  let nodes = 0;
  const stats = { evaluations: 0, suffixDps: 0, polishes: 0, polishMs: 0, nodesPerTarget: [] as number[], rootMs: 0, rootEvaluations: 0, items: 0, bestAtMs: 0 };
  const polishMax = opts.polishMaxViolated ?? 4;
  if (opts.incumbent) offer(opts.incumbent);
  const nodeTheta = opts.nodeTheta ?? 0.25;
  const rootPolishViol = opts.rootPolishMaxViolated ?? 10;

  /**
   * One evaluation of the relaxation at λ on the node, for target T: returns L. Fills count,
   * owner, chosen and, for the free jobs' allowed pairs, lower bounds dIn / dOut on the
   * bound's increase when the pair is forced in / out — exact where it matters for fixing
   * against T (the exact value needs a suffix DP, so it is computed only for pairs whose
   * cheap interval [P − p − F(C−w), P − F(C−w)] (resp. [0, p]) straddles T − L).
   */
  const evaluate = (st: NodeState, lam: Float64Array, T: number): number => {
    stats.evaluations++;
    let L = st.fixedCost;
    for (let j = 0; j < n; j++) { count[j] = 0; owner[j] = -1; if (st.fixedTo[j]! < 0) L += lam[j]!; }
    let off = 0;
    for (let i = 0; i < m; i++) {
      const C = st.res[i]!;
      const C1 = C + 1;
      let k = 0;
      const row = i * n;
      for (let j = 0; j < n; j++) {
        if (st.fixedTo[j]! >= 0 || !st.avail[row + j]) continue;
        const p = lam[j]! - cost[row + j]!;
        chosen[row + j] = 0;
        if (p > 1e-12) { itJ[row + k] = j; itW[row + k] = W[row + j]!; itP[row + k] = p; k++; }
      }
      itK[i] = k;
      stats.items += k;
      tabOff[i] = off;
      const need = off + (k + 1) * C1;
      if (F.length < need) { const F2 = new Float64Array(Math.max(need, F.length * 2)); F2.set(F); F = F2; }
      // prefix table: F[off + t*C1 + c] = best profit of items < t within capacity c
      for (let c = 0; c < C1; c++) F[off + c] = 0;
      for (let t = 0; t < k; t++) {
        const w = itW[row + t]!, p = itP[row + t]!, a = off + t * C1, b = a + C1;
        const lim = Math.min(w, C1);
        for (let c = 0; c < lim; c++) F[b + c] = F[a + c]!;
        for (let c = w; c < C1; c++) { const v = F[a + c - w]! + p; const u = F[a + c]!; F[b + c] = v > u ? v : u; }
      }
      const full = off + k * C1;
      const Pi = F[full + C]!;
      P[i] = Pi;
      L -= Pi;
      // chosen items (backtrack)
      let c = C;
      for (let t = k - 1; t >= 0; t--) {
        if (F[off + (t + 1) * C1 + c]! !== F[off + t * C1 + c]!) {
          const j = itJ[row + t]!;
          chosen[row + j] = 1; count[j]++;
          const o = owner[j]!;
          if (o < 0 || cost[row + j]! < cost[o * n + j]!) owner[j] = i;
          c -= itW[row + t]!;
        }
      }
      off = need;
    }
    const lim = T - L + EPS;
    for (let i = 0; i < m; i++) {
      const C = st.res[i]!, C1 = C + 1, row = i * n, k = itK[i]!, o = tabOff[i]!, full = o + k * C1, Pi = P[i]!;
      // allowed pairs outside the DP (profit ≤ 0): exact, forcing one in = its profit + the DP at C − w
      for (let j = 0; j < n; j++) {
        if (st.fixedTo[j]! >= 0 || !st.avail[row + j]) continue;
        const p = lam[j]! - cost[row + j]!;
        dOut[row + j] = 0;
        if (p > 1e-12) continue;
        const w = W[row + j]!;
        dIn[row + j] = w > C ? Infinity : Pi - p - F[full + C - w]!;
      }
      // items: cheap intervals first; the exact value only where it decides a fixing
      let needB = false;
      for (let t = 0; t < k; t++) {
        const j = itJ[row + t]!, w = itW[row + t]!, p = itP[row + t]!;
        if (chosen[row + j]) {
          dIn[row + j] = 0;
          dOut[row + j] = 0;
          if (p > lim) needB = true;
        } else {
          const f = F[full + C - w]!;
          dIn[row + j] = Pi - p - f;
          if (Pi - f > lim && Pi - p - f <= lim) needB = true;
        }
      }
      if (!needB) continue;
      stats.suffixDps++;
      // suffix table: B[t*C1 + c] = best profit of items ≥ t within capacity c
      const eb = k * C1;
      for (let cc = 0; cc < C1; cc++) B[eb + cc] = 0;
      for (let t = k - 1; t >= 0; t--) {
        const w = itW[row + t]!, p = itP[row + t]!, a = (t + 1) * C1, b = t * C1;
        const lm = Math.min(w, C1);
        for (let cc = 0; cc < lm; cc++) B[b + cc] = B[a + cc]!;
        for (let cc = w; cc < C1; cc++) { const v = B[a + cc - w]! + p; const u = B[a + cc]!; B[b + cc] = v > u ? v : u; }
      }
      // exact value without item t at capacity cap = max_x F[t][x] + B[t+1][cap − x]
      for (let t = 0; t < k; t++) {
        const j = itJ[row + t]!, w = itW[row + t]!, p = itP[row + t]!, fa = o + t * C1, ba = (t + 1) * C1;
        if (chosen[row + j]) {
          if (!(p > lim)) continue;
          let best = 0;
          for (let x = 0; x <= C; x++) { const v = F[fa + x]! + B[ba + C - x]!; if (v > best) best = v; }
          dOut[row + j] = Pi - best;
        } else {
          const f = F[full + C - w]!;
          if (!(Pi - f > lim && Pi - p - f <= lim)) continue;
          const cap = C - w;
          let best = 0;
          for (let x = 0; x <= cap; x++) { const v = F[fa + x]! + B[ba + cap - x]!; if (v > best) best = v; }
          dIn[row + j] = Pi - p - best;
        }
      }
    }
    return L;
  };

  /** Fix job j to agent i with propagation; false if the node became infeasible. */
  const fixJob = (st: NodeState, j0: number, i0: number): boolean => {
    const stack: number[] = [j0, i0];
    while (stack.length) {
      const i = stack.pop()!, j = stack.pop()!;
      if (st.fixedTo[j]! >= 0) { if (st.fixedTo[j] !== i) return false; continue; }
      if (!st.avail[i * n + j]) return false;
      st.fixedTo[j] = i;
      st.fixedCost += cost[i * n + j]!;
      st.res[i] -= W[i * n + j]!;
      if (st.res[i]! < 0) return false;
      for (let a = 0; a < m; a++) st.avail[a * n + j] = 0;
      st.avail[i * n + j] = 1;
      st.nAvail[j] = 1;
      const r = st.res[i]!, row = i * n;
      for (let q = 0; q < n; q++) {
        if (st.fixedTo[q]! >= 0 || !st.avail[row + q] || W[row + q]! <= r) continue;
        st.avail[row + q] = 0;
        const left = --st.nAvail[q];
        if (left === 0) return false;
        if (left === 1) { for (let a = 0; a < m; a++) if (st.avail[a * n + q]) { stack.push(q, a); break; } }
      }
    }
    return true;
  };

  const removePair = (st: NodeState, i: number, j: number): boolean => {
    if (!st.avail[i * n + j]) return true;
    st.avail[i * n + j] = 0;
    const left = --st.nAvail[j];
    if (left === 0) return false;
    if (left === 1) { for (let a = 0; a < m; a++) if (st.avail[a * n + j]) return fixJob(st, j, a); }
    return true;
  };

  /** Fixing against T after an evaluation with value L; false = no solution ≤ T here. */
  const applyFixing = (st: NodeState, L: number, T: number): { ok: boolean; changed: boolean } => {
    const lim = T - L + EPS;
    let changed = false;
    for (let j = 0; j < n; j++) {
      if (st.fixedTo[j]! >= 0) continue;
      let forceTo = -1;
      for (let i = 0; i < m; i++) {
        const k = i * n + j;
        if (!st.avail[k]) continue;
        if (dIn[k]! > lim) { if (!removePair(st, i, j)) return { ok: false, changed: true }; changed = true; if (st.fixedTo[j]! >= 0) break; }
        else if (dOut[k]! > lim) forceTo = i;
      }
      if (forceTo >= 0 && st.fixedTo[j]! < 0) { if (!fixJob(st, j, forceTo)) return { ok: false, changed: true }; changed = true; }
    }
    return { ok: true, changed };
  };

  type Outcome = 'pruned' | 'found' | 'branch';
  /**
   * Subgradient + fixing at a node against T. λ is updated in place (left at the best
   * iterate). Returns the best bound seen in `out.bound`.
   */
  /**
   * Subgradient + fixing at a node against T. λ is updated in place (left at the best
   * iterate); the best bound seen goes to `out.bound`. At the root (`out.root`) the target
   * is U − 1 for the current incumbent U, every iterate is repaired into a solution (a new
   * incumbent lowers the target), and 'found' is never returned.
   */
  const processNode = (st: NodeState, lam: Float64Array, T0: number, maxIt: number, out: { bound: number; root: boolean }): Outcome => {
    const root = out.root;
    let T = root ? U - 1 : T0;
    let theta = root ? 1 : nodeTheta, since = 0, best = -Infinity;
    const patience = root ? 5 : 3;
    const bestLam = Float64Array.from(lam);
    const tryPolish = (): boolean => {
      for (let j = 0; j < n; j++) cand[j] = st.fixedTo[j]! >= 0 ? st.fixedTo[j]! : owner[j]!;
      const tp = Date.now();
      stats.polishes++;
      const c = pol.build(cand, lam);
      stats.polishMs += Date.now() - tp;
      if (c < Infinity) { offer(cand); if (c <= T + EPS) return true; }
      return false;
    };
    for (let it = 0; it < maxIt; it++) {
      if (Date.now() > deadline) break;
      if (root) T = U - 1;
      const L = evaluate(st, lam, T);
      if (L > best + 1e-9) { best = L; bestLam.set(lam); since = 0; }
      if (L > T + EPS) { out.bound = best; return 'pruned'; }
      const fx = applyFixing(st, L, T);
      if (!fx.ok) { out.bound = Infinity; return 'pruned'; }
      if (fx.changed) { since = 0; continue; } // re-evaluate on the smaller node, same λ
      let norm = 0, feasible = true;
      for (let j = 0; j < n; j++) {
        if (st.fixedTo[j]! >= 0) continue;
        const s = 1 - count[j]!;
        if (s !== 0) { feasible = false; norm += s * s; }
      }
      if (feasible) {
        // every free job chosen exactly once: a solution of cost L ≤ T
        for (let j = 0; j < n; j++) cand[j] = st.fixedTo[j]! >= 0 ? st.fixedTo[j]! : owner[j]!;
        offer(cand);
        if (!root) { out.bound = best; return 'found'; }
        continue;
      }
      if (root) {
        let viol = 0;
        for (let j = 0; j < n; j++) if (st.fixedTo[j]! < 0 && count[j] !== 1) viol++;
        if (viol <= rootPolishViol) tryPolish();
      }
      if (since >= patience) { theta /= 2; since = 0; lam.set(bestLam); if (theta < 0.005) break; continue; }
      since++;
      const tg = Number.isFinite(T) ? Math.max(T + 1, L + 1e-3) : L + 0.01 * Math.abs(L) + 1;
      const step = (theta * (tg - L)) / norm;
      for (let j = 0; j < n; j++) if (st.fixedTo[j]! < 0) lam[j] += step * (1 - count[j]!);
    }
    lam.set(bestLam);
    out.bound = best;
    // (No extra repair of the root's best iterate when no solution is known yet: then the
    // target step doubles after three trees, and on yagiura e20100 that overshoot is what
    // finds 8439 within 2 s; with an incumbent from such a repair (8758) the sweep goes one
    // unit at a time and found nothing better.)
    if (root) return 'branch';
    // leave count/dIn of the best λ for branching
    const L = evaluate(st, lam, T);
    if (L > T + EPS) return 'pruned';
    let viol = 0;
    for (let j = 0; j < n; j++) if (st.fixedTo[j]! < 0 && count[j] !== 1) viol++;
    if (viol <= polishMax && tryPolish()) return 'found';
    return 'branch';
  };

  const dfs = (st: NodeState, lam: Float64Array, T: number, depth: number): boolean => {
    nodes++;
    if (nodes > maxNodes) throw new Abort('nodes');
    if ((nodes & 7) === 0 && Date.now() > deadline) throw new Abort('time');
    const out = { bound: -Infinity, root: false };
    const r = processNode(st, lam, T, depth === 0 ? targetRootIt : nodeIt, out);
    if (r === 'pruned') return false;
    if (r === 'found') return true;
    // branch: the free job with the fewest agents left; ties: violated in the relaxation,
    // then the largest regret between its two cheapest forced bounds
    let bj = -1, bCnt = Infinity, bViol = 0, bReg = -Infinity;
    for (let j = 0; j < n; j++) {
      if (st.fixedTo[j]! >= 0) continue;
      const cnt = st.nAvail[j]!;
      const viol = count[j] === 1 ? 0 : 1;
      let m1 = Infinity, m2 = Infinity;
      for (let i = 0; i < m; i++) {
        const k = i * n + j;
        if (!st.avail[k]) continue;
        const v = dIn[k]!;
        if (v < m1) { m2 = m1; m1 = v; } else if (v < m2) m2 = v;
      }
      const reg = m2 - m1;
      // (measured on chu c10200/c20200/b10200/b05200: "violated first" was the same, "largest
      // regret first" 1.5–4× more nodes)
      if (cnt < bCnt || (cnt === bCnt && (viol > bViol || (viol === bViol && reg > bReg)))) { bj = j; bCnt = cnt; bViol = viol; bReg = reg; }
    }
    if (bj < 0) return false;
    const agents: number[] = [];
    for (let i = 0; i < m; i++) if (st.avail[i * n + bj]) agents.push(i);
    agents.sort((a, b) => dIn[a * n + bj]! - dIn[b * n + bj]!);
    for (const i of agents) {
      const child = cloneState(st);
      if (!fixJob(child, bj, i)) continue;
      if (dfs(child, Float64Array.from(lam), T, depth + 1)) return true;
    }
    return false;
  };

  // --- root ----------------------------------------------------------------------------------
  const base: NodeState = {
    avail: new Uint8Array(m * n), nAvail: new Int32Array(n), fixedTo: new Int32Array(n).fill(-1),
    res: new Int32Array(m), fixedCost: 0,
  };
  for (let i = 0; i < m; i++) base.res[i] = Math.max(0, Math.floor(g.capacity[i]! + 1e-9));
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    const k = i * n + j;
    if (W[k]! >= 0 && W[k]! <= base.res[i]!) { base.avail[k] = 1; base.nAvail[j]++; }
  }
  const lam = startLambda(g, opts.mu, opts.lambda);
  const result = (stop: string, lb: number, proven: boolean, rootBound: number, rootPairs: number, targets: number): LbbResult => ({
    assignment: bestA, cost: U, lowerBound: proven ? U : lb, provenOptimal: proven, nodes, targets, rootBound, rootPairs, lambda: lam, stop, stats, timeMs: Date.now() - t0,
  });
  for (let j = 0; j < n; j++) if (base.nAvail[j] === 0) return result('infeasible', Infinity, false, Infinity, 0, 0);
  for (let j = 0; j < n; j++) if (base.nAvail[j] === 1) {
    for (let i = 0; i < m; i++) if (base.avail[i * n + j]) { if (!fixJob(base, j, i)) return result('infeasible', Infinity, false, Infinity, 0, 0); break; }
  }
  // root pass: the bound and fixing against U − 1 (only better solutions matter)
  const out = { bound: -Infinity, root: true };
  let rootBound = -Infinity, rootPairs = 0, targets = 0, lb = -Infinity;
  const lbSoFar = (): number => lb;
  try {
    const tr = Date.now();
    const r0 = processNode(base, lam, U - 1, rootIt, out);
    stats.rootMs = Date.now() - tr;
    stats.rootEvaluations = stats.evaluations;
    rootBound = Math.ceil(out.bound - EPS);
    if (r0 === 'pruned') return result(bestA ? 'optimal' : 'infeasible', U, bestA !== null, rootBound, 0, 0);
    if (!Number.isFinite(rootBound)) return result('time', -Infinity, false, rootBound, 0, 0);
    for (let k = 0; k < m * n; k++) rootPairs += base.avail[k]!;
    const search = (T: number): boolean => {
      targets++;
      stats.nodesPerTarget.push(-nodes);
      try {
        return dfs(cloneState(base), Float64Array.from(lam), T, 0);
      } finally {
        stats.nodesPerTarget[stats.nodesPerTarget.length - 1] += nodes;
      }
    };
    // Targets from the root bound up, one tree each (an exhausted tree proves that nothing
    // costs ≤ T: lb = T + 1), until the first solution of cost ≤ T or T = U. Without an
    // incumbent the step doubles after 3 trees, up to Tmax (no assignment costs more): an
    // exhausted tree there proves the instance infeasible. Then every target skipped by a
    // doubled step, from lb to U − 1, lowest first: the first one with a solution is optimal.
    // (Tried and removed: a node limit per tree with the open targets searched afterwards —
    // on c20200 it only postponed the tree that finds the optimum; and a "dive", first target
    // bound × 1.002–1.004 then U − 1, which on chu d20100/d20200 found nothing better than
    // the heuristic in 9 s.)
    let Tmax = 0;
    for (let j = 0; j < n; j++) {
      let w = -Infinity;
      for (let i = 0; i < m; i++) if (base.avail[i * n + j] && cost[i * n + j]! > w) w = cost[i * n + j]!;
      Tmax += w;
    }
    Tmax += base.fixedCost;
    lb = rootBound;
    if (opts.descend && U < Infinity) {
      while (search(U - 1)) if (Date.now() > deadline) return result('time', lb, false, rootBound, rootPairs, targets);
      return result('optimal', U, true, rootBound, rootPairs, targets);
    }
    let step = 1, trees = 0;
    for (let T = rootBound; T < U;) {
      if (search(T)) break;
      lb = Math.max(lb, T + 1);
      if (T >= Tmax) break;
      if (++trees >= 3 && U === Infinity) step *= 2;
      T = Math.min(T + step, Tmax);
    }
    if (U === Infinity && lb > Tmax) return result('infeasible', Infinity, false, rootBound, rootPairs, targets);
    for (let T = lb; T < U && T <= Tmax; T++) {
      if (Date.now() > deadline) return result('time', lb, false, rootBound, rootPairs, targets);
      // found: a solution ≤ T and none ≤ T − 1 — optimal
      if (search(T)) return result('optimal', U, true, rootBound, rootPairs, targets);
      lb = T + 1;
    }
    return bestA ? result('optimal', U, true, rootBound, rootPairs, targets) : result('infeasible', Infinity, false, rootBound, rootPairs, targets);
  } catch (e) {
    if (!(e instanceof Abort)) throw e;
    // the current tree was not finished: proven only what the exhausted ones showed
    return result(e.message, lbSoFar(), false, rootBound, rootPairs, targets);
  }
}
