// Duplicate packets (a client retry whose first produce landed): per partition, the keys of
// the owned packets within the duplicate horizon, grouped by window and evicted by the
// watermark — so memory is bounded by the packets of (window + lateness + horizon) and every
// decision depends only on the partition's message order. After a restart the set is rebuilt
// exactly: keys of offsets below the resume point come from the stored `packets` rows
// (load), the rest from the replay itself (docs/segment.md, Duplicates).
import { withinDedupHorizon } from './aggregate.ts';
import type { DedupCandidates, FlowRules } from './types.ts';

export class DedupKeys {
  private readonly byWindow = new Map<number, Set<string>>();

  constructor(readonly rules: FlowRules) {}

  /**
   * Check a batch's candidates in offset order, remembering each new key; returns the offsets
   * of duplicates (usually none).
   */
  check(c: DedupCandidates): number[] {
    const dups: number[] = [];
    for (let i = 0; i < c.keys.length; i++) {
      const ws = c.windows[i]!;
      let set = this.byWindow.get(ws);
      if (!set) this.byWindow.set(ws, (set = new Set()));
      const k = c.keys[i]!;
      if (set.has(k)) dups.push(c.offsets[i]!);
      else set.add(k);
    }
    return dups;
  }

  /** Forget windows past the horizon at watermark `wm`: no later packet can be checked against them. */
  evict(wm: number): void {
    for (const ws of this.byWindow.keys()) if (!withinDedupHorizon(ws, wm, this.rules)) this.byWindow.delete(ws);
  }

  /** Remember stored keys (recovery); `ws` per key. */
  load(keys: { key: string; windowStart: number }[]): void {
    for (const { key, windowStart } of keys) {
      let set = this.byWindow.get(windowStart);
      if (!set) this.byWindow.set(windowStart, (set = new Set()));
      set.add(key);
    }
  }

  /** Oldest window start (epoch s) still within the horizon at `wm`: recovery loads keys from there on. */
  static firstRetainedWindow(wm: number, rules: FlowRules): number | undefined {
    if (!Number.isFinite(wm)) return undefined;
    const span = rules.windowS * 1000 + rules.allowedLatenessMs + (rules.dedupHorizonMs ?? 0);
    // Smallest ws with (ws + windowS)·1000 + L + H > wm, rounded down to a window start.
    return Math.floor((wm - span) / 1000 / rules.windowS) * rules.windowS;
  }

  get size(): number {
    let n = 0;
    for (const s of this.byWindow.values()) n += s.size;
    return n;
  }
}
