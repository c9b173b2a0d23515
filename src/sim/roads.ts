// A road-like network over Shanghai: three ring roads around the centre (People's Square),
// eight radial expressways, and local street grids. Positions are computed on a local
// flat-earth projection around the centre (km east/north), which is accurate to metres over
// the ~50 km the network spans. The segment boundaries of the example topology (31.1 N and
// 31.3 N) cut across the middle and outer rings and the north/south radials, so vehicles
// cross segments all the time.
import type { Rng } from './rng.ts';

export const CENTRE = { lat: 31.2304, lng: 121.4737 };
const KM_PER_DEG_LAT = 110.574;
const KM_PER_DEG_LNG = 111.32 * Math.cos((CENTRE.lat * Math.PI) / 180);

export function toLatLng(xKm: number, yKm: number): { lat: number; lng: number } {
  return { lat: CENTRE.lat + yKm / KM_PER_DEG_LAT, lng: CENTRE.lng + xKm / KM_PER_DEG_LNG };
}

/** Ring roads: radius (km) and free-flow speed (km/h). Inner ~ Shanghai's Inner Ring, etc. */
export const RINGS = [
  { name: 'inner', radiusKm: 5, speedKmh: 55 },
  { name: 'middle', radiusKm: 10, speedKmh: 70 },
  { name: 'outer', radiusKm: 17, speedKmh: 85 },
] as const;
/** Radial expressways (bearing in degrees from north) reaching out to `lengthKm`. */
export const RADIALS = [0, 45, 90, 135, 180, 225, 270, 315].map((bearing) => ({ bearing, lengthKm: 24 }));
/** Local street grids around these centres (km offsets), each `halfKm` wide, block `blockKm`. */
export const DISTRICTS = [
  { x: 0, y: 0, halfKm: 4 },
  { x: -6, y: 12, halfKm: 3 },
  { x: 7, y: -13, halfKm: 3 },
  { x: 12, y: 5, halfKm: 3 },
  { x: -12, y: -6, halfKm: 3 },
  { x: 2, y: 19, halfKm: 2.5 },
  { x: -3, y: -19, halfKm: 2.5 },
];
const BLOCK_KM = 0.4;

/** Congestion: speeds drop towards the centre (factor 0.45 at the centre, 1 beyond 14 km). */
export function congestion(xKm: number, yKm: number): number {
  const d = Math.hypot(xKm, yKm);
  return 0.45 + 0.55 * Math.min(1, d / 14);
}

export type Road =
  | { kind: 'ring'; ring: number; angle: number; dir: 1 | -1 }
  | { kind: 'radial'; radial: number; distKm: number; dir: 1 | -1 }
  | { kind: 'local'; district: number; x: number; y: number; heading: 0 | 90 | 180 | 270; toTurnKm: number };

export interface Mover {
  road: Road;
  /** This driver's speed relative to free flow (0.8–1.15). */
  temper: number;
}

export function spawn(rng: Rng): Mover {
  const temper = rng.range(0.8, 1.15);
  const u = rng.next();
  if (u < 0.4) return { temper, road: { kind: 'ring', ring: rng.int(0, RINGS.length - 1), angle: rng.range(0, 2 * Math.PI), dir: rng.chance(0.5) ? 1 : -1 } };
  if (u < 0.7) return { temper, road: { kind: 'radial', radial: rng.int(0, RADIALS.length - 1), distKm: rng.range(0, RADIALS[0]!.lengthKm), dir: rng.chance(0.5) ? 1 : -1 } };
  const district = rng.int(0, DISTRICTS.length - 1);
  const d = DISTRICTS[district]!;
  const snap = (v: number) => Math.round(v / BLOCK_KM) * BLOCK_KM;
  return {
    temper,
    road: { kind: 'local', district, x: snap(d.x + rng.range(-d.halfKm, d.halfKm)), y: snap(d.y + rng.range(-d.halfKm, d.halfKm)), heading: rng.pick([0, 90, 180, 270] as const), toTurnKm: BLOCK_KM },
  };
}

/** Position (km) and heading (degrees from north) of a mover. */
export function position(m: Mover): { x: number; y: number; heading: number } {
  const r = m.road;
  switch (r.kind) {
    case 'ring': {
      const rad = RINGS[r.ring]!.radiusKm;
      const x = rad * Math.sin(r.angle);
      const y = rad * Math.cos(r.angle);
      // Tangent direction: clockwise (dir 1) when seen from above with angle measured from north.
      const heading = ((((r.angle * 180) / Math.PI + (r.dir === 1 ? 90 : 270)) % 360) + 360) % 360;
      return { x, y, heading };
    }
    case 'radial': {
      const b = (RADIALS[r.radial]!.bearing * Math.PI) / 180;
      return { x: r.distKm * Math.sin(b), y: r.distKm * Math.cos(b), heading: r.dir === 1 ? RADIALS[r.radial]!.bearing : (RADIALS[r.radial]!.bearing + 180) % 360 };
    }
    case 'local':
      return { x: r.x, y: r.y, heading: r.heading };
  }
}

/** Free-flow speed at the mover's place, km/h, before noise. */
export function speedOf(m: Mover): number {
  const { x, y } = position(m);
  const r = m.road;
  const base = r.kind === 'ring' ? RINGS[r.ring]!.speedKmh : r.kind === 'radial' ? 75 : 35;
  // Rings are grade-separated: congestion bites less there.
  const c = congestion(x, y);
  return base * m.temper * (r.kind === 'ring' ? 0.3 + 0.7 * c : c);
}

/** Advance a mover by `dtS` seconds at `speedKmh`. */
export function advance(m: Mover, speedKmh: number, dtS: number, rng: Rng): void {
  let km = (speedKmh * dtS) / 3600;
  const r = m.road;
  switch (r.kind) {
    case 'ring': {
      r.angle += (r.dir * km) / RINGS[r.ring]!.radiusKm;
      return;
    }
    case 'radial': {
      const len = RADIALS[r.radial]!.lengthKm;
      r.distKm += r.dir * km;
      // At either end turn around (the centre end continues on the opposite radial).
      if (r.distKm > len) {
        r.distKm = 2 * len - r.distKm;
        r.dir = -1;
      } else if (r.distKm < 0) {
        r.distKm = -r.distKm;
        r.radial = (r.radial + RADIALS.length / 2) % RADIALS.length;
        r.dir = 1;
      }
      return;
    }
    case 'local': {
      const d = DISTRICTS[r.district]!;
      while (km > 0) {
        const step = Math.min(km, r.toTurnKm);
        const rad = (r.heading * Math.PI) / 180;
        r.x += step * Math.round(Math.sin(rad));
        r.y += step * Math.round(Math.cos(rad));
        km -= step;
        r.toTurnKm -= step;
        if (r.toTurnKm <= 1e-9) {
          r.toTurnKm = BLOCK_KM;
          // At a junction: usually straight on, sometimes turn; always turn back inside the district.
          const outside = Math.abs(r.x - d.x) >= d.halfKm || Math.abs(r.y - d.y) >= d.halfKm;
          if (outside) {
            const back = Math.abs(r.x - d.x) >= d.halfKm ? (r.x > d.x ? 270 : 90) : r.y > d.y ? 180 : 0;
            r.heading = back;
          } else if (rng.chance(0.35)) {
            r.heading = (((r.heading + (rng.chance(0.5) ? 90 : 270)) % 360) as 0 | 90 | 180 | 270);
          }
        }
      }
      return;
    }
  }
}
