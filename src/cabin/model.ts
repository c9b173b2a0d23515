// From the allocation model to the GAP (docs/cabin.md §3).
//
// For one (centre i, block j) pair, with the block split evenly over n VMs:
//   time_ij(n) = L_ij + S_j/(n·N_i) + S_j/(n·V_i)     (latency + transfer + processing)
//   deadline   time_ij(n) ≤ D   ⇔  n ≥ S_j (1/N_i + 1/V_i) / (D − L_ij)   (needs D > L_ij)
//   storage    n·M_i ≥ S_j      ⇔  n ≥ S_j / M_i
// so n_ij^min = max(1, ⌈both⌉); the pair is unusable when D ≤ L_ij or n^min > R_i or
// n^min > the segment's maxReplicas. Cost grows with n, capacity use grows with n, every
// other constraint only gets easier with more VMs: an optimal solution uses exactly n^min
// (proof in docs/cabin.md), which leaves a GAP with c_ij = U_i·S_j·K + P_i·n^min·T,
// w_ij = n^min, b_i = R_i (K = windows per rental period).
import { CabinError } from './errors.ts';
import { makeGap, type Gap } from './gap.ts';
import { migrationCost } from './migration.ts';
import type { AllocationInstance, BlockAllocation, CentreParams } from './types.ts';

export type PairReason = 'ok' | 'latency' | 'vms' | 'maxReplicas';

export interface PairInfo {
  /** n_ij^min, or the VMs the deadline/storage would need when unusable (Infinity if D ≤ L) */
  n: number;
  latencyS: number;
  /** time for one window with n VMs, s (Infinity if unusable on latency) */
  timeS: number;
  transferCost: number;
  rentalCost: number;
  reason: PairReason;
}

const EARTH_KM = 6371;
export function haversineKm(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const r = Math.PI / 180;
  const dLat = (lat2 - lat1) * r;
  const dLng = (lng2 - lng1) * r;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function distanceKm(inst: AllocationInstance, i: number, j: number): number {
  const row = inst.distanceKm?.[i];
  if (row && row[j] !== undefined) return row[j]!;
  const c = inst.centres[i]!, b = inst.blocks[j]!;
  return haversineKm(c.lat, c.lng, b.lat, b.lng);
}

export function latencyS(inst: AllocationInstance, i: number, j: number): number {
  return (inst.latency.baseMs + inst.latency.msPerKm * distanceKm(inst, i, j)) / 1000;
}

/** Windows per rental period: the transfer term pays for every window of the period. */
export function windowsPerPeriod(inst: AllocationInstance): number {
  return (inst.rentalHours * 3600) / inst.windowS;
}

export function windowTimeS(c: CentreParams, sizeMB: number, latency: number, n: number): number {
  return latency + sizeMB / (n * c.vmBandwidth) + sizeMB / (n * c.vmSpeed);
}

// ceil with a tolerance so 3.0000000001 (float noise) counts as 3
const ceilTol = (x: number): number => Math.ceil(x - 1e-9);

export function pairInfo(inst: AllocationInstance, i: number, j: number): PairInfo {
  const c = inst.centres[i]!, b = inst.blocks[j]!;
  const L = latencyS(inst, i, j);
  const S = b.size;
  const transferCost = c.uplinkPrice * (S / 1024) * windowsPerPeriod(inst);
  const slack = inst.deadlineS - L;
  if (!(slack > 0)) return { n: Infinity, latencyS: L, timeS: Infinity, transferCost, rentalCost: Infinity, reason: 'latency' };
  const n = Math.max(1, ceilTol(S / c.vmStorage), ceilTol((S * (1 / c.vmBandwidth + 1 / c.vmSpeed)) / slack));
  const rentalCost = c.vmPrice * n * inst.rentalHours;
  let reason: PairReason = 'ok';
  if (n > c.vmCount) reason = 'vms';
  else if (b.maxReplicas !== undefined && n > b.maxReplicas) reason = 'maxReplicas';
  return { n, latencyS: L, timeS: windowTimeS(c, S, L, n), transferCost, rentalCost, reason };
}

export interface Reduction {
  gap: Gap;
  pairs: PairInfo[]; // index i*n + j
}

export function toGap(inst: AllocationInstance): Reduction {
  validateInstance(inst);
  const m = inst.centres.length, n = inst.blocks.length;
  const cost = new Float64Array(m * n), weight = new Float64Array(m * n), cap = new Float64Array(m);
  const pairs: PairInfo[] = new Array(m * n);
  for (let i = 0; i < m; i++) {
    cap[i] = inst.centres[i]!.vmCount;
    for (let j = 0; j < n; j++) {
      const p = pairInfo(inst, i, j);
      pairs[i * n + j] = p;
      if (p.reason === 'ok') {
        cost[i * n + j] = p.transferCost + p.rentalCost + migrationCost(inst, i, j);
        weight[i * n + j] = p.n;
      } else {
        cost[i * n + j] = 0;
        weight[i * n + j] = Infinity;
      }
    }
  }
  return { gap: makeGap(m, n, cost, weight, cap, inst.name), pairs };
}

export function allocationsFrom(inst: AllocationInstance, red: Reduction, a: ArrayLike<number>): BlockAllocation[] {
  const n = inst.blocks.length;
  return inst.blocks.map((b, j) => {
    const i = a[j]!;
    const p = red.pairs[i * n + j]!;
    const move = inst.running ? { migrationCost: migrationCost(inst, i, j) } : {};
    return {
      block: b.id, centre: inst.centres[i]!.id, replicas: p.n,
      expectedLatencyMs: Math.round(p.timeS * 1e6) / 1e3,
      transferCost: p.transferCost, rentalCost: p.rentalCost, ...move, cost: p.transferCost + p.rentalCost + (move.migrationCost ?? 0),
    };
  });
}

const fmtS = (s: number): string => `${Number(s.toPrecision(3))} s`;

/**
 * Why an instance has no feasible allocation, one line per reason; empty when no simple
 * reason is found (the solver's proof is then the explanation).
 */
export function explainInfeasible(inst: AllocationInstance, red: Reduction = toGap(inst)): string[] {
  const m = inst.centres.length, n = inst.blocks.length;
  const out: string[] = [];
  if (m === 0) return ['no centres: register centres in the directory or pass a centres folder'];
  let demand = 0;
  for (let j = 0; j < n; j++) {
    const b = inst.blocks[j]!;
    let minN = Infinity;
    for (let i = 0; i < m; i++) { const p = red.pairs[i * n + j]!; if (p.reason === 'ok') minN = Math.min(minN, p.n); }
    if (minN < Infinity) { demand += minN; continue; }
    // No usable centre: find the best the block could get, and the dominant reason.
    const D = inst.deadlineS;
    let allLatency = true;
    let nearest = { id: '', L: Infinity };
    let fastest = { id: '', t: Infinity, n: 0 };
    let storageOnly = true;
    for (let i = 0; i < m; i++) {
      const c = inst.centres[i]!;
      const p = red.pairs[i * n + j]!;
      if (p.latencyS < nearest.L) nearest = { id: c.id, L: p.latencyS };
      if (p.reason === 'latency') continue;
      allLatency = false;
      const nMax = Math.min(c.vmCount, b.maxReplicas ?? Infinity);
      const t = windowTimeS(c, b.size, p.latencyS, nMax);
      if (t < fastest.t) fastest = { id: c.id, t, n: nMax };
      if (t <= D) { /* deadline reachable: storage must be what fails */ } else storageOnly = false;
    }
    const cap = b.maxReplicas !== undefined ? ` with at most ${b.maxReplicas} replicas` : '';
    if (allLatency) {
      out.push(`block ${b.id}: every centre misses the ${fmtS(D)} deadline on network latency alone; nearest is ${nearest.id} at ${fmtS(nearest.L)}`);
    } else if (storageOnly) {
      out.push(`block ${b.id}: ${b.size} MB does not fit the storage of the VMs any centre can give it${cap}`);
    } else {
      out.push(`block ${b.id}: every centre misses the ${fmtS(D)} deadline${cap}; fastest is ${fastest.id} at ${fmtS(fastest.t)} (with ${fastest.n} VMs)`);
    }
  }
  const capacity = inst.centres.reduce((s, c) => s + c.vmCount, 0);
  if (out.length === 0 && demand > capacity) out.push(`total VM demand ${demand} > capacity ${capacity} (each block at its cheapest VM count)`);
  return out;
}

function fail(msg: string): never {
  throw new CabinError('CABIN_BAD_INSTANCE', msg);
}

export function validateInstance(inst: AllocationInstance): void {
  const pos = (v: unknown, what: string): void => { if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) fail(`${what} must be a positive number, got ${JSON.stringify(v)}`); };
  pos(inst.deadlineS, 'deadlineS');
  pos(inst.rentalHours, 'rentalHours');
  pos(inst.windowS, 'windowS');
  if (!(inst.latency.baseMs >= 0) || !(inst.latency.msPerKm >= 0)) fail('latency.baseMs and latency.msPerKm must be ≥ 0');
  if (inst.migration && !(inst.migration.fixedCost >= 0 && inst.migration.stateWindows >= 0)) fail('migration.fixedCost and migration.stateWindows must be ≥ 0');
  const ids = new Set<string>();
  inst.centres.forEach((c, i) => {
    const w = `centres[${i}] (${c.id})`;
    if (ids.has(c.id)) fail(`${w}: duplicate centre id`);
    ids.add(c.id);
    pos(c.vmSpeed, `${w}.vmSpeed`); pos(c.vmBandwidth, `${w}.vmBandwidth`); pos(c.vmStorage, `${w}.vmStorage`);
    if (!(c.vmPrice >= 0)) fail(`${w}.vmPrice must be ≥ 0`);
    if (!(c.uplinkPrice >= 0)) fail(`${w}.uplinkPrice must be ≥ 0`);
    if (!Number.isInteger(c.vmCount) || c.vmCount < 0) fail(`${w}.vmCount must be an integer ≥ 0`);
  });
  const bids = new Set<string>();
  inst.blocks.forEach((b, j) => {
    const w = `blocks[${j}] (${b.id})`;
    if (bids.has(b.id)) fail(`${w}: duplicate block id`);
    bids.add(b.id);
    pos(b.size, `${w}.size`);
    if (b.maxReplicas !== undefined && (!Number.isInteger(b.maxReplicas) || b.maxReplicas < 1)) fail(`${w}.maxReplicas must be an integer ≥ 1`);
  });
}
