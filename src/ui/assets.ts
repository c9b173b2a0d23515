// Everything the page loads comes from here, built from npm packages on first request and
// kept in memory (no build step: `npm ci` then `iov ui` or `iov demo --ui` is enough):
// - the script: src/ui/client/ bundled with esbuild (deck.gl, h3-js inside);
// - the land outline: world-atlas's 1:10m land (Natural Earth), converted from TopoJSON to
//   GeoJSON and cut to the polygons near the topology, so the page draws coasts with no
//   tile server.
// No fonts are served: the page uses the system's sans-serif (deck.gl draws its labels from
// it into a canvas).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cellToBoundary, cellsToMultiPolygon } from 'h3-js';
import { feature } from 'topojson-client';
import type { Topology } from '../topology/index.ts';
import type { SegmentOutline } from './types.ts';

const require = createRequire(import.meta.url);
const CLIENT_ENTRY = fileURLToPath(new URL('./client/main.ts', import.meta.url));
export const INDEX_HTML = readFileSync(new URL('./client/index.html', import.meta.url), 'utf8');

let bundle: Promise<string> | undefined;

/** The page's script, bundled once per process. */
export function clientBundle(): Promise<string> {
  bundle ??= (async () => {
    const esbuild = await import('esbuild');
    const out = await esbuild.build({
      entryPoints: [CLIENT_ENTRY],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      legalComments: 'none',
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'silent',
    });
    return out.outputFiles[0]!.text;
  })();
  bundle.catch(() => {
    bundle = undefined;
  });
  return bundle;
}

/** [south, west, north, east] around every segment's cells. */
export function topologyBounds(topology: Topology): [number, number, number, number] {
  let s = 90,
    w = 180,
    n = -90,
    e = -180;
  for (const seg of topology.segments) {
    for (const c of seg.cells) {
      for (const [lat, lng] of cellToBoundary(c)) {
        s = Math.min(s, lat);
        n = Math.max(n, lat);
        w = Math.min(w, lng);
        e = Math.max(e, lng);
      }
    }
  }
  return [s, w, n, e];
}

export function segmentOutlines(topology: Topology): SegmentOutline[] {
  return topology.segments.map((s) => ({ id: s.id, cloud: s.cloud, polygons: cellsToMultiPolygon(s.cells, true) }));
}

type Ring = number[][];
interface LandGeometry {
  type: 'MultiPolygon' | 'Polygon';
  coordinates: Ring[][] | Ring[];
}

/**
 * Land near the topology: world-atlas's land polygons clipped to the topology's bounds grown
 * by `marginDeg` (Sutherland–Hodgman against the rectangle; the page never shows more).
 */
export function landNear(topology: Topology, marginDeg = 2): { type: 'FeatureCollection'; features: unknown[] } {
  const topo = JSON.parse(readFileSync(require.resolve('world-atlas/land-10m.json'), 'utf8')) as { objects: { land: unknown } };
  const land = feature(topo, topo.objects.land) as { features?: { geometry: LandGeometry }[]; geometry?: LandGeometry };
  const geometries = land.features ? land.features.map((f) => f.geometry) : [land.geometry!];
  const [s, w, n, e] = topologyBounds(topology);
  const box = { s: s - marginDeg, w: w - marginDeg, n: n + marginDeg, e: e + marginDeg };
  const polygons: Ring[][] = [];
  for (const g of geometries) {
    const polys = g.type === 'Polygon' ? [g.coordinates as Ring[]] : (g.coordinates as Ring[][]);
    for (const p of polys) {
      const outer = clipRing(p[0]!, box);
      if (outer.length < 4) continue;
      polygons.push([
        outer,
        ...p
          .slice(1)
          .map((r) => clipRing(r, box))
          .filter((r) => r.length >= 4),
      ]);
    }
  }
  return {
    type: 'FeatureCollection',
    features: [{ type: 'Feature', properties: {}, geometry: { type: 'MultiPolygon', coordinates: polygons } }],
  };
}

type Box = { s: number; w: number; n: number; e: number };

function clipRing(ring: Ring, box: Box): Ring {
  const edges: [(p: number[]) => boolean, (a: number[], b: number[]) => number[]][] = [
    [(p) => p[0]! >= box.w, (a, b) => atX(a, b, box.w)],
    [(p) => p[0]! <= box.e, (a, b) => atX(a, b, box.e)],
    [(p) => p[1]! >= box.s, (a, b) => atY(a, b, box.s)],
    [(p) => p[1]! <= box.n, (a, b) => atY(a, b, box.n)],
  ];
  let out = ring;
  for (const [inside, cross] of edges) {
    const input = out;
    out = [];
    for (let i = 0; i < input.length; i++) {
      const cur = input[i]!,
        prev = input[(i + input.length - 1) % input.length]!;
      if (inside(cur)) {
        if (!inside(prev)) out.push(cross(prev, cur));
        out.push(cur);
      } else if (inside(prev)) out.push(cross(prev, cur));
    }
    if (out.length === 0) return out;
  }
  if (out.length > 0) out.push(out[0]!);
  return out;
}

const atX = (a: number[], b: number[], x: number): number[] => [x, a[1]! + ((b[1]! - a[1]!) * (x - a[0]!)) / (b[0]! - a[0]!)];
const atY = (a: number[], b: number[], y: number): number[] => [a[0]! + ((b[0]! - a[0]!) * (y - a[1]!)) / (b[1]! - a[1]!), y];
