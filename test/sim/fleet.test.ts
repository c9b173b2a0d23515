import { describe, expect, it } from 'vitest';
import { createFleet, mulberry32, type SimPacket } from '../../src/sim/index.ts';
import { createSegmentLookup, loadTopology } from '../../src/topology/index.ts';

const topo = loadTopology(new URL('../../infra/topology/shanghai.yaml', import.meta.url).pathname);
const lookup = createSegmentLookup(topo);
const isPacket = (p: unknown): p is SimPacket =>
  typeof p === 'object' && p !== null && typeof (p as SimPacket).vehicleId === 'string' && /^[A-Za-z0-9_.:-]+$/.test((p as SimPacket).vehicleId) &&
  typeof (p as SimPacket).lat === 'number' && typeof (p as SimPacket).lng === 'number' && typeof (p as SimPacket).ts === 'number';

describe('mulberry32', () => {
  it('is deterministic per seed and roughly uniform', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    expect(mulberry32(43).next()).not.toBe(xs[0]);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

describe('fleet simulator', () => {
  it('is reproducible: same seed and options, same packets', () => {
    const run = (seed: number) => {
      const f = createFleet({ vehicles: 300, seed, fractions: { late: 0.01 }, lateByS: 20 });
      return Array.from({ length: 12 }, () => f.tick());
    };
    expect(JSON.stringify(run(5))).toBe(JSON.stringify(run(5)));
    expect(JSON.stringify(run(6))).not.toBe(JSON.stringify(run(5)));
  });

  it('emits bad traffic within tolerance of the configured fractions', () => {
    const fractions = { duplicate: 0.02, outOfOrder: 0.03, late: 0.01, malformed: 0.04 };
    const f = createFleet({ vehicles: 2000, seed: 11, fractions, lateByS: 10 });
    const reports = 2000 * 20;
    const out: unknown[] = [];
    for (let i = 0; i < 20; i++) out.push(...f.tick());
    const s = f.stats;
    // Held-back packets still pending at the end are not emitted yet: count decisions as emitted + pending.
    const tol = (x: number, want: number) => expect(Math.abs(x / reports - want)).toBeLessThan(want * 0.15);
    tol(s.malformed, fractions.malformed);
    tol(s.outOfOrder + (s.pending * fractions.outOfOrder) / (fractions.outOfOrder + fractions.late), fractions.outOfOrder);
    tol(s.duplicates, fractions.duplicate);
    expect(s.late).toBeGreaterThan(0);
    expect(out).toHaveLength(s.emitted);
    // Exactly `malformed` items fail the basic shape check or are out of the area/range.
    const malformed = out.filter((p) => !isPacket(p) || Math.abs(p.lat) > 90 || (p.speedKmh ?? 0) > 400 || (p.heading ?? 0) < 0 ||
      (p.extra && Object.values(p.extra).some((v) => typeof v !== 'string')) || lookup.route(p.lat, p.lng).segment === undefined);
    expect(malformed).toHaveLength(s.malformed);
    // Duplicates are exact copies (same vehicle and seq/ts) of a packet sent before in the run.
    const seen = new Set<string>();
    let dupCount = 0;
    for (const p of out) {
      if (!isPacket(p)) continue;
      const k = `${p.vehicleId}|${p.seq ?? `t${p.ts}`}`;
      if (seen.has(k)) dupCount++;
      seen.add(k);
    }
    expect(dupCount).toBe(s.duplicates);
  });

  it('sends out-of-order packets after the newer report and late ones past the lateness', () => {
    const f = createFleet({ vehicles: 1000, seed: 3, fractions: { duplicate: 0, malformed: 0, outOfOrder: 0.05, late: 0.02 }, lateByS: 120, intervalS: 5 });
    let maxTs = -Infinity;
    const lastTs = new Map<string, number>();
    let backwards = 0;
    let lateBy = 0;
    for (let i = 0; i < 40; i++) {
      for (const p of f.tick() as SimPacket[]) {
        const prev = lastTs.get(p.vehicleId);
        if (prev !== undefined && p.ts < prev) {
          backwards++;
          lateBy = Math.max(lateBy, maxTs - p.ts);
        }
        lastTs.set(p.vehicleId, Math.max(prev ?? -Infinity, p.ts));
        maxTs = Math.max(maxTs, p.ts);
      }
    }
    // Every held-back packet arrives after a newer one of its vehicle, unless that newer one was held back too.
    const held = f.stats.outOfOrder + f.stats.late;
    expect(backwards).toBeLessThanOrEqual(held);
    expect(backwards).toBeGreaterThan(held * 0.9);
    expect(lateBy).toBeGreaterThanOrEqual(120_000);
  });

  it('drives plausible speeds across all three segments, with boundary crossings', () => {
    const f = createFleet({ vehicles: 3000, seed: 9, fractions: { duplicate: 0, outOfOrder: 0, late: 0, malformed: 0 } });
    const bySeg = new Map<string, Set<string>>();
    const segOf = new Map<string, string>();
    let crossings = 0;
    const speeds: number[] = [];
    const centreSpeeds: number[] = [];
    const outerSpeeds: number[] = [];
    for (let i = 0; i < 24; i++) {
      for (const p of f.tick() as SimPacket[]) {
        const seg = lookup.route(p.lat, p.lng).segment!;
        expect(seg).toBeDefined();
        (bySeg.get(seg) ?? bySeg.set(seg, new Set()).get(seg)!).add(p.vehicleId);
        const prev = segOf.get(p.vehicleId);
        if (prev && prev !== seg) crossings++;
        segOf.set(p.vehicleId, seg);
        if (typeof p.speedKmh === 'number') {
          speeds.push(p.speedKmh);
          const dKm = Math.hypot((p.lat - 31.2304) * 110.6, (p.lng - 121.4737) * 95.2);
          if (dKm < 3) centreSpeeds.push(p.speedKmh);
          if (dKm > 15) outerSpeeds.push(p.speedKmh);
        }
      }
    }
    expect([...bySeg.keys()].sort()).toEqual(['central', 'north', 'south']);
    for (const s of bySeg.values()) expect(s.size).toBeGreaterThan(200);
    expect(crossings).toBeGreaterThan(20);
    expect(f.stats.boundaryCrossings).toBeGreaterThan(20);
    expect(Math.min(...speeds)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...speeds)).toBeLessThan(130);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    // Slower in the centre than out on the rings and radials.
    expect(mean(centreSpeeds)).toBeLessThan(mean(outerSpeeds) * 0.75);
  });

  it('fails fast on bad options', () => {
    expect(() => createFleet({ vehicles: 0 })).toThrow('options.vehicles must be a positive integer');
    expect(() => createFleet({ fractions: { duplicate: 2 } })).toThrow('options.fractions.duplicate must be a number in [0, 1]');
    expect(() => createFleet({ fractions: { duplicate: 0.5, malformed: 0.6 } })).toThrow('options.fractions must add up to at most 1');
    expect(() => createFleet({ idPrefix: 'bad id' })).toThrow('options.idPrefix');
  });
});
