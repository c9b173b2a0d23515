// The simulated weeks: seeded, with the rhythm, the incidents' spread and the rows the store takes.
import { describe, expect, it } from 'vitest';
import { gridDisk, latLngToCell } from 'h3-js';
import { PROFILES, simulateWeeks, trafficFlowRows } from '../../src/sim/index.ts';
import { parseTopology } from '../../src/topology/index.ts';
import { dayType, slotOfDay } from '../../src/forecast/index.ts';

const topology = parseTopology(JSON.stringify({
  name: 'weeks-test', h3: { resolution: 9, segmentResolution: 6 },
  clouds: [{ id: 'cloud-ingest', roles: ['ingest'] }, { id: 'cloud-a', roles: ['processing', 'storage'] }],
  segments: [{ id: 'mid', cloud: 'cloud-a', cells: [latLngToCell(31.27, 121.47, 6)] }],
}), 'inline.json');

describe('simulated weeks', () => {
  const a = simulateWeeks({ topology, seed: 5, days: 7 });

  it('is reproducible from its seed, and another seed differs', () => {
    const same = (x: Float32Array, y: Float32Array) => Buffer.from(x.buffer).equals(Buffer.from(y.buffer));
    const b = simulateWeeks({ topology, seed: 5, days: 7 });
    expect([same(b.panel.speed, a.panel.speed), same(b.panel.flow, a.panel.flow)]).toEqual([true, true]);
    expect(same(simulateWeeks({ topology, seed: 6, days: 7 }).panel.speed, a.panel.speed)).toBe(false);
  });

  it('has a weekday rush and quiet nights, starting on a local Monday', () => {
    const p = a.panel;
    expect([dayType(p, 0), slotOfDay(p, 0)]).toEqual([0, 0]);
    const mean = (pick: (t: number) => boolean, s: Float32Array) => {
      let sum = 0;
      let n = 0;
      for (let c = 0; c < p.cells.length; c++) for (let t = 0; t < p.steps; t++) if (pick(t)) (sum += s[c * p.steps + t]!), n++;
      return sum / n;
    };
    const rush = (t: number) => dayType(p, t) === 0 && slotOfDay(p, t) >= 96 && slotOfDay(p, t) < 102; // 8:00–8:30
    const night = (t: number) => slotOfDay(p, t) >= 36 && slotOfDay(p, t) < 48; // 3:00–4:00
    expect(mean(rush, p.flow)).toBeGreaterThan(4 * mean(night, p.flow));
    expect(mean(rush, p.speed)).toBeLessThan(0.9 * mean(night, p.speed));
  });

  it('incidents slow a cell and the cells around it', () => {
    // Same seed without incidents: every other draw is the same, so the ratio isolates them.
    const calm = simulateWeeks({ topology, seed: 5, days: 7, profile: { ...PROFILES.shanghai!, incidentRate: 0 } });
    const p = a.panel;
    const hit = new Set<number>();
    for (let c = 0; c < p.cells.length; c++) {
      for (let t = 0; t < p.steps; t++) if (p.speed[c * p.steps + t]! < 0.6 * calm.panel.speed[c * p.steps + t]!) hit.add(c);
    }
    expect(hit.size).toBeGreaterThan(5);
    const index = new Map(p.cells.map((cell, i) => [cell, i]));
    const withHitNeighbour = [...hit].filter((c) => gridDisk(p.cells[c]!, 1).some((n) => n !== p.cells[c] && hit.has(index.get(n) ?? -1)));
    expect(withHitNeighbour.length).toBeGreaterThan(0.6 * hit.size);
  });

  it('writes one 300-s traffic_flow row per cell and window with vehicles, in the design columns', () => {
    const rows = trafficFlowRows(a, 'mid', 0, 12);
    const withVehicles = a.panel.cells.reduce((n, _, c) => n + [...a.panel.flow.subarray(c * a.panel.steps, c * a.panel.steps + 12)].filter((v) => v > 0).length, 0);
    expect(rows).toHaveLength(withVehicles);
    const r = rows[0]!;
    expect(Object.keys(r).sort()).toEqual(['cell', 'inv_speed_sum', 'max_speed', 'min_speed', 'packets', 'part', 'segment', 'speed_count', 'speed_sum', 'vehicles', 'window_s', 'window_start'].sort());
    expect(r.window_s).toBe(300);
    expect((r.speed_sum as number) / (r.speed_count as number)).toBeCloseTo(a.panel.speed[0]!, 3);
  });

  it('rejects a non-positive number of days', () => {
    expect(() => simulateWeeks({ topology, seed: 1, days: 0 })).toThrow('options.days must be a positive integer');
  });
});
