// H3 cell conversions for stored rows, cached: a segment has a bounded set of hot cells, and
// every packet row needs its cell as a UInt64 (decimal text for JSONEachRow, two 32-bit
// halves for RowBinary).
import { cellToDecimal } from '../topology/index.ts';

const CACHE_MAX = 200_000;
const decimalCache = new Map<string, string>();
const halvesCache = new Map<string, readonly [lo: number, hi: number]>();

/** H3 hex → decimal string. */
export function cellDecimal(hex: string): string {
  let d = decimalCache.get(hex);
  if (d === undefined) {
    if (decimalCache.size > CACHE_MAX) decimalCache.clear();
    d = cellToDecimal(hex);
    decimalCache.set(hex, d);
  }
  return d;
}

/** H3 hex → the cell's 64-bit index as [low 32 bits, high 32 bits]. */
export function cellHalves(hex: string): readonly [number, number] {
  let h = halvesCache.get(hex);
  if (h === undefined) {
    if (halvesCache.size > CACHE_MAX) halvesCache.clear();
    const v = BigInt(cellDecimal(hex));
    h = [Number(v & 0xffffffffn), Number(v >> 32n)] as const;
    halvesCache.set(hex, h);
  }
  return h;
}
