// Deterministic, seeded instance generator (docs/cabin.md §6 lists the ranges and why).
// Table-4 sizes of the paper: N blocks × W centres.
import { greedyAssign } from '../fast.ts';
import { pairInfo, toGap } from '../model.ts';
import { createRng, randInt, uniform } from '../rng.ts';
import type { AllocationInstance, BlockParams, CentreParams } from '../types.ts';

export const TABLE4_SIZES: ReadonlyArray<readonly [number, number]> = [
  [5, 10], [10, 20], [14, 20], [20, 20], [30, 28], [40, 36], [60, 48], [80, 65], [100, 82],
];
export const LARGE_SIZES: ReadonlyArray<readonly [number, number]> = [[300, 200], [1000, 500]];

export interface GeneratorOptions {
  blocks: number;
  centres: number;
  seed?: number;
  /** total VMs ≈ tightness × the VMs the blocks need at their cheapest centres (default 1.4) */
  tightness?: number;
  deadlineS?: number;
}

const PROVIDERS = ['aliyun', 'tencent', 'huawei', 'baidu', 'ctyun'];

export function generateInstance(opts: GeneratorOptions): AllocationInstance {
  return raiseUntilFeasible((tightness) => generateOnce({ ...opts, tightness }), opts.tightness ?? 1.4, 0.15, 10);
}

/**
 * Every generator's last step: make the instance with the capacity tightness `start`, then
 * `step` more each round until a greedy plan exists (at most `rounds` more), so every
 * generated instance is feasible (the infeasible cases are built on purpose in the tests).
 */
export function raiseUntilFeasible(make: (tightness: number) => AllocationInstance, start: number, step: number, rounds: number): AllocationInstance {
  let tight = start;
  for (let round = 0; ; round++) {
    const inst = make(tight);
    if (round >= rounds || greedyAssign(toGap(inst).gap, new Float64Array(inst.centres.length)).feasible) return inst;
    tight += step;
  }
}

/**
 * The generators' capacity rule: every centre's VM count is scaled so the total is `tight` ×
 * the VMs the blocks need, each block at its cheapest centre (`per: 'cheapest'`) or at the
 * centre that needs the fewest VMs (`'fewest'`), centres taken with unlimited VMs; `round`
 * turns each scaled count into a whole one (each generator keeps its own granularity).
 */
export function scaleVmCounts(inst: AllocationInstance, tight: number, per: 'cheapest' | 'fewest', round: (vms: number) => number): void {
  let demand = 0;
  for (let j = 0; j < inst.blocks.length; j++) {
    let best = Infinity, bn = 0;
    for (let i = 0; i < inst.centres.length; i++) {
      const p = pairInfo({ ...inst, centres: [{ ...inst.centres[i]!, vmCount: 1e9 }] }, 0, j);
      if (p.reason !== 'ok') continue;
      const score = per === 'cheapest' ? p.transferCost + p.rentalCost : p.n;
      if (score < best) { best = score; bn = p.n; }
    }
    demand += bn;
  }
  const total = inst.centres.reduce((s, c) => s + c.vmCount, 0);
  const f = (tight * demand) / total;
  for (const c of inst.centres) c.vmCount = round(c.vmCount * f);
}

function generateOnce(opts: GeneratorOptions): AllocationInstance {
  const seed = opts.seed ?? 1;
  const rng = createRng(seed * 7919 + opts.blocks * 31 + opts.centres);
  const centres: CentreParams[] = [];
  for (let i = 0; i < opts.centres; i++) {
    // VM speed 20–100 MB/s of packet processing; price follows speed (±30 %) as with real
    // instance families: 0.0035 $/h per MB/s ≈ 0.07–0.45 $/VM-hour.
    const vmSpeed = Math.round(uniform(rng, 20, 100));
    const vmPrice = Math.round(vmSpeed * 0.0035 * uniform(rng, 0.7, 1.3) * 1000) / 1000;
    centres.push({
      id: `c${i + 1}`,
      provider: PROVIDERS[i % PROVIDERS.length]!,
      location: `loc${Math.floor(i / 3) + 1}`,
      vmSpeed,
      vmPrice,
      uplinkPrice: Math.round(uniform(rng, 0.01, 0.12) * 1000) / 1000, // $/GB
      vmCount: randInt(rng, 4, 40),
      vmBandwidth: Math.round(uniform(rng, 60, 250)), // MB/s ≈ 0.5–2 Gbit/s per VM
      vmStorage: [2048, 4096, 8192, 16384][randInt(rng, 0, 3)]!, // MB
      // mainland China: lat 22–42 N, lng 100–122 E (distances up to ~2,500 km)
      lat: Math.round(uniform(rng, 22, 42) * 100) / 100,
      lng: Math.round(uniform(rng, 100, 122) * 100) / 100,
    });
  }
  const blocks: BlockParams[] = [];
  for (let j = 0; j < opts.blocks; j++) {
    // a segment: 2k–50k packets/s of 200–800 B, 60 s windows → 24–2,400 MB per window
    const rate = uniform(rng, 2000, 50000);
    const bytes = uniform(rng, 200, 800);
    blocks.push({
      id: `b${j + 1}`,
      size: Math.round((rate * bytes * 60) / 1e6),
      maxReplicas: 32,
      lat: Math.round(uniform(rng, 22, 42) * 100) / 100,
      lng: Math.round(uniform(rng, 100, 122) * 100) / 100,
    });
  }
  const inst: AllocationInstance = {
    name: `cabin-${opts.blocks}x${opts.centres}-s${seed}`,
    deadlineS: opts.deadlineS ?? 10,
    rentalHours: 24,
    windowS: 60,
    latency: { baseMs: 5, msPerKm: 0.01 },
    centres,
    blocks,
  };
  // Total VMs `tightness` × the demand at each block's cheapest centre: loose enough to be
  // feasible, tight enough that capacity matters.
  scaleVmCounts(inst, opts.tightness ?? 1.4, 'cheapest', (vms) => Math.max(2, Math.round(vms)));
  // Every block must fit somewhere: if shrinking took away its last usable centre, its
  // fastest centre gets the VMs it needs.
  for (let j = 0; j < blocks.length; j++) {
    let ok = false, fix = -1, fixN = Infinity;
    for (let i = 0; i < centres.length; i++) {
      const p = pairInfo(inst, i, j);
      if (p.reason === 'ok') { ok = true; break; }
      if (p.reason === 'vms' && p.n < fixN) { fixN = p.n; fix = i; }
    }
    if (!ok && fix >= 0) centres[fix]!.vmCount = fixN;
  }
  return inst;
}
