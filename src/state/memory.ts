// In-memory vehicle state for the embedded mode: the same semantics as the Redis script,
// checked by the same contract suite (test/contract/state.contract.ts).
import type { Observation, ObserveOptions, ObserveResult, VehicleRecord, VehicleState } from './types.ts';

export function createMemoryState(now: () => number = Date.now): VehicleState {
  const states = new Map<string, { rec: VehicleRecord; expires: number }>();
  const dedup = new Map<string, number>(); // key -> expiry
  let ops = 0;
  const live = <T extends { expires: number }>(v: T | undefined): T | undefined => (v && v.expires > now() ? v : undefined);
  const sweep = () => {
    // Amortised expiry: a full sweep every 64k operations keeps memory bounded.
    if (++ops % 65_536 !== 0) return;
    const t = now();
    for (const [k, e] of dedup) if (e <= t) dedup.delete(k);
    for (const [k, v] of states) if (v.expires <= t) states.delete(k);
  };
  return {
    async observe(obs: Observation[], o: ObserveOptions): Promise<ObserveResult[]> {
      const t = now();
      return obs.map((x) => {
        sweep();
        const dkey = `${x.vehicleId}\u0000${x.dedupKey}`;
        const cur = live(states.get(x.vehicleId));
        const prev = cur ? { ...cur.rec } : undefined;
        const exp = dedup.get(dkey);
        if (exp !== undefined && exp > t) return { duplicate: true, advanced: false, prev };
        dedup.set(dkey, t + Math.max(1, o.dedupHorizonMs));
        if (!prev || x.ts >= prev.ts) {
          const ttl = o.stateTtlMs ?? 0;
          states.set(x.vehicleId, { rec: { segment: x.segment, ts: x.ts, lat: x.lat, lng: x.lng }, expires: ttl > 0 ? t + ttl : Infinity });
          return { duplicate: false, advanced: true, prev };
        }
        return { duplicate: false, advanced: false, prev };
      });
    },
    undoer(obs: Observation[], results: ObserveResult[]) {
      const o = obs.slice();
      const r = results.slice();
      return () => this.rollback(o, r);
    },
    async rollback(obs: Observation[], results: ObserveResult[]) {
      for (let i = obs.length - 1; i >= 0; i--) {
        const x = obs[i]!;
        const r = results[i]!;
        if (r.advanced) {
          const cur = states.get(x.vehicleId);
          if (cur && cur.rec.segment === x.segment && cur.rec.ts === x.ts) {
            if (r.prev) states.set(x.vehicleId, { rec: { ...r.prev }, expires: cur.expires });
            else states.delete(x.vehicleId);
          }
        }
        if (!r.duplicate) dedup.delete(`${x.vehicleId}\u0000${x.dedupKey}`);
      }
    },
    async get(ids: string[]) {
      return ids.map((id) => {
        const v = live(states.get(id));
        return v ? { ...v.rec } : undefined;
      });
    },
    async ping() {},
    async close() {},
  };
}
