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
  /**
   * segmentOfCell for a cell that latLngToCell just produced at h3.resolution (a valid cell):
   * read from the index's bits with no H3 call and no string built (the gateway's hot path).
   */
  segmentOfRoutedCell(cell: string): string | undefined;
}

// An H3 cell index (mode 1) is 64 bits: 4 of mode and reserved bits, 4 of resolution at bits
// 55-52, the base cell at 51-45, then one 3-bit digit per resolution 1..15 from bit 44 down
// (digits past the cell's resolution are 7). Its hex form has no leading zero: 15 characters,
// the first '8'. So bits 51..24 are characters 2..8, and the base cell with digits 1..r —
// which is what the parent at resolution r is made of — is those bits shifted right by
// 3 * (7 - r): a number below 2^28 for r ≤ 7, equal for a cell and its parent at r.
const hexDigit = (c: number): number => (c <= 57 ? c - 48 : c - 87);
function parentKey(cell: string, r: number): number {
  let v = 0;
  for (let k = 2; k <= 8; k++) v = (v << 4) | hexDigit(cell.charCodeAt(k));
  return v >>> (3 * (7 - r));
}

export function createSegmentLookup(topo: Topology): SegmentLookup {
  const { resolution, segmentResolution } = topo.h3;
  const byParent = new Map<string, string>();
  for (const seg of topo.segments) for (const c of seg.cells) byParent.set(c, seg.id);
  const fallback = topo.defaultSegment;
  const segmentOfCell = (cell: string): string | undefined =>
    byParent.get(cellToParent(cell, segmentResolution)) ?? fallback;
  // The same map keyed by parentKey (segment cells are valid, at the segment resolution).
  const keyed = segmentResolution <= 7 && resolution >= segmentResolution ? new Map<number, string>() : undefined;
  if (keyed) for (const [c, id] of byParent) keyed.set(parentKey(c, segmentResolution), id);
  const segmentOfRoutedCell = (cell: string): string | undefined =>
    keyed !== undefined && cell.length === 15 ? (keyed.get(parentKey(cell, segmentResolution)) ?? fallback) : segmentOfCell(cell);
  return {
    route(lat, lng) {
      const cell = latLngToCell(lat, lng, resolution);
      return { cell, segment: segmentOfCell(cell) };
    },
    segmentOfCell,
    segmentOfRoutedCell,
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
