// The VehicleState interface's spec. Redis and in-memory adapters run this same suite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Observation, ObserveOptions, ObserveResult, VehicleState } from '../../src/state/index.ts';
import { randomName } from '../helpers/index.ts';

const H = { dedupHorizonMs: 60_000 };

function obs(vehicleId: string, ts: number, segment: string, dedupKey = `t${ts}`): Observation {
  return { vehicleId, dedupKey, ts, segment, lat: 31 + ts / 1e7, lng: 121 + ts / 1e7 };
}

/** observe() then commit, as the gateway does once Kafka acknowledged the call's records. */
export async function observeCommitted(st: VehicleState, o: Observation[], opts: ObserveOptions): Promise<ObserveResult[]> {
  const r = await st.observe(o, opts);
  await st.settle(o, r).commit();
  return r;
}

/** observe() then rollback, as the gateway does when the produce failed. */
export async function observeRolledBack(st: VehicleState, o: Observation[], opts: ObserveOptions): Promise<ObserveResult[]> {
  const r = await st.observe(o, opts);
  await st.settle(o, r).rollback();
  return r;
}

export function stateContract(name: string, makeState: () => VehicleState | Promise<VehicleState>): void {
  describe(`VehicleState contract: ${name}`, () => {
    let st: VehicleState;
    beforeAll(async () => {
      st = await makeState();
      await st.ping();
    });
    afterAll(async () => {
      await st?.close();
    });

    it('returns the prior state per observation, in order within one call', async () => {
      const v = randomName('veh');
      const r = await st.observe([obs(v, 1000, 'north'), obs(v, 2000, 'central'), obs(v, 3000, 'central')], H);
      expect(r.map((x) => x.duplicate)).toEqual([false, false, false]);
      expect(r.map((x) => x.advanced)).toEqual([true, true, true]);
      expect(r[0]!.prev).toBeUndefined();
      expect(r[1]!.prev).toEqual({ segment: 'north', ts: 1000, lat: 31 + 1000 / 1e7, lng: 121 + 1000 / 1e7 });
      expect(r[2]!.prev?.segment).toBe('central');
      expect(await st.get([v, randomName('nobody')])).toEqual([{ segment: 'central', ts: 3000, lat: 31 + 3000 / 1e7, lng: 121 + 3000 / 1e7 }, undefined]);
    });

    it('never moves state back for out-of-order packets', async () => {
      const v = randomName('veh');
      await st.observe([obs(v, 5000, 'south')], H);
      const [r] = await st.observe([obs(v, 4000, 'central')], H);
      expect(r).toEqual({ duplicate: false, advanced: false, tookOver: false, prev: expect.objectContaining({ segment: 'south', ts: 5000 }) });
      expect((await st.get([v]))[0]).toMatchObject({ segment: 'south', ts: 5000 });
      // Equal timestamps do advance (a later arrival of the same instant wins).
      const [eq] = await st.observe([obs(v, 5000, 'north', 's9')], H);
      expect(eq!.advanced).toBe(true);
    });

    it('flags duplicates within the horizon, across committed calls and within a call, keeping ts precision', async () => {
      const v = randomName('veh');
      const ts = 1_795_300_000_123; // epoch ms beyond 2^40: must survive as an exact integer
      const r1 = await observeCommitted(st, [obs(v, ts, 'north', 's1'), obs(v, ts, 'north', 's1')], H);
      expect(r1.map((x) => x.duplicate)).toEqual([false, true]);
      const r2 = await st.observe([obs(v, ts, 'north', 's1'), obs(v, ts + 1, 'north', 's2')], H);
      expect(r2.map((x) => x.duplicate)).toEqual([true, false]);
      expect((await st.get([v]))[0]!.ts).toBe(ts + 1);
    });

    it('forgets dedup keys after the horizon', async () => {
      const v = randomName('veh');
      await observeCommitted(st, [obs(v, 1, 'north', 's1')], { dedupHorizonMs: 150 });
      await new Promise((r) => setTimeout(r, 400));
      const [r] = await st.observe([obs(v, 1, 'north', 's1')], { dedupHorizonMs: 150 });
      expect(r!.duplicate).toBe(false);
    });

    it('rollback releases dedup reservations and restores the prior state', async () => {
      const v = randomName('veh');
      await observeCommitted(st, [obs(v, 1000, 'north', 's1')], H);
      const batch = [obs(v, 2000, 'central', 's2'), obs(v, 3000, 'south', 's3')];
      const res = await st.observe(batch, H);
      expect((await st.get([v]))[0]!.segment).toBe('south');
      await st.settle(batch, res).rollback();
      expect((await st.get([v]))[0]).toMatchObject({ segment: 'north', ts: 1000 });
      // The same packets are neither duplicates nor take-overs on retry, and the earlier one is a duplicate.
      const retry = await st.observe([...batch, obs(v, 1000, 'north', 's1')], H);
      expect(retry.map((x) => [x.duplicate, x.tookOver])).toEqual([[false, false], [false, false], [true, false]]);
      expect(retry[0]!.prev?.segment).toBe('north');
      // Rolling back a vehicle with no earlier state removes it.
      const w = randomName('veh');
      await observeRolledBack(st, [obs(w, 10, 'north')], H);
      expect(await st.get([w])).toEqual([undefined]);
    });

    it('a settlement taken after observe works after the caller dropped its arrays', async () => {
      const v = randomName('veh');
      const w = randomName('veh');
      await observeCommitted(st, [obs(v, 1000, 'north', 's1')], H);
      // Mixed: a duplicate (kept reservation), an advance, a late packet, a new vehicle.
      let batch: Observation[] | undefined = [obs(v, 1000, 'north', 's1'), obs(v, 3000, 'south', 's3'), obs(v, 2000, 'central', 's2'), obs(w, 10, 'central', 's1')];
      let res = await st.observe(batch, H);
      expect(res.map((x) => [x.duplicate, x.advanced])).toEqual([[true, false], [false, true], [false, false], [false, true]]);
      const settlement = st.settle(batch, res);
      // The caller may reuse or drop what it passed in.
      batch.length = 0;
      res.length = 0;
      batch = undefined;
      expect((await st.get([v]))[0]).toMatchObject({ segment: 'south', ts: 3000 });
      await settlement.rollback();
      expect(await st.get([v, w])).toEqual([{ segment: 'north', ts: 1000, lat: 31 + 1000 / 1e7, lng: 121 + 1000 / 1e7 }, undefined]);
      // s2 and s3 were released, s1 (reserved by an earlier call) was not.
      res = await st.observe([obs(v, 3000, 'south', 's3'), obs(v, 2000, 'central', 's2'), obs(v, 1000, 'north', 's1'), obs(w, 10, 'central', 's1')], H);
      expect(res.map((x) => x.duplicate)).toEqual([false, false, true, false]);
    });

    // Several gateways share the state (docs/gateway.md, "Several gateways"): a second call
    // for the same key may come while the first is in flight, after it failed, or after its
    // process died without settling it.
    it('a reservation binds only once its call committed; before that a second call takes it over', async () => {
      const v = randomName('veh');
      const first = [obs(v, 1000, 'north', 's1')];
      const r1 = await st.observe(first, H); // in flight: not committed yet
      const retry = [obs(v, 1000, 'north', 's1')];
      const r2 = await st.observe(retry, H);
      expect(r2[0]).toMatchObject({ duplicate: false, tookOver: true, advanced: true });
      await st.settle(retry, r2).commit();
      // The first attempt lands too (its Kafka ack came late): both committed, a third is a duplicate.
      await st.settle(first, r1).commit();
      expect((await st.observe([obs(v, 1000, 'north', 's1')], H))[0]).toMatchObject({ duplicate: true, tookOver: false });
      // A call that never settles (its gateway died) blocks nobody: its reservation is taken over.
      const w = randomName('veh');
      await st.observe([obs(w, 5, 'south', 's9')], H);
      expect((await observeCommitted(st, [obs(w, 5, 'south', 's9')], H))[0]).toMatchObject({ duplicate: false, tookOver: true });
      expect((await st.observe([obs(w, 5, 'south', 's9')], H))[0]!.duplicate).toBe(true);
    });

    it('rollback is compare-and-set: a later call\'s state and a taken-over reservation stand', async () => {
      const v = randomName('veh');
      await observeCommitted(st, [obs(v, 1000, 'north', 's1')], H);
      // Gateway A advances to central; gateway B (another process) advances to south on top.
      const a = [obs(v, 2000, 'central', 's2')];
      const ra = await st.observe(a, H);
      const b = [obs(v, 3000, 'south', 's3')];
      const rb = await st.observe(b, H);
      expect(rb[0]!.prev?.segment).toBe('central');
      await st.settle(b, rb).commit();
      await st.settle(a, ra).rollback(); // A's produce failed: B's newer state must stand
      expect((await st.get([v]))[0]).toMatchObject({ segment: 'south', ts: 3000 });
      // A's released reservation: the client's retry is accepted (late now, no crossing).
      const retry = await observeCommitted(st, [obs(v, 2000, 'central', 's2')], H);
      expect(retry[0]).toMatchObject({ duplicate: false, advanced: false, tookOver: false });

      // The same packet on two gateways (a retry racing its first attempt): both write the
      // same state; the first attempt's rollback must not undo the retry's write (ABA).
      const w = randomName('veh');
      await observeCommitted(st, [obs(w, 1000, 'north', 's1')], H);
      const p = [obs(w, 2000, 'central', 's2')];
      const r1 = await st.observe(p, H);
      const r2 = await st.observe(p, H);
      expect(r2[0]).toMatchObject({ tookOver: true, advanced: true, prev: { segment: 'central', ts: 2000 } });
      await st.settle(p, r2).commit();
      await st.settle(p, r1).rollback();
      expect((await st.get([w]))[0]).toMatchObject({ segment: 'central', ts: 2000 });
      expect((await st.observe(p, H))[0]!.duplicate).toBe(true); // the retry's reservation was not released
    });

    it('handles a large batch in one call', async () => {
      const ids = Array.from({ length: 500 }, () => randomName('veh'));
      const r = await st.observe(ids.map((id, i) => obs(id, i + 1, i % 2 ? 'north' : 'south')), H);
      expect(r).toHaveLength(500);
      expect(r.every((x) => !x.duplicate && x.advanced && x.prev === undefined)).toBe(true);
      const got = await st.get(ids);
      expect(got.map((g) => g?.segment)).toEqual(ids.map((_, i) => (i % 2 ? 'north' : 'south')));
    });
  });
}
