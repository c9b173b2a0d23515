// A third instance generator (issue 19 item 4; docs/cabin.md §6.2), written so the exact
// solver is not tuned to one generator: the paper's model again (Table 3: rental = VM price ×
// VMs × T, transfer = uplink price × size × K, latency from great-circle distance), with
// correlated costs and weights in the spirit of Martello–Toth types D/E and tight capacities.
//
// - A VM's price follows its speed almost linearly (±5 %), so renting enough VMs for a block
//   costs about the same anywhere: the cheap pairs are not the light ones, and what separates
//   centres is rounding (VMs come whole), a small uplink price and latency.
// - The deadline is short (4 s) and latency grows with distance (50 ms + 0.05 ms/km over
//   ~3 000 km), so far centres need more VMs for the same block (weights vary by pair).
// - VM counts are scaled to 1.1 × the fewest VMs each block needs anywhere (Σ_j min_i
//   n_ij^min), raised by 0.05 until a greedy plan exists: a tight, knapsack-like GAP.
// - Block sizes are uniform (80–1 500 MB per window), not heavy-tailed as in the paper-style
//   generator; centres are spread uniformly over mainland China, not in cities.
import { raiseUntilFeasible, scaleVmCounts } from './generator.ts';
import { createRng, randInt, uniform } from '../rng.ts';
import type { AllocationInstance, BlockParams, CentreParams } from '../types.ts';

export interface CorrelatedGeneratorOptions {
  blocks: number;
  centres: number;
  seed?: number;
  /** total VMs ≈ tightness × Σ_j min_i n_ij^min (default 1.1) */
  tightness?: number;
}

const PROVIDERS = ['aliyun', 'tencent', 'huawei', 'ctyun'];

export function generateCorrelatedInstance(opts: CorrelatedGeneratorOptions): AllocationInstance {
  return raiseUntilFeasible((tight) => generateOnce(opts, tight), opts.tightness ?? 1.1, 0.05, 20);
}

function generateOnce(opts: CorrelatedGeneratorOptions, tight: number): AllocationInstance {
  const seed = opts.seed ?? 1;
  const rng = createRng(seed * 15_485_863 + opts.blocks * 389 + opts.centres * 13);
  const centres: CentreParams[] = [];
  for (let i = 0; i < opts.centres; i++) {
    const vmSpeed = Math.round(uniform(rng, 10, 120));
    centres.push({
      id: `k${i + 1}`,
      provider: PROVIDERS[i % PROVIDERS.length]!,
      location: `loc${i + 1}`,
      vmSpeed,
      // 0.004 $/h per MB/s, ±5 %: price tracks speed (the correlation)
      vmPrice: Math.round(vmSpeed * 0.004 * uniform(rng, 0.95, 1.05) * 10_000) / 10_000,
      uplinkPrice: Math.round(uniform(rng, 0, 0.03) * 1000) / 1000,
      vmCount: randInt(rng, 10, 60),
      vmBandwidth: Math.round(vmSpeed * uniform(rng, 2, 6)),
      vmStorage: 16_384,
      lat: Math.round(uniform(rng, 22, 42) * 100) / 100,
      lng: Math.round(uniform(rng, 100, 122) * 100) / 100,
    });
  }
  const blocks: BlockParams[] = [];
  for (let j = 0; j < opts.blocks; j++) {
    blocks.push({
      id: `b${j + 1}`, size: Math.round(uniform(rng, 80, 1500)), maxReplicas: 48,
      lat: Math.round(uniform(rng, 22, 42) * 100) / 100,
      lng: Math.round(uniform(rng, 100, 122) * 100) / 100,
    });
  }
  const inst: AllocationInstance = {
    name: `correlated-${opts.blocks}x${opts.centres}-s${seed}`,
    deadlineS: 4, rentalHours: 24, windowS: 60,
    latency: { baseMs: 50, msPerKm: 0.05 },
    centres, blocks,
  };
  // capacity: `tight` × the fewest VMs each block needs anywhere
  scaleVmCounts(inst, tight, 'fewest', (vms) => Math.max(2, Math.round(vms)));
  return inst;
}
