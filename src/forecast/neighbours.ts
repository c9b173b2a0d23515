// A cell's neighbours inside a panel: H3 grid distance 1 (gridDisk(c, 1) minus c) and
// distance 2 (gridDisk(c, 2) minus gridDisk(c, 1)), as panel indexes. Cells off the road
// network have no series and are simply absent.
import { gridDisk } from 'h3-js';

export interface Neighbours {
  ring1: Int32Array[];
  ring2: Int32Array[];
}

export function panelNeighbours(cells: readonly string[]): Neighbours {
  const index = new Map(cells.map((c, i) => [c, i]));
  const ring1: Int32Array[] = [];
  const ring2: Int32Array[] = [];
  for (const cell of cells) {
    const near = new Set(gridDisk(cell, 1));
    const r1: number[] = [];
    const r2: number[] = [];
    for (const n of near) if (n !== cell && index.has(n)) r1.push(index.get(n)!);
    for (const n of gridDisk(cell, 2)) if (!near.has(n) && index.has(n)) r2.push(index.get(n)!);
    ring1.push(Int32Array.from(r1));
    ring2.push(Int32Array.from(r2));
  }
  return { ring1, ring2 };
}
