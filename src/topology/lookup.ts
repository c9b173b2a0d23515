// lat/lng -> fine H3 cell -> segment. Built once per topology: a Map keyed by the
// segment-resolution parent, so a lookup is two H3 calls and one hash probe, never a scan.
import { cellToParent, latLngToCell } from 'h3-js';
import type { Topology } from './types.ts';

export interface Route {
  /** H3 cell at h3.resolution (hex string). */
  cell: string;
  /** Owning segment id, or undefined when the point is outside every segment and no default is set. */
  segment: string | undefined;
}

export interface SegmentLookup {
  route(lat: number, lng: number): Route;
  /** Segment of a fine cell (any resolution ≥ the segment resolution). */
  segmentOfCell(cell: string): string | undefined;
}

export function createSegmentLookup(topo: Topology): SegmentLookup {
  const { resolution, segmentResolution } = topo.h3;
  const byParent = new Map<string, string>();
  for (const seg of topo.segments) for (const c of seg.cells) byParent.set(c, seg.id);
  const fallback = topo.defaultSegment;
  const segmentOfCell = (cell: string): string | undefined =>
    byParent.get(cellToParent(cell, segmentResolution)) ?? fallback;
  return {
    route(lat, lng) {
      const cell = latLngToCell(lat, lng, resolution);
      return { cell, segment: segmentOfCell(cell) };
    },
    segmentOfCell,
  };
}

/** H3 index (hex string) -> decimal string, the form ClickHouse's UInt64 columns take in JSON. */
export function cellToDecimal(cell: string): string {
  return BigInt(`0x${cell}`).toString();
}

/** Decimal UInt64 (string or bigint) -> H3 index hex string. */
export function decimalToCell(dec: string | bigint): string {
  return BigInt(dec).toString(16);
}
