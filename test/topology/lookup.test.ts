// segmentOfRoutedCell (the gateway's bit-level path) against segmentOfCell (cellToParent +
// map), on points in, around and far outside the example topology, and at every segment
// resolution the fast path covers.
import { latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { createSegmentLookup, loadTopology, validateTopology } from '../../src/topology/index.ts';

const EXAMPLE = new URL('../../infra/topology/shanghai.yaml', import.meta.url).pathname;

// Deterministic points: a box around Shanghai, a wider box, and anywhere on Earth.
function* points(n: number, seed: number): Generator<[number, number]> {
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    if (k === 0) yield [30.6 + rnd() * 1.4, 120.8 + rnd() * 1.4];
    else if (k === 1) yield [25 + rnd() * 12, 115 + rnd() * 12];
    else yield [-89.9 + rnd() * 179.8, -179.9 + rnd() * 359.8];
  }
}

describe('segment of a routed cell', () => {
  it('equals segmentOfCell on the example topology', () => {
    const topo = loadTopology(EXAMPLE);
    const lookup = createSegmentLookup(topo);
    const seen = new Map<string | undefined, number>();
    for (const [lat, lng] of points(30_000, 7)) {
      const cell = latLngToCell(lat, lng, topo.h3.resolution);
      const want = lookup.segmentOfCell(cell);
      expect(lookup.segmentOfRoutedCell(cell), `${lat},${lng} ${cell}`).toBe(want);
      seen.set(want, (seen.get(want) ?? 0) + 1);
    }
    // The sample reaches every segment and the outside, so both answers were exercised.
    for (const s of topo.segments) expect(seen.get(s.id) ?? 0, s.id).toBeGreaterThan(50);
    expect(seen.get(topo.defaultSegment)).toBeGreaterThan(1000);
  });

  it('equals segmentOfCell for every segment resolution from 0 to 9 (fast path up to 7)', () => {
    for (let segRes = 0; segRes <= 9; segRes++) {
      const resolution = Math.min(15, segRes + 3);
      const topo = validateTopology({
        name: 't',
        h3: { resolution, segmentResolution: segRes },
        clouds: [{ id: 'ing', roles: ['ingest'] }, { id: 'pa', roles: ['processing', 'storage'] }],
        segments: [
          { id: 'north', cloud: 'pa', cells: [latLngToCell(31.3, 121.4, segRes)] },
          { id: 'south', cloud: 'pa', cells: [latLngToCell(-20, 30, segRes), latLngToCell(31.0, 121.5, segRes)].filter((c, i, a) => a.indexOf(c) === i && c !== latLngToCell(31.3, 121.4, segRes)) },
        ],
      });
      const lookup = createSegmentLookup(topo);
      let inside = 0;
      const near = Array.from({ length: 400 }, (_, i): [number, number] => (i % 2 ? [31.3 + ((i % 17) - 8) * 2e-4, 121.4 + ((i % 13) - 6) * 2e-4] : [31.0 + ((i % 11) - 5) * 2e-4, 121.5 + ((i % 7) - 3) * 2e-4]));
      for (const [lat, lng] of [...near, ...points(6_000, segRes + 1)]) {
        const cell = latLngToCell(lat, lng, resolution);
        const want = lookup.segmentOfCell(cell);
        if (want !== undefined) inside++;
        expect(lookup.segmentOfRoutedCell(cell), `res ${segRes}: ${cell}`).toBe(want);
      }
      expect(inside, `res ${segRes}`).toBeGreaterThan(0);
    }
  });
});
