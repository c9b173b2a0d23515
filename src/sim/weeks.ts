// Simulated weeks of traffic for forecasting (issue #20, docs/forecast.md §1): per H3 cell on
// the simulator's road network, a 5-minute series of mean speed and flow with
//   - a daily and weekly rhythm per road (morning and evening rush on weekdays, a late broad
//     hump on Saturdays, a quieter Sunday with an evening return), peak times and heights
//     drawn per road, and a day-to-day demand level per road;
//   - weather-like slow drifts: rain fields (one per quadrant plus a city-wide one, each an
//     Ornstein–Uhlenbeck process of ~hours) that lower free speed and capacity;
//   - incidents that cut a cell's capacity and spread to the cells around it (H3 grid
//     distance 1, 2, 3) over the next windows, weaker with distance, then clear;
//   - short-lived local disturbances (AR(1) per cell) and sampling noise that shrinks with
//     the number of vehicles.
// Speed follows demand through the BPR link-performance curve v = v_free / (1 + a·x^b).
// It is a macroscopic model: no vehicles are moved, so weeks of every road cell of Shanghai
// take seconds. The rows go straight into each segment's store (`writeWeeks`): there is no
// ingest path to exercise here, and weeks of packets would be millions of HTTP posts.
import { cellToLatLng, gridDisk, gridDistance, latLngToCell } from 'h3-js';
import type { Panel } from '../forecast/index.ts';
import type { Store } from '../store/index.ts';
import { cellToDecimal, createSegmentLookup, type Topology } from '../topology/index.ts';
import { mulberry32, type Rng } from './rng.ts';
import { CENTRE, DISTRICTS, RADIALS, RINGS, congestion, toLatLng } from './roads.ts';

export const STEP_S = 300;
export const STEPS_PER_DAY = 86400 / STEP_S;
/** Monday 2 Nov 2026, 00:00 in Shanghai (UTC+8): the default first window. */
export const DEFAULT_START_S = Date.UTC(2026, 10, 2) / 1000 - 8 * 3600;
export const SHANGHAI_UTC_OFFSET_S = 8 * 3600;

/** The knobs of one generator; presets below. */
export interface WeeksProfile {
  /** Incidents per road cell per day. */
  incidentRate: number;
  /** Strength of rain (share of free speed lost at one standard deviation of rain). */
  rainStrength: number;
  /** Day-to-day demand level per road: standard deviation of the daily factor. */
  dailySpread: number;
  /** Local disturbance: AR(1) coefficient per 5 min and its standard deviation (share of speed). */
  disturbancePhi: number;
  disturbanceSd: number;
  /** Speed spread across vehicles (km/h), turned into sampling noise by 1/sqrt(vehicles). */
  vehicleSpreadKmh: number;
  /** Scales every road's capacity (vehicles per 5 min through a cell). */
  demandScale: number;
}

export const PROFILES: Record<string, WeeksProfile> = {
  shanghai: { incidentRate: 0.02, rainStrength: 0.12, dailySpread: 0.08, disturbancePhi: 0.85, disturbanceSd: 0.04, vehicleSpreadKmh: 12, demandScale: 1 },
  // More weather and incidents, fewer vehicles (noisier means): a harder, less regular city.
  stormy: { incidentRate: 0.05, rainStrength: 0.2, dailySpread: 0.12, disturbancePhi: 0.7, disturbanceSd: 0.06, vehicleSpreadKmh: 16, demandScale: 0.5 },
  // Regular traffic: the rhythm explains most of it, little weather, rare incidents.
  calm: { incidentRate: 0.005, rainStrength: 0.05, dailySpread: 0.04, disturbancePhi: 0.9, disturbanceSd: 0.02, vehicleSpreadKmh: 10, demandScale: 1.5 },
};

export interface WeeksOptions {
  topology: Topology;
  seed: number;
  days: number;
  /** Epoch seconds of the first window; taken as Monday 00:00 local time. */
  startS?: number;
  profile?: WeeksProfile;
  /** Distance between sample points along roads, km (small enough to visit every cell). */
  sampleKm?: number;
  /** Street grids: keep every n-th block line (main streets only; 3 = every 1.2 km). */
  streetEvery?: number;
}

export interface RoadCell {
  /** H3 index (hex) at the topology's resolution. */
  cell: string;
  segment: string;
  road: string;
  freeKmh: number;
  /** Vehicles per 5 minutes at capacity. */
  capacity: number;
}

/** The road cells and their series as a forecasting panel (panel.cells[i] = roads[i].cell). */
export interface TrafficWeeks {
  roads: RoadCell[];
  /** Time-mean speed (km/h) and distinct vehicles per 5-minute window, cell-major. */
  panel: Panel;
}

interface RoadShape {
  am: number; pm: number; amHeight: number; pmHeight: number; night: number; midday: number; weekendHeight: number;
}

/** Every road cell of the network inside the topology's segments, with its road's attributes. */
export function roadCells(topology: Topology, sampleKm = 0.05, streetEvery = 3): RoadCell[] {
  const lookup = createSegmentLookup(topology);
  const res = topology.h3.resolution;
  const rng = mulberry32(0x5eed);
  const byCell = new Map<string, RoadCell>();
  const add = (road: string, base: number, capacity: number, grade: boolean, x: number, y: number): void => {
    const { lat, lng } = toLatLng(x, y);
    const cell = latLngToCell(lat, lng, res);
    if (byCell.has(cell)) return;
    const segment = lookup.segmentOfCell(cell);
    if (segment === undefined) return;
    const c = congestion(x, y);
    byCell.set(cell, { cell, segment, road, freeKmh: base * (grade ? 0.3 + 0.7 * c : c), capacity });
  };
  RINGS.forEach((ring, i) => {
    const cap = 380 * rng.range(0.8, 1.2);
    for (let a = 0; a < 2 * Math.PI; a += sampleKm / ring.radiusKm) add(`ring-${i}`, ring.speedKmh, cap, true, ring.radiusKm * Math.sin(a), ring.radiusKm * Math.cos(a));
  });
  RADIALS.forEach((radial, i) => {
    const cap = 300 * rng.range(0.8, 1.2);
    const b = (radial.bearing * Math.PI) / 180;
    for (let d = 0.3; d <= radial.lengthKm; d += sampleKm) add(`radial-${i}`, 75, cap, false, d * Math.sin(b), d * Math.cos(b));
  });
  const block = 0.4 * streetEvery;
  DISTRICTS.forEach((district, i) => {
    const cap = 90 * rng.range(0.8, 1.2);
    const n = Math.floor(district.halfKm / block);
    for (let k = -n; k <= n; k++) {
      for (let s = -district.halfKm; s <= district.halfKm; s += sampleKm) {
        add(`street-${i}`, 35, cap, false, district.x + k * block, district.y + s);
        add(`street-${i}`, 35, cap, false, district.x + s, district.y + k * block);
      }
    }
  });
  return [...byCell.values()];
}

/** Demand relative to capacity at local time-of-day `hour` (0–24) on day `dow` (0 = Monday). */
function rhythm(shape: RoadShape, dow: number, hour: number): number {
  const bump = (centre: number, width: number) => Math.exp(-0.5 * ((hour - centre) / width) ** 2);
  const day = bump(13, 4.5); // the daytime plateau
  if (dow < 5) {
    const friday = dow === 4 ? 1.08 : 1;
    return shape.night + shape.midday * day + friday * (shape.amHeight * bump(shape.am, 0.9) + shape.pmHeight * bump(shape.pm, 1.2));
  }
  if (dow === 5) return shape.night + shape.weekendHeight * bump(14.5, 3.5) + 0.15 * bump(20.5, 1.5);
  return shape.night + 0.8 * shape.weekendHeight * bump(13.5, 3.5) + 0.3 * bump(18.5, 1.3);
}

/** An Ornstein–Uhlenbeck path sampled every step: mean 0, sd 1, correlation time `tauSteps`. */
function ouPath(rng: Rng, steps: number, tauSteps: number): Float32Array {
  const out = new Float32Array(steps);
  const phi = Math.exp(-1 / tauSteps);
  const sd = Math.sqrt(1 - phi * phi);
  let z = rng.normal();
  for (let t = 0; t < steps; t++) {
    z = phi * z + sd * rng.normal();
    out[t] = z;
  }
  return out;
}

/** Multiplies `factor` by each incident's slowdown, spread over the cells around it. */
function applyIncidents(cells: RoadCell[], steps: number, profile: WeeksProfile, rng: Rng, factor: Float32Array): void {
  const index = new Map(cells.map((c, i) => [c.cell, i]));
  const count = Math.round(profile.incidentRate * cells.length * (steps / STEPS_PER_DAY));
  for (let k = 0; k < count; k++) {
    const origin = rng.int(0, cells.length - 1);
    const start = rng.int(0, steps - 1);
    const duration = rng.int(6, 24); // 30 minutes to 2 hours
    const severity = rng.range(0.3, 0.7);
    for (const near of gridDisk(cells[origin]!.cell, 3)) {
      const c = index.get(near);
      if (c === undefined) continue;
      const dist = gridDistance(cells[origin]!.cell, near);
      // The queue reaches cells further away later, and hurts them less.
      const begin = start + dist * rng.int(1, 2);
      const sev = severity * 0.55 ** dist;
      const end = Math.min(steps, begin + duration + 3);
      for (let t = begin; t < end; t++) {
        const ramp = t < begin + 2 ? (t - begin + 1) / 2 : t >= begin + duration ? (end - t) / 4 : 1;
        factor[c * steps + t]! *= 1 - sev * ramp;
      }
    }
  }
}

/** The whole generator: cells, then per-road shapes, fields, incidents, and every window. */
export function simulateWeeks(opts: WeeksOptions): TrafficWeeks {
  if (!Number.isInteger(opts.days) || opts.days < 1) throw new RangeError('options.days must be a positive integer');
  const profile = opts.profile ?? PROFILES.shanghai!;
  const rng = mulberry32(opts.seed);
  const cells = roadCells(opts.topology, opts.sampleKm, opts.streetEvery);
  const steps = opts.days * STEPS_PER_DAY;
  const startS = opts.startS ?? DEFAULT_START_S;

  const roads = [...new Set(cells.map((c) => c.road))];
  const shapes = new Map<string, RoadShape>();
  const daily = new Map<string, Float32Array>();
  for (const road of roads) {
    shapes.set(road, {
      am: rng.range(7.4, 8.6), pm: rng.range(17.3, 18.8), amHeight: rng.range(0.45, 0.85), pmHeight: rng.range(0.4, 0.8),
      night: rng.range(0.04, 0.1), midday: rng.range(0.35, 0.55), weekendHeight: rng.range(0.45, 0.75),
    });
    daily.set(road, Float32Array.from({ length: opts.days }, () => 1 + profile.dailySpread * rng.normal()));
  }
  // Rain: a city-wide field and one per quadrant, correlated over ~4 hours; only positive
  // values are rain.
  const cityRain = ouPath(rng, steps, 48);
  const quadrantRain = [0, 1, 2, 3].map(() => ouPath(rng, steps, 36));
  const incident = new Float32Array(cells.length * steps).fill(1);
  applyIncidents(cells, steps, profile, rng.fork(), incident);

  const speed = new Float32Array(cells.length * steps);
  const flow = new Float32Array(cells.length * steps);
  const noise = rng.fork();
  const rhythms = new Map<string, Float32Array>();
  for (const [road, shape] of shapes) {
    rhythms.set(road, Float32Array.from({ length: 7 * STEPS_PER_DAY }, (_, s) => rhythm(shape, Math.floor(s / STEPS_PER_DAY), ((s % STEPS_PER_DAY) * STEP_S) / 3600)));
  }
  cells.forEach((cell, c) => {
    const rhythmTable = rhythms.get(cell.road)!;
    const quadrant = quadrantOf(cell.cell);
    const days = daily.get(cell.road)!;
    const capacity = cell.capacity * profile.demandScale * (1 + 0.1 * noise.normal());
    let disturbance = 0;
    for (let t = 0; t < steps; t++) {
      const rain = Math.max(0, 0.6 * cityRain[t]! + 0.6 * quadrantRain[quadrant]![t]! - 0.3);
      const demand = rhythmTable[t % rhythmTable.length]! * days[Math.floor(t / STEPS_PER_DAY)]! * (1 + 0.05 * rain);
      const inc = incident[c * steps + t]!;
      const load = demand / Math.max(0.2, 1 - 0.5 * (1 - inc)); // an incident takes capacity away
      disturbance = profile.disturbancePhi * disturbance + profile.disturbanceSd * noise.normal();
      const free = cell.freeKmh * (1 - profile.rainStrength * rain) * inc;
      const mean = (free / (1 + 0.6 * load ** 4)) * (1 + disturbance);
      const vehicles = Math.max(0, Math.round(capacity * Math.min(demand, 1.15) * inc ** 0.5 + Math.sqrt(capacity * demand + 1) * noise.normal()));
      const v = mean + (profile.vehicleSpreadKmh / Math.sqrt(Math.max(1, vehicles))) * noise.normal();
      speed[c * steps + t] = Math.max(2, v);
      flow[c * steps + t] = vehicles;
    }
  });
  return { roads: cells, panel: { cells: cells.map((c) => c.cell), startS, stepS: STEP_S, steps, utcOffsetS: SHANGHAI_UTC_OFFSET_S, speed, flow } };
}

/** Which quadrant around the network's centre a cell lies in (NE 0, NW 1, SE 2, SW 3). */
function quadrantOf(cell: string): number {
  const [lat, lng] = cellToLatLng(cell);
  return (lat >= CENTRE.lat ? 0 : 2) + (lng >= CENTRE.lng ? 0 : 1);
}

/**
 * traffic_flow rows (DESIGN.md §2b) for steps [from, to) of one segment: one 5-minute window
 * per cell that saw vehicles. Each vehicle reports once a minute, so packets = 5 × vehicles;
 * speed_count counts packets; the harmonic mean is taken 3 % below the arithmetic one.
 */
export function trafficFlowRows(w: TrafficWeeks, segment: string, from = 0, to = w.panel.steps): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const p = w.panel;
  w.roads.forEach((cell, c) => {
    if (cell.segment !== segment) return;
    const id = cellToDecimal(cell.cell);
    for (let t = from; t < to; t++) {
      const vehicles = p.flow[c * p.steps + t]!;
      if (vehicles === 0) continue;
      const v = p.speed[c * p.steps + t]!;
      const packets = vehicles * 5;
      rows.push({
        window_start: p.startS + t * p.stepS, window_s: p.stepS, segment, cell: id, vehicles, packets,
        speed_sum: v * packets, speed_count: packets, inv_speed_sum: packets / (0.97 * v), min_speed: 0.6 * v, max_speed: 1.3 * v, part: 0,
      });
    }
  });
  return rows;
}

/** Writes steps [from, to) into each segment's store (the store of the segment's cloud). */
export async function writeWeeks(w: TrafficWeeks, topology: Topology, stores: ReadonlyMap<string, Store>, from = 0, to = w.panel.steps, chunkSteps = STEPS_PER_DAY): Promise<number> {
  let written = 0;
  for (const segment of topology.segments) {
    const store = stores.get(segment.cloud);
    if (!store) throw new Error(`no store for cloud ${segment.cloud} (segment ${segment.id})`);
    for (let t = from; t < to; t += chunkSteps) {
      const rows = trafficFlowRows(w, segment.id, t, Math.min(to, t + chunkSteps));
      if (rows.length > 0) await store.insert('traffic_flow', rows);
      written += rows.length;
    }
  }
  return written;
}
