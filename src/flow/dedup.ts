// Duplicate packets (a client retry whose first produce landed): per partition, the
// identities of the owned packets within the duplicate horizon, grouped by window and evicted
// by the watermark — so memory is bounded by the packets of (window + lateness + horizon)
// and every decision depends only on the partition's message order. After a restart the set
// is rebuilt exactly: identities of offsets below the resume point come from the stored
// `packets` rows (load), the rest from the replay itself (docs/segment.md, Duplicates).
import { withinDedupHorizon } from './aggregate.ts';
import type { DedupCandidates, FlowRules } from './types.ts';

/** One stored packet's identity, for load(). */
export interface DedupEntry {
  vehicleId: string;
  /** dedupId(seq, ts). */
  id: number;
  windowStart: number;
}

export class DedupKeys {
  /** window start → vehicle → dedup ids seen. */
  private readonly byWindow = new Map<number, Map<string, Set<number>>>();

  constructor(readonly rules: FlowRules) {}

  /** Remember an identity; false if it was there already. */
  private add(ws: number, vehicleId: string, id: number): boolean {
    let vehicles = this.byWindow.get(ws);
    if (!vehicles) this.byWindow.set(ws, (vehicles = new Map()));
    let ids = vehicles.get(vehicleId);
    if (!ids) vehicles.set(vehicleId, (ids = new Set()));
    if (ids.has(id)) return false;
    ids.add(id);
    return true;
  }

  /**
   * Check a batch's candidates in offset order, remembering each new identity; returns the
   * offsets of duplicates (usually none).
   */
  check(c: DedupCandidates): number[] {
    const dups: number[] = [];
    for (let i = 0; i < c.vehicles.length; i++) {
      if (!this.add(c.windows[i]!, c.vehicles[i]!, c.ids[i]!)) dups.push(c.offsets[i]!);
    }
    return dups;
  }

  /** Forget windows past the horizon at watermark `wm`: no later packet can be checked against them. */
  evict(wm: number): void {
    for (const ws of this.byWindow.keys()) if (!withinDedupHorizon(ws, wm, this.rules)) this.byWindow.delete(ws);
  }

  /** Remember stored identities (recovery). */
  load(entries: DedupEntry[]): void {
    for (const e of entries) this.add(e.windowStart, e.vehicleId, e.id);
  }

  /** Oldest window start (epoch s) possibly within the horizon at `wm`: recovery loads from there on. */
  static firstRetainedWindow(wm: number, rules: FlowRules): number | undefined {
    if (!Number.isFinite(wm)) return undefined;
    const span = rules.windowS * 1000 + rules.allowedLatenessMs + (rules.dedupHorizonMs ?? 0);
    return Math.floor((wm - span) / 1000 / rules.windowS) * rules.windowS;
  }

  /** Identities held (for logs and tests). */
  get size(): number {
    let n = 0;
    for (const vehicles of this.byWindow.values()) for (const ids of vehicles.values()) n += ids.size;
    return n;
  }
}
