// In-memory vehicle state for the embedded mode: the same semantics as the Redis script
// (reservations that bind once their call committed, rollback as compare-and-set on the
// writer), checked by the same contract suite (test/contract/state.contract.ts).
import type { Observation, ObserveOptions, ObserveResult, Settlement, VehicleRecord, VehicleState } from './types.ts';

interface Held {
  rec: VehicleRecord;
  expires: number;
  /** Token of the call that wrote rec ('' once a rollback restored it). */
  writer: string;
}

interface Reservation {
  expires: number;
  token: string;
}

export function createMemoryState(now: () => number = Date.now): VehicleState {
  const states = new Map<string, Held>();
  const dedup = new Map<string, Reservation>(); // vehicleId \0 dedupKey -> reservation
  const committed = new Map<string, number>(); // call token -> expiry
  let ops = 0;
  let calls = 0;
  const tokens = new WeakMap<ObserveResult[], { token: string; horizon: number }>();
  const live = <T extends { expires: number }>(v: T | undefined): T | undefined => (v && v.expires > now() ? v : undefined);
  const sweep = () => {
    // Amortised expiry: a full sweep every 64k operations keeps memory bounded.
    if (++ops % 65_536 !== 0) return;
    const t = now();
    for (const [k, e] of dedup) if (e.expires <= t) dedup.delete(k);
    for (const [k, e] of committed) if (e <= t) committed.delete(k);
    for (const [k, v] of states) if (v.expires <= t) states.delete(k);
  };
  const dkeyOf = (x: Observation) => `${x.vehicleId}\u0000${x.dedupKey}`;
  /** 0 free, 1 binding (committed, or made earlier in this call), 2 live but never committed. */
  const held = (d: Reservation | undefined, token: string, t: number): 0 | 1 | 2 => {
    if (d === undefined || d.expires <= t) return 0;
    return d.token === token || (committed.get(d.token) ?? 0) > t ? 1 : 2;
  };
  return {
    async observe(obs: Observation[], o: ObserveOptions): Promise<ObserveResult[]> {
      const t = now();
      const token = String(++calls);
      const horizon = Math.max(1, o.dedupHorizonMs);
      const results = obs.map((x): ObserveResult => {
        sweep();
        const dkey = dkeyOf(x);
        const cur = live(states.get(x.vehicleId));
        const prev = cur ? { ...cur.rec } : undefined;
        const h = held(dedup.get(dkey), token, t);
        if (h === 1) return { duplicate: true, advanced: false, prev, tookOver: false };
        dedup.set(dkey, { expires: t + horizon, token });
        if (!prev || x.ts >= prev.ts) {
          const ttl = o.stateTtlMs ?? 0;
          states.set(x.vehicleId, { rec: { segment: x.segment, ts: x.ts, lat: x.lat, lng: x.lng }, expires: ttl > 0 ? t + ttl : Infinity, writer: token });
          return { duplicate: false, advanced: true, prev, tookOver: h === 2 };
        }
        return { duplicate: false, advanced: false, prev, tookOver: h === 2 };
      });
      tokens.set(results, { token, horizon });
      return results;
    },
    settle(obs: Observation[], results: ObserveResult[]): Settlement {
      const call = tokens.get(results);
      if (call === undefined) throw new Error('vehicle state: settle() needs the results array an observe() of this adapter returned');
      tokens.delete(results);
      const o = obs.slice();
      const r = results.slice();
      return {
        async commit() {
          if (r.some((x) => !x.duplicate)) committed.set(call.token, now() + call.horizon);
        },
        async rollback() {
          const restored = new Set<Held>();
          for (let i = o.length - 1; i >= 0; i--) {
            const x = o[i]!;
            const res = r[i]!;
            const cur = states.get(x.vehicleId);
            if (res.advanced && cur && cur.writer === call.token) {
              if (res.prev) {
                cur.rec = { ...res.prev };
                restored.add(cur);
              } else states.delete(x.vehicleId);
            }
            if (!res.duplicate && dedup.get(dkeyOf(x))?.token === call.token) dedup.delete(dkeyOf(x));
          }
          for (const h of restored) h.writer = '';
        },
      };
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
