// A second instance generator, after the paper's model (Table 3) but with distributions of
// its own (docs/cabin.md §6.1): centres are VM families of a few providers in real cities,
// so many centres share a location, a price list and a VM type; block sizes are log-normal
// (heavy-tailed); VM counts and uplink prices come from short lists. Costs are the model's:
// price × VMs × rental time and uplink price × size; latency from great-circle distance.
// Seeded and deterministic; independent of generator.ts's choices on purpose (issue 19).
import { raiseUntilFeasible, scaleVmCounts } from './generator.ts';
import { createRng, randInt, uniform, type Rng } from '../rng.ts';
import type { AllocationInstance, BlockParams, CentreParams } from '../types.ts';

/** Cities (lat, lng, relative vehicle population) where centres and segments are placed. */
const CITIES: ReadonlyArray<readonly [string, number, number, number]> = [
  ['beijing', 39.9, 116.4, 10], ['shanghai', 31.23, 121.47, 10], ['guangzhou', 23.13, 113.26, 7],
  ['shenzhen', 22.54, 114.06, 7], ['hangzhou', 30.27, 120.15, 5], ['chengdu', 30.57, 104.07, 6],
  ['wuhan', 30.59, 114.31, 5], ['xian', 34.34, 108.94, 4], ['nanjing', 32.06, 118.8, 4],
  ['chongqing', 29.56, 106.55, 5], ['tianjin', 39.34, 117.36, 4], ['qingdao', 36.07, 120.38, 3],
  ['shenyang', 41.8, 123.43, 3], ['kunming', 25.04, 102.71, 2], ['zhangjiakou', 40.82, 114.88, 1],
  ['ulanqab', 41.03, 113.13, 1], ['guiyang', 26.65, 106.63, 2], ['hohhot', 40.84, 111.75, 1],
];
/** Providers: price of one vCPU-hour, and the uplink prices ($/GB) their regions charge. */
const PROVIDERS: ReadonlyArray<{ name: string; vcpuHour: number; uplink: readonly number[] }> = [
  { name: 'aliyun', vcpuHour: 0.045, uplink: [0, 0.02, 0.05] },
  { name: 'tencent', vcpuHour: 0.04, uplink: [0, 0.03, 0.06] },
  { name: 'huawei', vcpuHour: 0.05, uplink: [0, 0.01, 0.04] },
  { name: 'ctyun', vcpuHour: 0.035, uplink: [0.02, 0.05, 0.08] },
];
/** VM families: vCPUs → MB/s processed, MB/s of network, MB of storage. */
const FAMILIES: ReadonlyArray<readonly [number, number, number, number]> = [
  [2, 12, 60, 8192], [4, 25, 120, 16384], [8, 50, 250, 32768], [16, 100, 500, 65536],
];
const VM_COUNTS = [8, 16, 24, 32, 48, 64];

export interface PaperGeneratorOptions {
  blocks: number;
  centres: number;
  seed?: number;
  /** total VMs ≈ tightness × the VMs the blocks need at their cheapest centres (default 1.3) */
  tightness?: number;
}

function pick<T>(rng: Rng, xs: readonly T[]): T { return xs[randInt(rng, 0, xs.length - 1)]!; }

function weightedCity(rng: Rng): readonly [string, number, number, number] {
  const total = CITIES.reduce((s, c) => s + c[3], 0);
  let r = rng() * total;
  for (const c of CITIES) { r -= c[3]; if (r <= 0) return c; }
  return CITIES[CITIES.length - 1]!;
}

/** Standard normal by Box–Muller. */
function normal(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

export function generatePaperInstance(opts: PaperGeneratorOptions): AllocationInstance {
  return raiseUntilFeasible((tight) => generateOnce(opts, tight), opts.tightness ?? 1.3, 0.1, 10);
}

function generateOnce(opts: PaperGeneratorOptions, tight: number): AllocationInstance {
  const seed = opts.seed ?? 1;
  const rng = createRng(seed * 104_729 + opts.blocks * 613 + opts.centres * 7);
  const centres: CentreParams[] = [];
  for (let i = 0; i < opts.centres; i++) {
    const p = PROVIDERS[i % PROVIDERS.length]!;
    const city = CITIES[randInt(rng, 0, CITIES.length - 1)]!;
    const [vcpu, speed, bw, storage] = pick(rng, FAMILIES);
    // regional price factor: log-normal, σ 0.1 (same family, different region)
    const factor = Math.exp(0.1 * normal(rng));
    centres.push({
      id: `${p.name}-${city[0]}-${i + 1}`,
      provider: p.name,
      location: city[0],
      vmSpeed: speed,
      vmPrice: Math.round(p.vcpuHour * vcpu * factor * 1000) / 1000,
      uplinkPrice: pick(rng, p.uplink),
      vmCount: pick(rng, VM_COUNTS),
      vmBandwidth: bw,
      vmStorage: storage,
      lat: city[1], lng: city[2],
    });
  }
  const blocks: BlockParams[] = [];
  for (let j = 0; j < opts.blocks; j++) {
    const city = weightedCity(rng);
    // segment size per 60 s window: log-normal, median 300 MB, σ 0.8, within 10–6 000 MB
    const size = Math.round(Math.min(6000, Math.max(10, 300 * Math.exp(0.8 * normal(rng)))));
    blocks.push({
      id: `s${j + 1}`, size, maxReplicas: 32,
      lat: Math.round((city[1] + uniform(rng, -0.5, 0.5)) * 100) / 100,
      lng: Math.round((city[2] + uniform(rng, -0.5, 0.5)) * 100) / 100,
    });
  }
  const inst: AllocationInstance = {
    name: `paper-${opts.blocks}x${opts.centres}-s${seed}`,
    deadlineS: 8, rentalHours: 24, windowS: 60,
    latency: { baseMs: 20, msPerKm: 0.02 },
    centres, blocks,
  };
  // VM counts scaled so the total is `tight` × the VMs each block needs at its cheapest
  // centre, in steps of 4 (the lists above stay visible in the result).
  scaleVmCounts(inst, tight, 'cheapest', (vms) => Math.max(4, Math.round(vms / 4) * 4));
  return inst;
}
