// Per-partition window state on the main thread: open windows of one Kafka partition of one
// segment, merged from batch results, closed by the partition's watermark.
import { emptyAgg, mergePartial, toFlowRow, windowClosed } from './aggregate.ts';
import type { BatchResult, CellAgg, FlowRow, FlowRules, WindowOpen } from './types.ts';

interface OpenWindow {
  open: WindowOpen;
  cells: Map<string, CellAgg>;
}

export interface ResumePoint {
  /** Next offset to read after a restart: the first message of the oldest open window, or `next`. */
  offset: number;
  /** Watermark just before `offset`. */
  wm: number;
}

export class PartitionWindows {
  wm: number;
  private readonly windows = new Map<number, OpenWindow>();

  constructor(readonly segment: string, readonly rules: FlowRules, wm = -Infinity) {
    this.wm = wm;
  }

  /** Merge a batch result (in partition order). */
  apply(r: BatchResult): void {
    for (const o of r.opens) {
      if (!this.windows.has(o.windowStart)) this.windows.set(o.windowStart, { open: o, cells: new Map() });
    }
    for (const c of r.cells) {
      const w = this.windows.get(c.windowStart);
      if (!w) throw new Error(`flow state: partial for window ${c.windowStart} without its opening`);
      let a = w.cells.get(c.cell);
      if (!a) w.cells.set(c.cell, (a = emptyAgg()));
      mergePartial(a, c);
    }
    if (r.wm > this.wm) this.wm = r.wm;
  }

  /** Windows the watermark has closed (all, with `all`), oldest first, as flow rows. Not removed. */
  closed(all = false): { windowStart: number; rows: FlowRow[] }[] {
    const out: { windowStart: number; rows: FlowRow[] }[] = [];
    for (const [ws, w] of [...this.windows].sort((a, b) => a[0] - b[0])) {
      if (!all && !windowClosed(ws, this.wm, this.rules)) continue;
      const rows: FlowRow[] = [];
      for (const [cell, a] of w.cells) rows.push(toFlowRow(this.segment, cell, ws, this.rules.windowS, a));
      out.push({ windowStart: ws, rows });
    }
    return out;
  }

  /** Forget windows once stored. */
  remove(windowStarts: number[]): void {
    for (const ws of windowStarts) this.windows.delete(ws);
  }

  get openCount(): number {
    return this.windows.size;
  }

  resumePoint(next: number): ResumePoint {
    let best: WindowOpen | undefined;
    for (const w of this.windows.values()) if (!best || w.open.offset < best.offset) best = w.open;
    return best ? { offset: best.offset, wm: best.wmBefore } : { offset: next, wm: this.wm };
  }

  /**
   * End of stream: move the watermark past every open window so they count as closed from
   * now on (a later packet for them is late), like a final watermark at the end of input.
   */
  advanceToCloseAll(): void {
    for (const ws of this.windows.keys()) {
      const need = (ws + this.rules.windowS) * 1000 + this.rules.allowedLatenessMs;
      if (need > this.wm) this.wm = need;
    }
  }
}
