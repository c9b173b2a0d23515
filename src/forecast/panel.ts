// Panels from the store: traffic_flow of one segment, rolled up into 5-minute buckets per cell
// (toStartOfFiveMinute, so 60-s and 300-s windows both work). Speed is the time-mean speed
// sum(speed_sum) / sum(speed_count); flow is sum(vehicles) — distinct vehicles per window,
// summed over the bucket's windows (for 300-s windows: distinct vehicles per 5 minutes). A
// bucket with no row for a cell has flow 0 and the cell's last speed carried forward (its first
// seen speed before that).
import { quoteString, type Store } from '../store/index.ts';
import { cellToDecimal, decimalToCell } from '../topology/index.ts';
import { STEP_S, type Panel } from './types.ts';

export interface BucketRow {
  b: number | string;
  cell_id: string;
  ss: number;
  sc: number | string;
  v: number | string;
}

// The cell is read as cell_id: ClickHouse 18.16 lets a SELECT alias shadow the column in WHERE.
export function bucketSql(segment: string, fromS: number, toS: number, cells?: readonly string[]): string {
  const only = cells ? ` AND cell IN (${cells.map(cellToDecimal).join(', ')})` : '';
  return `SELECT toUInt32(toStartOfFiveMinute(window_start)) AS b, toString(cell) AS cell_id, sum(speed_sum) AS ss, sum(speed_count) AS sc, sum(vehicles) AS v ` +
    `FROM traffic_flow WHERE segment = ${quoteString(segment)} AND window_start >= toDateTime(${fromS}) AND window_start < toDateTime(${toS})${only} GROUP BY b, cell_id`;
}

/** Builds a panel over [fromS, toS) from bucket rows; `cells` fixes the cell list (else: every cell seen, sorted). */
export function panelFromBuckets(rows: readonly BucketRow[], fromS: number, toS: number, utcOffsetS: number, cells?: readonly string[]): Panel {
  const list = cells ?? [...new Set(rows.map((r) => decimalToCell(r.cell_id)))].sort();
  const index = new Map(list.map((c, i) => [cellToDecimal(c), i]));
  const steps = Math.floor((toS - fromS) / STEP_S);
  const speed = new Float32Array(list.length * steps).fill(Number.NaN);
  const flow = new Float32Array(list.length * steps);
  for (const r of rows) {
    const c = index.get(r.cell_id);
    const t = (Number(r.b) - fromS) / STEP_S;
    if (c === undefined || t < 0 || t >= steps) continue;
    const count = Number(r.sc);
    if (count > 0) speed[c * steps + t] = r.ss / count;
    flow[c * steps + t] = Number(r.v);
  }
  for (let c = 0; c < list.length; c++) {
    let last = Number.NaN;
    for (let t = 0; t < steps && Number.isNaN(last); t++) last = speed[c * steps + t]!;
    if (Number.isNaN(last)) last = 0;
    for (let t = 0; t < steps; t++) {
      const v = speed[c * steps + t]!;
      if (Number.isNaN(v)) speed[c * steps + t] = last;
      else last = v;
    }
  }
  return { cells: list, startS: fromS, stepS: STEP_S, steps, utcOffsetS, speed, flow };
}

export async function loadPanel(store: Store, segment: string, fromS: number, toS: number, utcOffsetS: number, cells?: readonly string[]): Promise<Panel> {
  const rows = await store.query<BucketRow & Record<string, unknown>>(bucketSql(segment, fromS, toS, cells));
  return panelFromBuckets(rows, fromS, toS, utcOffsetS, cells);
}

/** One panel of several over the same steps (e.g. every segment of a deployment), cells side by side. */
export function joinPanels(panels: readonly Panel[]): Panel {
  const first = panels[0];
  if (!first) throw new RangeError('joinPanels: no panels');
  for (const p of panels) {
    if (p.startS !== first.startS || p.steps !== first.steps || p.stepS !== first.stepS) throw new RangeError('joinPanels: panels cover different steps');
  }
  const cat = (pick: (p: Panel) => Float32Array) => {
    const out = new Float32Array(panels.reduce((n, p) => n + pick(p).length, 0));
    let at = 0;
    for (const p of panels) {
      out.set(pick(p), at);
      at += pick(p).length;
    }
    return out;
  };
  return { ...first, cells: panels.flatMap((p) => p.cells), speed: cat((p) => p.speed), flow: cat((p) => p.flow) };
}

/** The panel from its first step with vehicles in any cell (history before a segment had data is not history). */
export function fromFirstData(panel: Panel): Panel {
  let first = panel.steps;
  for (let c = 0; c < panel.cells.length; c++) {
    for (let t = 0; t < first; t++) {
      if (panel.flow[c * panel.steps + t]! > 0) {
        first = t;
        break;
      }
    }
  }
  if (first === 0 || first === panel.steps) return panel;
  const steps = panel.steps - first;
  const cut = (s: Float32Array) => {
    const out = new Float32Array(panel.cells.length * steps);
    for (let c = 0; c < panel.cells.length; c++) out.set(s.subarray(c * panel.steps + first, (c + 1) * panel.steps), c * steps);
    return out;
  };
  return { ...panel, startS: panel.startS + first * panel.stepS, steps, speed: cut(panel.speed), flow: cut(panel.flow) };
}
