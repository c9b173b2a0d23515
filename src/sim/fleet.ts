// The fleet: N vehicles on the road network (roads.ts), each reporting once per interval of
// simulated time with GPS noise, plus a configurable share of bad traffic: duplicates,
// out-of-order (held back one interval), late (held back past the allowed lateness) and
// malformed or unroutable packets. Everything is drawn from one seeded PRNG, so a (seed,
// options) pair always yields the same packets in the same order.
//
// Time is virtual: tick() returns the packets whose event time falls in the next interval
// and moves the clock on by `intervalS`. Callers choose the pace — the embedded demo runs
// faster than real time so a short run covers several 60-s windows; `iov simulate` paces
// ticks against the wall clock (docs/embedded.md).
import { advance, position, spawn, speedOf, toLatLng, type Mover } from './roads.ts';
import { mulberry32, type Rng } from './rng.ts';

export interface Fractions {
  /** Share of packets sent twice (same vehicleId + seq/ts). */
  duplicate: number;
  /** Share held back one interval, so they arrive after the vehicle's next packet. */
  outOfOrder: number;
  /** Share held back `lateByS`, past any sensible allowed lateness. */
  late: number;
  /** Share replaced by a malformed or unroutable packet. */
  malformed: number;
}

export const DEFAULT_FRACTIONS: Fractions = { duplicate: 0.01, outOfOrder: 0.01, late: 0.002, malformed: 0.005 };

export interface FleetOptions {
  vehicles?: number;
  seed?: number;
  /** Reporting interval per vehicle, seconds of event time (default 5). */
  intervalS?: number;
  /** Event time of the first tick, epoch ms (default 2026-01-01T08:00:00Z, minute-aligned). */
  startMs?: number;
  fractions?: Partial<Fractions>;
  /** How far late packets are held back, seconds (default 300). */
  lateByS?: number;
  /** GPS noise, metres (1 sigma, default 5). */
  gpsNoiseM?: number;
  /** Share of vehicles that send no seq (dedup then falls back to ts; default 0.1). */
  noSeqShare?: number;
  /** Share of vehicles without a speed sensor (no speedKmh/heading; default 0.01). */
  noSpeedShare?: number;
  /** Vehicle id prefix (default 'veh'). */
  idPrefix?: string;
}

export type MalformedKind =
  | 'missingVehicleId' | 'badVehicleId' | 'latOutOfRange' | 'tsNotNumber' | 'speedOutOfRange'
  | 'headingOutOfRange' | 'notAnObject' | 'lngNotNumber' | 'outsideEverySegment' | 'extraNotString';

export interface FleetStats {
  ticks: number;
  /** Everything tick() returned, good and bad. */
  emitted: number;
  /** First copies of well-formed packets (what a gateway should accept, minus unroutable ones). */
  valid: number;
  duplicates: number;
  outOfOrder: number;
  late: number;
  malformed: number;
  malformedByKind: Partial<Record<MalformedKind, number>>;
  /** Vehicles whose latitude crossed 31.1 N or 31.3 N between two reports (segment edges). */
  boundaryCrossings: number;
  /** Packets held back, not yet emitted. */
  pending: number;
}

export interface SimPacket {
  vehicleId: string;
  seq?: number;
  ts: number;
  lat: number;
  lng: number;
  speedKmh?: number | null;
  heading?: number | null;
  extra?: Record<string, string>;
}

export interface Fleet {
  /** Packets for the next reporting interval (some malformed on purpose), in arrival order. */
  tick(): unknown[];
  /** Event time the next tick starts at, epoch ms. */
  now(): number;
  readonly stats: FleetStats;
  readonly options: Required<Omit<FleetOptions, 'fractions'>> & { fractions: Fractions };
}

interface Vehicle {
  id: string;
  mover: Mover;
  seq: number;
  hasSeq: boolean;
  hasSpeed: boolean;
  /** Offset of this vehicle's report within the interval, ms. */
  phaseMs: number;
  lastLat: number | undefined;
}

const BOUNDARIES = [31.1, 31.3];
const MALFORMED_KINDS: MalformedKind[] = [
  'missingVehicleId', 'badVehicleId', 'latOutOfRange', 'tsNotNumber', 'speedOutOfRange',
  'headingOutOfRange', 'notAnObject', 'lngNotNumber', 'outsideEverySegment', 'extraNotString',
];

function checkShare(name: string, v: number): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new RangeError(`options.${name} must be a number in [0, 1]`);
  return v;
}

function checkPositiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`options.${name} must be a positive integer`);
  return v;
}

export function createFleet(opts: FleetOptions = {}): Fleet {
  const fractions: Fractions = { ...DEFAULT_FRACTIONS, ...opts.fractions };
  for (const [k, v] of Object.entries(fractions)) checkShare(`fractions.${k}`, v);
  if (fractions.duplicate + fractions.outOfOrder + fractions.late + fractions.malformed > 1) {
    throw new RangeError('options.fractions must add up to at most 1');
  }
  const options = {
    vehicles: checkPositiveInt('vehicles', opts.vehicles ?? 10_000),
    seed: opts.seed ?? 1,
    intervalS: opts.intervalS ?? 5,
    startMs: opts.startMs ?? Date.UTC(2026, 0, 1, 8, 0, 0),
    lateByS: opts.lateByS ?? 300,
    gpsNoiseM: opts.gpsNoiseM ?? 5,
    noSeqShare: checkShare('noSeqShare', opts.noSeqShare ?? 0.1),
    noSpeedShare: checkShare('noSpeedShare', opts.noSpeedShare ?? 0.01),
    idPrefix: opts.idPrefix ?? 'veh',
    fractions,
  };
  if (!(options.intervalS > 0)) throw new RangeError('options.intervalS must be a positive number');
  if (!Number.isInteger(options.startMs)) throw new RangeError('options.startMs must be an integer (epoch ms)');
  if (!/^[A-Za-z0-9_.:-]{1,40}$/.test(options.idPrefix)) throw new RangeError('options.idPrefix must be 1-40 chars of [A-Za-z0-9_.:-]');

  const root = mulberry32(options.seed);
  const spawnRng = root.fork();
  const moveRng = root.fork();
  const noiseRng = root.fork();
  const badRng = root.fork();
  const intervalMs = Math.round(options.intervalS * 1000);
  const width = String(options.vehicles - 1).length;
  const vehicles: Vehicle[] = [];
  for (let i = 0; i < options.vehicles; i++) {
    vehicles.push({
      id: `${options.idPrefix}-${String(i).padStart(width, '0')}`,
      mover: spawn(spawnRng),
      seq: 0,
      hasSeq: !spawnRng.chance(options.noSeqShare),
      hasSpeed: !spawnRng.chance(options.noSpeedShare),
      phaseMs: Math.floor(spawnRng.next() * intervalMs),
      lastLat: undefined,
    });
  }
  // Reports arrive in event-time order within an interval: sort once by phase.
  const order = vehicles.slice().sort((a, b) => a.phaseMs - b.phaseMs || (a.id < b.id ? -1 : 1));

  const stats: FleetStats = {
    ticks: 0, emitted: 0, valid: 0, duplicates: 0, outOfOrder: 0, late: 0, malformed: 0, malformedByKind: {}, boundaryCrossings: 0, pending: 0,
  };
  let now = options.startMs;
  /** tick number -> packets released at the end of that tick. */
  const held = new Map<number, { p: SimPacket; kind: 'outOfOrder' | 'late' }[]>();
  const lateTicks = Math.max(1, Math.ceil((options.lateByS * 1000) / intervalMs));
  const noiseDeg = options.gpsNoiseM / 1000; // km

  const hold = (atTick: number, p: SimPacket, kind: 'outOfOrder' | 'late') => {
    let list = held.get(atTick);
    if (!list) held.set(atTick, (list = []));
    list.push({ p, kind });
    stats.pending++;
  };

  const malformed = (p: SimPacket, rng: Rng): unknown => {
    const kind = rng.pick(MALFORMED_KINDS);
    stats.malformed++;
    stats.malformedByKind[kind] = (stats.malformedByKind[kind] ?? 0) + 1;
    const { vehicleId: _omit, ...noId } = p;
    switch (kind) {
      case 'missingVehicleId': return noId;
      case 'badVehicleId': return { ...p, vehicleId: `${p.vehicleId} / bad id!` };
      case 'latOutOfRange': return { ...p, lat: 123.4 };
      case 'tsNotNumber': return { ...p, ts: 'yesterday' };
      case 'speedOutOfRange': return { ...p, speedKmh: 999 };
      case 'headingOutOfRange': return { ...p, heading: -5 };
      case 'notAnObject': return rng.chance(0.5) ? null : 'garbage';
      case 'lngNotNumber': return { ...p, lng: 'east' };
      case 'outsideEverySegment': return { ...p, lat: 39.9042, lng: 116.4074 }; // Beijing
      case 'extraNotString': return { ...p, extra: { fuel: 42 } };
    }
  };

  return {
    options,
    stats,
    now: () => now,
    tick(): unknown[] {
      const out: unknown[] = [];
      const tickNo = stats.ticks;
      const dups: SimPacket[] = [];
      for (const v of order) {
        const { x, y, heading } = position(v.mover);
        const trueSpeed = speedOf(v.mover);
        // Local streets have lights: now and then a vehicle stands still for an interval.
        const stopped = v.mover.road.kind === 'local' && moveRng.chance(0.08);
        const speed = stopped ? 0 : Math.max(0, trueSpeed + noiseRng.normal() * 2);
        const ll = toLatLng(x + noiseRng.normal() * noiseDeg, y + noiseRng.normal() * noiseDeg);
        const p: SimPacket = {
          vehicleId: v.id,
          ts: now + v.phaseMs,
          lat: Math.round(ll.lat * 1e6) / 1e6,
          lng: Math.round(ll.lng * 1e6) / 1e6,
        };
        if (v.hasSeq) p.seq = ++v.seq;
        if (v.hasSpeed) {
          p.speedKmh = Math.round(speed * 10) / 10;
          p.heading = Math.round(heading * 10) / 10 % 360;
        }
        if (noiseRng.chance(0.02)) p.extra = { ignition: 'on', fuelPct: String(noiseRng.int(5, 100)) };
        if (v.lastLat !== undefined) {
          for (const b of BOUNDARIES) if ((v.lastLat - b) * (p.lat - b) < 0) stats.boundaryCrossings++;
        }
        v.lastLat = p.lat;
        if (!stopped) advance(v.mover, trueSpeed, options.intervalS, moveRng);

        // One draw decides the fate of this report.
        const u = badRng.next();
        const f = fractions;
        if (u < f.malformed) {
          out.push(malformed(p, badRng));
        } else if (u < f.malformed + f.outOfOrder) {
          hold(tickNo + 1, p, 'outOfOrder');
        } else if (u < f.malformed + f.outOfOrder + f.late) {
          hold(tickNo + lateTicks, p, 'late');
        } else {
          out.push(p);
          stats.valid++;
          if (u < f.malformed + f.outOfOrder + f.late + f.duplicate) dups.push(p);
        }
      }
      // Held-back packets due now arrive after this interval's fresh ones (so after the
      // vehicle's newer report); duplicates arrive last, as retransmissions do.
      const due = held.get(tickNo);
      if (due) {
        held.delete(tickNo);
        for (const { p, kind } of due) {
          out.push(p);
          stats.valid++;
          stats[kind]++;
          stats.pending--;
        }
      }
      for (const p of dups) {
        out.push({ ...p });
        stats.duplicates++;
      }
      stats.ticks++;
      stats.emitted += out.length;
      now += intervalMs;
      return out;
    },
  };
}
