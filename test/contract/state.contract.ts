// The VehicleState interface's spec. Redis and in-memory adapters run this same suite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Observation, VehicleState } from '../../src/state/index.ts';
import { randomName } from '../helpers/index.ts';

const H = { dedupHorizonMs: 60_000 };

function obs(vehicleId: string, ts: number, segment: string, dedupKey = `t${ts}`): Observation {
  return { vehicleId, dedupKey, ts, segment, lat: 31 + ts / 1e7, lng: 121 + ts / 1e7 };
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
      expect(r).toEqual({ duplicate: false, advanced: false, prev: expect.objectContaining({ segment: 'south', ts: 5000 }) });
      expect((await st.get([v]))[0]).toMatchObject({ segment: 'south', ts: 5000 });
      // Equal timestamps do advance (a later arrival of the same instant wins).
      const [eq] = await st.observe([obs(v, 5000, 'north', 's9')], H);
      expect(eq!.advanced).toBe(true);
    });

    it('flags duplicates within the horizon, across and within calls, keeping ts precision', async () => {
      const v = randomName('veh');
      const ts = 1_795_300_000_123; // epoch ms beyond 2^40: must survive as an exact integer
      const r1 = await st.observe([obs(v, ts, 'north', 's1'), obs(v, ts, 'north', 's1')], H);
      expect(r1.map((x) => x.duplicate)).toEqual([false, true]);
      const r2 = await st.observe([obs(v, ts, 'north', 's1'), obs(v, ts + 1, 'north', 's2')], H);
      expect(r2.map((x) => x.duplicate)).toEqual([true, false]);
      expect((await st.get([v]))[0]!.ts).toBe(ts + 1);
    });

    it('forgets dedup keys after the horizon', async () => {
      const v = randomName('veh');
      await st.observe([obs(v, 1, 'north', 's1')], { dedupHorizonMs: 150 });
      await new Promise((r) => setTimeout(r, 400));
      const [r] = await st.observe([obs(v, 1, 'north', 's1')], { dedupHorizonMs: 150 });
      expect(r!.duplicate).toBe(false);
    });

    it('rollback releases dedup reservations and restores the prior state', async () => {
      const v = randomName('veh');
      await st.observe([obs(v, 1000, 'north', 's1')], H);
      const batch = [obs(v, 2000, 'central', 's2'), obs(v, 3000, 'south', 's3')];
      const res = await st.observe(batch, H);
      expect((await st.get([v]))[0]!.segment).toBe('south');
      await st.rollback(batch, res);
      expect((await st.get([v]))[0]).toMatchObject({ segment: 'north', ts: 1000 });
      // The same packets are not duplicates on retry, and the earlier one still is.
      const retry = await st.observe([...batch, obs(v, 1000, 'north', 's1')], H);
      expect(retry.map((x) => x.duplicate)).toEqual([false, false, true]);
      expect(retry[0]!.prev?.segment).toBe('north');
      // Rolling back a vehicle with no earlier state removes it.
      const w = randomName('veh');
      const one = [obs(w, 10, 'north')];
      await st.rollback(one, await st.observe(one, H));
      expect(await st.get([w])).toEqual([undefined]);
    });

    it('an undoer taken after observe does what rollback does, after the caller dropped its arrays', async () => {
      const v = randomName('veh');
      const w = randomName('veh');
      await st.observe([obs(v, 1000, 'north', 's1')], H);
      // Mixed: a duplicate (kept reservation), an advance, a late packet, a new vehicle.
      let batch: Observation[] | undefined = [obs(v, 1000, 'north', 's1'), obs(v, 3000, 'south', 's3'), obs(v, 2000, 'central', 's2'), obs(w, 10, 'central', 's1')];
      let res = await st.observe(batch, H);
      expect(res.map((x) => [x.duplicate, x.advanced])).toEqual([[true, false], [false, true], [false, false], [false, true]]);
      const undo = st.undoer(batch, res);
      // The caller may reuse or drop what it passed in.
      batch.length = 0;
      res.length = 0;
      batch = undefined;
      expect((await st.get([v]))[0]).toMatchObject({ segment: 'south', ts: 3000 });
      await undo();
      expect(await st.get([v, w])).toEqual([{ segment: 'north', ts: 1000, lat: 31 + 1000 / 1e7, lng: 121 + 1000 / 1e7 }, undefined]);
      // s2 and s3 were released, s1 (reserved by an earlier call) was not.
      res = await st.observe([obs(v, 3000, 'south', 's3'), obs(v, 2000, 'central', 's2'), obs(v, 1000, 'north', 's1'), obs(w, 10, 'central', 's1')], H);
      expect(res.map((x) => x.duplicate)).toEqual([false, false, true, false]);
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
