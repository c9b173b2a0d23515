// Demand file → allocation instance for a topology (docs/cabin.md §7).
//
//   windowS: 60            # traffic-flow window (a block = one window of a segment's data)
//   deadlineS: 5           # D
//   rentalHours: 24        # T
//   latency: { baseMs: 5, msPerKm: 0.01 }
//   defaults: { packetsPerS: 20000, packetBytes: 300 }
//   segments:
//     - { id: north, packetsPerS: 60000, packetBytes: 400, lat: 31.4, lng: 121.45 }
//
// S_j = packetsPerS × packetBytes × windowS / 10^6 MB. A segment's position defaults to the
// centroid of its cells; its replica cap is its topology maxReplicas.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { cellToLatLng } from 'h3-js';
import { parse as parseYaml } from 'yaml';
import type { Topology } from '../topology/index.ts';
import { CabinError } from './errors.ts';
import { DEFAULT_MIGRATION } from './migration.ts';
import type { AllocationInstance, CentreParams, LatencyModel, MigrationCost } from './types.ts';

export interface SegmentDemand { id: string; packetsPerS: number; packetBytes: number; lat?: number; lng?: number }
export interface Demand {
  windowS: number;
  deadlineS: number;
  rentalHours: number;
  latency: LatencyModel;
  defaults: { packetsPerS: number; packetBytes: number };
  segments: SegmentDemand[];
  /** the migration term's parameters (docs/cabin.md §2.2; default DEFAULT_MIGRATION) */
  migration?: MigrationCost;
}

export const DEFAULT_DEMAND: Demand = {
  windowS: 60, deadlineS: 5, rentalHours: 24,
  latency: { baseMs: 5, msPerKm: 0.01 },
  defaults: { packetsPerS: 20000, packetBytes: 300 },
  segments: [],
};

function bad(file: string, field: string, msg: string): never {
  throw new CabinError('CABIN_BAD_DEMAND', `${file}: ${field}: ${msg}`);
}

export function parseDemand(doc: unknown, file = 'demand'): Demand {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) bad(file, '(root)', 'must be an object');
  const d = doc as Record<string, unknown>;
  const posNum = (v: unknown, field: string, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) bad(file, field, `must be a number > 0, got ${JSON.stringify(v)}`);
    return v;
  };
  const lat = (d.latency ?? {}) as Record<string, unknown>;
  const def = (d.defaults ?? {}) as Record<string, unknown>;
  const out: Demand = {
    windowS: posNum(d.windowS, 'windowS', DEFAULT_DEMAND.windowS),
    deadlineS: posNum(d.deadlineS, 'deadlineS', DEFAULT_DEMAND.deadlineS),
    rentalHours: posNum(d.rentalHours, 'rentalHours', DEFAULT_DEMAND.rentalHours),
    latency: {
      baseMs: lat.baseMs === undefined ? DEFAULT_DEMAND.latency.baseMs : typeof lat.baseMs === 'number' && lat.baseMs >= 0 ? lat.baseMs : bad(file, 'latency.baseMs', 'must be a number ≥ 0'),
      msPerKm: lat.msPerKm === undefined ? DEFAULT_DEMAND.latency.msPerKm : typeof lat.msPerKm === 'number' && lat.msPerKm >= 0 ? lat.msPerKm : bad(file, 'latency.msPerKm', 'must be a number ≥ 0'),
    },
    defaults: {
      packetsPerS: posNum(def.packetsPerS, 'defaults.packetsPerS', DEFAULT_DEMAND.defaults.packetsPerS),
      packetBytes: posNum(def.packetBytes, 'defaults.packetBytes', DEFAULT_DEMAND.defaults.packetBytes),
    },
    segments: [],
  };
  if (d.migration !== undefined) {
    const mig = d.migration as Record<string, unknown>;
    const nonneg = (v: unknown, field: string, dflt: number): number => {
      if (v === undefined) return dflt;
      if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) bad(file, field, `must be a number ≥ 0, got ${JSON.stringify(v)}`);
      return v;
    };
    if (typeof mig !== 'object' || mig === null || Array.isArray(mig)) bad(file, 'migration', 'must be an object');
    out.migration = { fixedCost: nonneg(mig.fixedCost, 'migration.fixedCost', DEFAULT_MIGRATION.fixedCost), stateWindows: nonneg(mig.stateWindows, 'migration.stateWindows', DEFAULT_MIGRATION.stateWindows) };
  }
  const segs = d.segments ?? [];
  if (!Array.isArray(segs)) bad(file, 'segments', 'must be a list');
  segs.forEach((s: unknown, k: number) => {
    const f = `segments[${k}]`;
    if (typeof s !== 'object' || s === null) bad(file, f, 'must be an object');
    const o = s as Record<string, unknown>;
    if (typeof o.id !== 'string' || !o.id) bad(file, `${f}.id`, 'must be a segment id');
    const sd: SegmentDemand = {
      id: o.id,
      packetsPerS: posNum(o.packetsPerS, `${f}.packetsPerS`, out.defaults.packetsPerS),
      packetBytes: posNum(o.packetBytes, `${f}.packetBytes`, out.defaults.packetBytes),
    };
    if (o.lat !== undefined) { if (typeof o.lat !== 'number' || Math.abs(o.lat) > 90) bad(file, `${f}.lat`, 'must be a latitude'); sd.lat = o.lat; }
    if (o.lng !== undefined) { if (typeof o.lng !== 'number' || Math.abs(o.lng) > 180) bad(file, `${f}.lng`, 'must be a longitude'); sd.lng = o.lng; }
    out.segments.push(sd);
  });
  return out;
}

export function loadDemand(file: string): Demand {
  let doc: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    doc = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new CabinError('CABIN_BAD_DEMAND', `${file}: cannot read: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseDemand(doc, file);
}

/** Block size in MB for one window. */
export function blockSizeMB(packetsPerS: number, packetBytes: number, windowS: number): number {
  return (packetsPerS * packetBytes * windowS) / 1e6;
}

export function instanceFromTopology(topology: Pick<Topology, 'name' | 'segments'>, demand: Demand, centres: CentreParams[]): AllocationInstance {
  const known = new Set(topology.segments.map((s) => s.id));
  for (const s of demand.segments) if (!known.has(s.id)) throw new CabinError('CABIN_BAD_DEMAND', `demand: segments: unknown segment ${s.id} (topology has ${[...known].join(', ')})`);
  const blocks = topology.segments.map((seg) => {
    const sd = demand.segments.find((s) => s.id === seg.id);
    let lat = sd?.lat, lng = sd?.lng;
    if (lat === undefined || lng === undefined) {
      let sl = 0, sg = 0;
      for (const c of seg.cells) { const [a, b] = cellToLatLng(c); sl += a; sg += b; }
      const k = Math.max(1, seg.cells.length);
      lat ??= sl / k; lng ??= sg / k;
    }
    return {
      id: seg.id,
      size: blockSizeMB(sd?.packetsPerS ?? demand.defaults.packetsPerS, sd?.packetBytes ?? demand.defaults.packetBytes, demand.windowS),
      maxReplicas: seg.maxReplicas,
      lat, lng,
    };
  });
  return {
    name: topology.name, deadlineS: demand.deadlineS, rentalHours: demand.rentalHours, windowS: demand.windowS,
    latency: demand.latency, centres, blocks, ...(demand.migration ? { migration: demand.migration } : {}),
  };
}
