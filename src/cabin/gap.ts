// The generalized assignment problem (GAP), minimisation form: the core every cabin solver
// works on (see docs/cabin.md §3 for the reduction from the allocation model).
//
//   min Σ_i Σ_j c_ij x_ij   s.t.  Σ_i x_ij = 1 (each job j once),
//                                 Σ_j w_ij x_ij ≤ b_i (each agent i), x_ij ∈ {0,1}.
//
// Agents are centres, jobs are data blocks. A pair that can never be used (deadline missed,
// too few VMs) has weight +Infinity. Matrices are flat, row-major by agent: index i*n + j.
//
// OR-Library file format (Beasley; cattrysse1994, chu1997, yagiura2004 sets): whitespace
// separated integers: m n; m rows of n costs; m rows of n weights; m capacities.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CabinError } from './errors.ts';

export interface Gap {
  name?: string;
  /** agents (centres) */
  m: number;
  /** jobs (blocks) */
  n: number;
  cost: Float64Array;
  /** +Infinity = forbidden pair */
  weight: Float64Array;
  capacity: Float64Array;
  /** every cost is an integer: bounds may be rounded up */
  integerCosts: boolean;
}

/** A complete assignment: agentOf[j] = agent of job j. */
export type Assignment = Int32Array;

export function makeGap(m: number, n: number, cost: ArrayLike<number>, weight: ArrayLike<number>, capacity: ArrayLike<number>, name?: string): Gap {
  const c = Float64Array.from(cost);
  let integerCosts = true;
  for (let k = 0; k < c.length; k++) if (!Number.isInteger(c[k]!)) { integerCosts = false; break; }
  const g: Gap = { m, n, cost: c, weight: Float64Array.from(weight), capacity: Float64Array.from(capacity), integerCosts };
  if (name !== undefined) g.name = name;
  return g;
}

export function parseGap(text: string, name = 'gap'): Gap {
  const tok = text.trim().split(/\s+/);
  let p = 0;
  const next = (what: string): number => {
    if (p >= tok.length) throw new CabinError('CABIN_BAD_GAP_FILE', `${name}: file ends early while reading ${what}`);
    const v = Number(tok[p++]);
    if (!Number.isFinite(v)) throw new CabinError('CABIN_BAD_GAP_FILE', `${name}: token ${p} (${what}) is not a number: ${tok[p - 1]}`);
    return v;
  };
  const m = next('agent count m');
  const n = next('job count n');
  if (!Number.isInteger(m) || m < 1 || !Number.isInteger(n) || n < 1) {
    throw new CabinError('CABIN_BAD_GAP_FILE', `${name}: m and n must be positive integers, got ${m} ${n}`);
  }
  const cost = new Float64Array(m * n);
  const weight = new Float64Array(m * n);
  const cap = new Float64Array(m);
  // Costs may be any number; resources and capacities are amounts: negative ones would make
  // every bound and the cost of "no plan" meaningless (a negative capacity was accepted and
  // reported `cost Infinity` with exit 0: issue 17).
  const amount = (what: string): number => {
    const v = next(what);
    if (v < 0) throw new CabinError('CABIN_BAD_GAP_FILE', `${name}: ${what} must be ≥ 0, got ${v}`);
    return v;
  };
  for (let k = 0; k < m * n; k++) cost[k] = next(`cost of agent ${Math.floor(k / n) + 1} job ${(k % n) + 1}`);
  for (let k = 0; k < m * n; k++) weight[k] = amount(`resource of agent ${Math.floor(k / n) + 1} job ${(k % n) + 1}`);
  for (let i = 0; i < m; i++) cap[i] = amount(`capacity of agent ${i + 1}`);
  if (p !== tok.length) throw new CabinError('CABIN_BAD_GAP_FILE', `${name}: ${tok.length - p} unexpected trailing tokens`);
  return makeGap(m, n, cost, weight, cap, name);
}

export function readGapFile(file: string): Gap {
  return parseGap(readFileSync(file, 'utf8'), file);
}

/** Cost of an assignment (Infinity if it uses a forbidden pair). */
export function assignmentCost(g: Gap, a: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < g.n; j++) {
    const k = a[j]! * g.n + j;
    if (g.weight[k] === Infinity) return Infinity;
    s += g.cost[k]!;
  }
  return s;
}

/** Agents whose capacity the assignment exceeds, with their loads. Empty = feasible. */
export function overloads(g: Gap, a: ArrayLike<number>): { agent: number; load: number; capacity: number }[] {
  const load = new Float64Array(g.m);
  for (let j = 0; j < g.n; j++) load[a[j]!] += g.weight[a[j]! * g.n + j]!;
  const out: { agent: number; load: number; capacity: number }[] = [];
  for (let i = 0; i < g.m; i++) if (load[i]! > g.capacity[i]! + 1e-9) out.push({ agent: i, load: load[i]!, capacity: g.capacity[i]! });
  return out;
}

export function isFeasible(g: Gap, a: ArrayLike<number>): boolean {
  if (a.length !== g.n) return false;
  for (let j = 0; j < g.n; j++) {
    const i = a[j]!;
    if (!Number.isInteger(i) || i < 0 || i >= g.m || g.weight[i * g.n + j] === Infinity) return false;
  }
  return overloads(g, a).length === 0;
}

// --- the shared benchmark data (OR-Library sets with best known values) --------------------

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The public GAP test sets live outside the repo, in `../shared/data/gap` relative to the
 * repo root (CI clones the repo with shared/ beside it). IOV_GAP_DATA overrides.
 */
export function gapDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.IOV_GAP_DATA) return resolve(env.IOV_GAP_DATA);
  return resolve(here, '..', '..', '..', 'shared', 'data', 'gap');
}

export interface GapBenchmarkEntry {
  /** e.g. `chu1997/a05100` */
  path: string;
  dataset: string;
  jobs: number;
  agents: number;
  bestBound: number | null;
  optimum: number | null;
  bestKnown: number | null;
}

export function readBestKnown(dir = gapDataDir()): GapBenchmarkEntry[] {
  const file = join(dir, 'best-known.csv');
  if (!existsSync(file)) throw new CabinError('CABIN_DATA_NOT_FOUND', `GAP benchmark data not found at ${dir} (set IOV_GAP_DATA)`);
  const lines = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const num = (s: string | undefined): number | null => (s === undefined || s.trim() === '' ? null : Number(s));
  return lines.slice(1).map((l) => {
    const f = l.split(',');
    return {
      path: f[0]!, dataset: f[2]!, jobs: Number(f[3]), agents: Number(f[4]),
      bestBound: num(f[5]), optimum: num(f[6]), bestKnown: num(f[7]),
    };
  });
}
