// Agent-subset large-neighbourhood search for the GAP (docs/cabin-history.md §2.4).
//
// A move frees every job of k agents (k = 2…maxAgents) and re-solves that sub-GAP exactly
// with the Lagrangian branch-and-bound (lbb.ts): the k agents keep their full capacities
// (all their jobs are freed), every other job stays where it is, so any solution of the
// sub-GAP is a feasible change of the whole. The neighbourhood is exponential in the
// number of freed jobs (like Mitrović-Minić & Punnen's very large-scale neighbourhoods
// for the GAP) yet small enough that the B&B proves "nothing better here" in a few ms:
// its Lagrangian bound with the current sub-solution as the incumbent usually closes the
// sub-tree at the root.
//
// Choice of agents: a first agent drawn in proportion to its share of the gap to the
// Lagrangian (knapsack) bound, then agents related to those chosen so far: where the
// relaxation pulls one of their jobs, the holder of a job their knapsack wants, or one of a
// job's cheapest other agents. A subset whose shares cannot pay for one unit of
// improvement is skipped unsolved. A subset that failed is remembered
// with the versions of its agents (a version changes when an agent's jobs do), so it is
// not tried again until one of its agents changed. After many failures in a row k grows;
// an improvement sets it back to 2.
//
// Partial moves free only some jobs of 3–20 related agents: the jobs kept in place use up
// part of each agent's capacity, so the sub-GAP has residual capacities and small knapsack
// tables; the number freed is steered so that the median move takes ~2 ms, and the share
// of partial moves follows each kind's improvement per ms.
//
// Integer costs and weights only (the B&B's precondition); returns null otherwise.
import { lagrangianBound } from '../bound.ts';
import { knap, knapsackBound, makeWork } from '../kbound.ts';
import { badOption } from '../errors.ts';
import { makeGap, type Gap } from '../gap.ts';
import { integerWeights } from '../kbound.ts';
import { lagrangianBB } from './lbb.ts';
import { createRng } from '../rng.ts';

export interface LnsOptions {
  /** Date.now() ms */
  deadline: number;
  seed?: number;
  /** smallest and largest agent-subset size (default 2 and min(m, 6)) */
  minAgents?: number;
  maxAgents?: number;
  /** B&B node limit per move (default 400: a sub-GAP that needs more is left alone) */
  maxNodes?: number;
  /** stop after this many moves (fixed-effort runs and tests) */
  maxMoves?: number;
  /** stop when nothing improved for this long and for a quarter of the time spent so far
   *  (default: run to the deadline) */
  stallMs?: number;
  /** the stall rule applies only once the cost is at most this (default: always) */
  stallBelow?: number;
  /** cheapest other agents of a job considered when growing a subset (default 4) */
  related?: number;
  /** job multipliers of the knapsack relaxation (kbound.ts), e.g. from the B&B; computed
   *  here when absent */
  lambda?: Float64Array;
  /** partial moves: the first share of moves that free only some jobs of more agents (the
   *  rest keep their places and use up part of the capacity); afterwards the share follows
   *  each kind's improvement per ms (default 0.5; 0 = whole agents only) */
  partial?: number;
  /** partial moves: most agents in a subset (default min(m, 20)); freed jobs per move at
   *  the start (default 40), then grown or shrunk by 3 % after each move so that the median
   *  move takes about partialMs (default 2 ms) */
  partialAgents?: number;
  partialJobs?: number;
  partialMs?: number;
}

export interface LnsResult {
  assignment: Int32Array;
  cost: number;
  /** sub-GAPs solved */
  moves: number;
  improvements: number;
  /** ms from the start of this call to its last improvement */
  timeToBestMs: number;
  /** why it stopped: the deadline, maxMoves, a stall (stallMs), or every subset tried */
  stop: 'deadline' | 'moves' | 'stall' | 'exhausted';
  /** moves whose B&B hit its node limit (answer may not be the sub-optimum) */
  cutOff: number;
  /** the subset size when it stopped */
  agents: number;
  stats: {
    boundMs: number;
    treeMs: number;
    trees: number;
    nodes: number;
    jobs: number;
    byK: Record<number, { moves: number; improvements: number; ms: number }>;
    /** partial moves (LnsOptions.partial): count, improvements, ms, jobs freed per move at
     *  the end, total cost reduction */
    partial: { moves: number; improvements: number; ms: number; jobs: number; gain: number };
  };
}

export function lnsImprove(g: Gap, start: Int32Array, opts: LnsOptions): LnsResult | null {
  if (!g.integerCosts || !integerWeights(g)) return null;
  const { m, n, cost, weight, capacity } = g;
  const minK = opts.minAgents ?? 2;
  const maxK = Math.min(m, opts.maxAgents ?? 6);
  if (!(Number.isInteger(minK) && minK >= 2)) throw badOption('options.minAgents must be an integer ≥ 2');
  if (!(Number.isInteger(maxK) && maxK >= Math.min(m, minK))) throw badOption('options.maxAgents must be an integer ≥ minAgents');
  const maxNodes = opts.maxNodes ?? 400;
  const maxMoves = opts.maxMoves ?? Infinity;
  const rel = opts.related ?? 4;
  const t0 = Date.now();
  const rng = createRng(opts.seed ?? 1);
  const a = Int32Array.from(start);
  let total = 0;
  for (let j = 0; j < n; j++) total += cost[a[j]! * n + j]!;
  // each job's cheapest agents other than any given one: its usable agents by cost
  const order: Int32Array[] = [];
  for (let j = 0; j < n; j++) {
    const ag: number[] = [];
    for (let i = 0; i < m; i++) if (weight[i * n + j]! <= capacity[i]!) ag.push(i);
    ag.sort((x, y) => cost[x * n + j]! - cost[y * n + j]!);
    order.push(Int32Array.from(ag.slice(0, rel + 1)));
  }
  const jobsOf: number[][] = Array.from({ length: m }, () => []);
  for (let j = 0; j < n; j++) jobsOf[a[j]!]!.push(j);
  // Per-agent share of the gap to the knapsack bound at λ: with P_i agent i's knapsack
  // value, cost − L(λ) = Σ_i slack_i, slack_i = P_i − Σ_{j on i} (λ_j − c_ij) ≥ 0. A sub-GAP
  // over agents S (all their jobs) has its own bound ≥ Σ_{j freed} λ_j − Σ_{i∈S} P_i, so it
  // can hold a better solution only if Σ_{i∈S} slack_i ≥ 1: subsets below are skipped
  // unsolved, and the first agent of a subset is drawn in proportion to its slack.
  let lambda = opts.lambda;
  if (!lambda) {
    const lp = lagrangianBound(g, { maxIterations: 200, upper: total, deadline: t0 + (opts.deadline - t0) * 0.1 });
    lambda = knapsackBound(g, { upper: total, mu: lp.mu, maxIterations: 150, deadline: t0 + (opts.deadline - t0) * 0.2 })?.lambda;
  }
  const P = new Float64Array(m);
  // wants[j]: the agents whose knapsack at λ takes job j (where the relaxation pulls it)
  const wants: number[][] = Array.from({ length: n }, () => []);
  if (lambda) {
    const Wk = makeWork(g);
    const x = new Int32Array(n);
    for (let i = 0; i < m; i++) {
      x.fill(0);
      P[i] = knap(g, i, lambda, Wk, x);
      for (let j = 0; j < n; j++) if (x[j]) wants[j]!.push(i);
    }
  }
  // share of growth steps that follow the relaxation's wants rather than cheap agents
  const pull = 0.8;
  const want: number[][] = Array.from({ length: m }, () => []);
  for (let j = 0; j < n; j++) for (const i of wants[j]!) want[i]!.push(j);
  const slack = new Float64Array(m);
  const setSlack = (i: number): void => {
    if (!lambda) {
      slack[i] = 1;
      return;
    }
    let s = P[i]!;
    for (const j of jobsOf[i]!) s -= lambda[j]! - cost[i * n + j]!;
    slack[i] = Math.max(0, s);
  };
  for (let i = 0; i < m; i++) setSlack(i);
  const pickFirst = (): number => {
    let tot = 0;
    for (let i = 0; i < m; i++) tot += slack[i]! + 0.05;
    let u = rng() * tot;
    for (let i = 0; i < m; i++) {
      u -= slack[i]! + 0.05;
      if (u <= 0) return i;
    }
    return m - 1;
  };
  const version = new Int32Array(m);
  const failed = new Set<string>();
  let k = Math.min(minK, m);
  let fails = 0,
    repeats = 0;
  let moves = 0,
    improvements = 0,
    cutOff = 0,
    bestAt = 0;
  // failures in a row before k grows: about the number of distinct related subsets
  const patience = (): number => 4 * m * k;
  const inSet = new Uint8Array(m);
  const freed = new Uint8Array(n);
  const chosen: number[] = [];
  const stats = {
    boundMs: 0,
    treeMs: 0,
    trees: 0,
    nodes: 0,
    jobs: 0,
    byK: {} as Record<number, { moves: number; improvements: number; ms: number }>,
    partial: { moves: 0, improvements: 0, ms: 0, jobs: 0, gain: 0 },
  };

  // partial moves: more agents, some of their jobs (residual capacities); the share of
  // them follows each kind's improvement per ms once both have a record
  const partial0 = opts.partial ?? 0.5;
  if (!(partial0 >= 0 && partial0 <= 1)) throw badOption('options.partial must be in [0, 1]');
  if (opts.partialAgents !== undefined && !(Number.isInteger(opts.partialAgents) && opts.partialAgents >= 3))
    throw badOption('options.partialAgents must be an integer ≥ 3');
  if (opts.partialJobs !== undefined && !(opts.partialJobs >= 1)) throw badOption('options.partialJobs must be ≥ 1');
  if (opts.partialMs !== undefined && !(opts.partialMs > 0)) throw badOption('options.partialMs must be > 0');
  const maxKp = Math.min(m, opts.partialAgents ?? 20);
  let pJobs = opts.partialJobs ?? 40;
  const pMs = opts.partialMs ?? 2;
  // [whole moves, partial moves] (the partial record is the one reported in stats)
  const kinds = [{ moves: 0, gain: 0, ms: 0 }, stats.partial];
  const partialShare = (): number => {
    if (partial0 === 0 || maxKp < 3) return 0;
    if (kinds[0]!.moves < 50 || kinds[1]!.moves < 50) return partial0;
    const r0 = (kinds[0]!.gain + 1) / (kinds[0]!.ms + 100);
    const r1 = (kinds[1]!.gain + 1) / (kinds[1]!.ms + 100);
    return Math.min(0.9, Math.max(0.1, r1 / (r0 + r1)));
  };
  const pri = new Float64Array(n);
  const stallMs = opts.stallMs ?? Infinity;
  let stop: LnsResult['stop'] = 'deadline';
  for (;;) {
    if (moves >= maxMoves) {
      stop = 'moves';
      break;
    }
    const now = Date.now();
    if (now >= opts.deadline || m < 2) break;
    const idle = now - t0 - bestAt;
    if (idle > stallMs && idle > (now - t0) / 4 && total <= (opts.stallBelow ?? Infinity)) {
      stop = 'stall';
      break;
    }
    // --- pick k related agents (partial moves: 3…maxKp)
    const part = rng() < partialShare();
    const kk = part ? 3 + Math.floor(rng() * (maxKp - 2)) : k;
    chosen.length = 0;
    const first = pickFirst();
    chosen.push(first);
    inSet[first] = 1;
    for (let tries = 0; chosen.length < kk && tries < 20 * kk; tries++) {
      const from = chosen[Math.floor(rng() * chosen.length)]!;
      const js = jobsOf[from]!;
      let next: number;
      const u = rng();
      if (js.length && u < pull) {
        // an agent the relaxation pulls one of these jobs to, or the holder of a job this
        // agent's knapsack wants
        const j = js[Math.floor(rng() * js.length)]!;
        const w = wants[j]!;
        if (w.length && rng() < 0.5) next = w[Math.floor(rng() * w.length)]!;
        else {
          const mine = want[from]!;
          next = mine.length ? a[mine[Math.floor(rng() * mine.length)]!]! : Math.floor(rng() * m);
        }
      } else if (js.length && u < 0.85) {
        const ord = order[js[Math.floor(rng() * js.length)]!]!;
        next = ord[Math.floor(rng() * ord.length)]!;
      } else next = Math.floor(rng() * m);
      if (!inSet[next]) {
        inSet[next] = 1;
        chosen.push(next);
      }
    }
    chosen.sort((x, y) => x - y);
    let key = '';
    for (const i of chosen) key += `${i}:${version[i]},`;
    let sl = 0;
    for (const i of chosen) sl += slack[i]!;
    // (a partial move is a restriction of the whole one over the same agents: what cannot
    // improve that cannot improve this)
    const skip = failed.has(key) || sl < 1 - 1e-6 || (part && chosen.length < 3);
    // (a partial move still needs inSet to choose its jobs)
    if (skip || !part) for (const i of chosen) inSet[i] = 0;
    if (skip && part) continue;
    if (skip) {
      if (++fails > patience()) {
        if (k < maxK) {
          k++;
          fails = 0;
        }
      }
      // every subset drawn lately was tried already (tiny instances): a local optimum
      if (++repeats > 2000 && k === maxK) {
        stop = 'exhausted';
        break;
      }
      continue;
    }
    repeats = 0;
    moves++;
    const kStat = part ? null : (stats.byK[k] ??= { moves: 0, improvements: 0, ms: 0 });
    if (kStat) kStat.moves++;
    const kind = kinds[part ? 1 : 0]!;
    kind.moves++;
    const tMove = performance.now();
    // --- the sub-GAP: chosen agents × their jobs, full capacities; partial: about
    // pJobs / kk jobs of each, first those the relaxation wants on another chosen agent or
    // does not want where they are
    const jobs: number[] = [];
    if (part) {
      const q = Math.max(2, Math.round(pJobs / chosen.length));
      for (const i of chosen) {
        const js = jobsOf[i]!;
        let pick: number[] = js;
        if (js.length > q) {
          for (const j of js) {
            let p = rng() * 1.5;
            let here = false;
            for (const w of wants[j]!) {
              if (w === i) here = true;
              else if (inSet[w]) p += 2;
            }
            if (!here) p += 1;
            pri[j] = p;
          }
          pick = js
            .slice()
            .sort((x, y) => pri[y]! - pri[x]!)
            .slice(0, q);
        }
        for (const j of pick) {
          jobs.push(j);
          freed[j] = 1;
        }
      }
      for (const i of chosen) inSet[i] = 0;
    } else
      for (const i of chosen)
        for (const j of jobsOf[i]!) {
          jobs.push(j);
          freed[j] = 1;
        }
    const mk = chosen.length,
      nk = jobs.length;
    stats.jobs += nk;
    let improved = false;
    if (nk > 1) {
      const sc = new Float64Array(mk * nk),
        sw = new Float64Array(mk * nk),
        sCap = new Float64Array(mk);
      const inc = new Int32Array(nk);
      let cur = 0;
      for (let r = 0; r < mk; r++) {
        const i = chosen[r]!;
        let cap = capacity[i]!;
        if (part) for (const j of jobsOf[i]!) if (!freed[j]) cap -= weight[i * n + j]!;
        sCap[r] = cap;
        for (let q = 0; q < nk; q++) {
          const j = jobs[q]!;
          sc[r * nk + q] = cost[i * n + j]!;
          sw[r * nk + q] = weight[i * n + j]!;
          if (a[j] === i) {
            inc[q] = r;
            cur += cost[i * n + j]!;
          }
        }
      }
      const sub = makeGap(mk, nk, sc, sw, sCap);
      const tb = performance.now();
      const lb = lagrangianBound(sub, { maxIterations: 60, upper: cur });
      const tl = performance.now();
      stats.boundMs += tl - tb;
      if (lb.bound < cur) {
        stats.trees++;
        // descend: only "is there anything below the current sub-cost?", target after target
        const r = lagrangianBB(sub, {
          mu: lb.mu,
          incumbent: inc,
          maxNodes,
          rootIterations: 100,
          targetRootIterations: 60,
          nodeIterations: 10,
          descend: true,
          deadline: opts.deadline,
        });
        stats.treeMs += performance.now() - tl;
        if (r) stats.nodes += r.nodes;
        if (r && r.stop === 'nodes') cutOff++;
        if (r?.assignment && r.cost < cur - 1e-9) {
          for (const i of chosen) {
            jobsOf[i] = jobsOf[i]!.filter((j) => !freed[j]);
            version[i]++;
          }
          for (let q = 0; q < nk; q++) {
            const i = chosen[r.assignment[q]!]!;
            a[jobs[q]!] = i;
            jobsOf[i]!.push(jobs[q]!);
          }
          for (const i of chosen) setSlack(i);
          total -= cur - r.cost;
          kind.gain += cur - r.cost;
          improvements++;
          improved = true;
          bestAt = Date.now() - t0;
        }
      }
    }
    for (const j of jobs) freed[j] = 0;
    const dt = performance.now() - tMove;
    kind.ms += dt;
    if (part) {
      if (improved) stats.partial.improvements++;
      stats.partial.jobs = pJobs;
      pJobs = dt > pMs ? Math.max(6, pJobs * 0.97) : Math.min(400, pJobs * 1.03);
      continue;
    }
    kStat!.ms += dt;
    if (improved) {
      kStat!.improvements++;
      fails = 0;
      k = Math.min(minK, m);
    } else {
      failed.add(key);
      if (++fails > patience() && k < maxK) {
        k++;
        fails = 0;
      }
    }
  }
  return { assignment: a, cost: total, stop, moves, improvements, timeToBestMs: bestAt, cutOff, agents: k, stats };
}
