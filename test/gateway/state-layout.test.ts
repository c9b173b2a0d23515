// The Redis adapter's key layout (dedup entries inside the vehicle's hash, docs/gateway.md
// "Vehicle state layout"): cases the VehicleState contract does not reach. Behavioural cases
// run on Redis and on the in-memory adapter alike; layout cases look into Redis directly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createMemoryState, createRedisState, type Observation, type VehicleState } from '../../src/state/index.ts';
import { infra, randomName } from '../helpers/index.ts';
import { observeCommitted } from '../contract/state.contract.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ob = (vehicleId: string, seq: number, ts = 1_795_300_000_000 + seq * 1000): Observation => ({ vehicleId, dedupKey: `s${seq}`, ts, segment: seq % 2 ? 'north' : 'south', lat: 31.2, lng: 121.4 + seq / 1e6 });

for (const kind of ['redis', 'memory'] as const)
describe(`vehicle state beyond the contract (${kind})`, () => {
  let st: VehicleState;
  beforeAll(() => {
    st = kind === 'redis' ? createRedisState({ url: infra().redis!.url, keyPrefix: `${randomName('lay')}:` }) : createMemoryState();
  });
  afterAll(async () => {
    await st?.close();
  });

  it('a dedup entry expires after the horizon even while the vehicle keeps sending', async () => {
    const v = randomName('veh');
    // (s6 must still be inside the horizon one round trip after it was sent: a 300-ms horizon
    // left a loaded box too little room; 2 s of sends against a 1.5-s horizon)
    const H = { dedupHorizonMs: 1_500, stateTtlMs: 60_000 };
    expect((await observeCommitted(st, [ob(v, 1)], H))[0]!.duplicate).toBe(false);
    for (let s = 2; s <= 6; s++) {
      await sleep(400);
      expect((await observeCommitted(st, [ob(v, s)], H))[0]!.duplicate).toBe(false);
    }
    // s1 is older than the horizon now; s6 is not.
    const r = await st.observe([ob(v, 1), ob(v, 6)], H);
    expect(r.map((x) => x.duplicate)).toEqual([false, true]);
  });

  it('many packets of one vehicle in one request (more than one Lua chunk of fields)', async () => {
    const v = randomName('veh');
    const H = { dedupHorizonMs: 60_000 };
    const batch = Array.from({ length: 2_500 }, (_, i) => ob(v, i + 1));
    // Out of order inside the request: a late packet reserves its key but does not advance.
    batch.splice(10, 0, ob(v, 99_999, 1_000));
    const r = await observeCommitted(st, batch, H);
    expect(r.filter((x) => x.duplicate)).toHaveLength(0);
    expect(r[10]).toMatchObject({ advanced: false, prev: { ts: batch[9]!.ts } });
    expect(r.filter((x) => x.advanced)).toHaveLength(2_500);
    expect((await st.get([v]))[0]!.ts).toBe(batch.at(-1)!.ts);
    const again = await st.observe([...batch.slice(0, 3), ob(v, 3_000)], H);
    expect(again.map((x) => x.duplicate)).toEqual([true, true, true, false]);
  });

  it('rolling back the vehicle\'s first state keeps the dedup entries of other requests', async () => {
    const v = randomName('veh');
    const H = { dedupHorizonMs: 60_000 };
    const first = [ob(v, 1, 10_000)];
    const r1 = await st.observe(first, H);
    await observeCommitted(st, [ob(v, 2, 5_000)], H); // older: reserved, state unchanged
    await st.settle(first, r1).rollback();
    expect(await st.get([v])).toEqual([undefined]);
    const r = await st.observe([ob(v, 2, 5_000), ob(v, 1, 10_000)], H);
    expect(r.map((x) => x.duplicate)).toEqual([true, false]);
    expect(r[1]!.prev).toBeUndefined();
  });
});

describe('Redis layout: one hash per vehicle, TTL and pruning', () => {
  const prefix = `${randomName('lay')}:`;
  let st: VehicleState;
  let raw: Redis;
  beforeAll(() => {
    st = createRedisState({ url: infra().redis!.url, keyPrefix: prefix });
    raw = new Redis(infra().redis!.url);
  });
  afterAll(async () => {
    await st?.close();
    raw?.disconnect();
  });

  it('a request touches only its vehicles\' hashes, with TTL max(stateTtl, horizon) (+ upkeep period)', async () => {
    const v = randomName('veh');
    await st.observe([ob(v, 1), ob(v, 2)], { dedupHorizonMs: 60_000, stateTtlMs: 120_000 });
    expect(await raw.exists(`${prefix}v:${v}`, `${prefix}d:${v}:s1`, `${prefix}d:${v}:s2`)).toBe(1); // no key per dedup entry
    expect((await raw.hkeys(`${prefix}v:${v}`)).filter((f) => f.startsWith('d')).sort()).toEqual(['ds1', 'ds2']);
    const pttl = await raw.pttl(`${prefix}v:${v}`);
    expect(pttl).toBeGreaterThan(110_000);
    expect(pttl).toBeLessThanOrEqual(120_000 + 12_000);
    expect(await raw.object('ENCODING', `${prefix}v:${v}`)).toBe('hashtable');
    // Horizon longer than the state TTL: the hash lives as long as the horizon.
    const w = randomName('veh');
    await st.observe([ob(w, 1)], { dedupHorizonMs: 200_000, stateTtlMs: 1_000 });
    expect(await raw.pttl(`${prefix}v:${w}`)).toBeGreaterThan(190_000);
    // No state TTL: no key expiry (entries are pruned instead).
    const u = randomName('veh');
    await st.observe([ob(u, 1)], { dedupHorizonMs: 1_000, stateTtlMs: 0 });
    expect(await raw.pttl(`${prefix}v:${u}`)).toBe(-1);
  });

  it('expired dedup entries are pruned: the hash stays bounded', async () => {
    const v = randomName('veh');
    const key = `${prefix}v:${v}`;
    // Upkeep every 500 ms (T/10). The key must outlive the sleep below (TTL 5 s + 0.5 s) while
    // every entry expires (50 ms): a TTL close to the sleep made this test fail on a loaded
    // box, where a 60 ms sleep took longer than the key's 110 ms life.
    const H = { dedupHorizonMs: 50, stateTtlMs: 5_000 };
    await st.observe(Array.from({ length: 300 }, (_, i) => ob(v, i + 1)), H);
    // Pruned at once (nothing expired yet): the threshold is now twice the live count.
    expect(await raw.hget(key, 'p')).toBe('600');
    await sleep(600); // all 300 entries expired and upkeep is due; the key itself lives on
    await st.observe(Array.from({ length: 400 }, (_, i) => ob(v, 301 + i)), H);
    // 700 entries > 600: the expired 300 are gone, the 400 live ones stay.
    const fields = (await raw.hkeys(key)).filter((f) => f.startsWith('d'));
    expect(fields.sort()).toEqual(Array.from({ length: 400 }, (_, i) => `ds${301 + i}`).sort());
    expect(await raw.hget(key, 'p')).toBe('800');
    expect((await st.get([v]))[0]!.ts).toBe(ob(v, 700).ts);
  });

  it('the state is one packed field; a hash of the earlier layout is read and rewritten packed', async () => {
    const v = randomName('veh');
    const key = `${prefix}v:${v}`;
    await st.observe([ob(v, 1)], { dedupHorizonMs: 60_000, stateTtlMs: 0 });
    expect(await raw.hget(key, 'q')).toBe(`${ob(v, 1).ts}|31.2|${121.4 + 1 / 1e6}|north`);
    expect(await raw.hmget(key, 's', 't', 'a', 'o')).toEqual([null, null, null, null]);
    // Earlier layout: s, t, a, o (and a dedup entry), as a gateway before the change wrote it.
    const w = randomName('veh');
    const old = `${prefix}v:${w}`;
    await raw.hset(old, 's', 'central', 't', '1795300000000', 'a', '31.25', 'o', '121.5', 'ds7', String(Date.now() + 60_000));
    expect(await st.get([w])).toEqual([{ segment: 'central', ts: 1_795_300_000_000, lat: 31.25, lng: 121.5 }]);
    // A late packet leaves it as it is; the duplicate is still known.
    const late = await st.observe([ob(w, 8, 1_795_200_000_000), ob(w, 7)], { dedupHorizonMs: 60_000 });
    expect(late.map((r) => [r.duplicate, r.advanced, r.prev?.segment])).toEqual([[false, false, 'central'], [true, false, 'central']]);
    expect(await raw.hget(old, 'q')).toBeNull();
    // An advance rewrites it packed and removes the old fields; rollback restores the packed form.
    const adv = [ob(w, 9)];
    const res = await st.observe(adv, { dedupHorizonMs: 60_000 });
    expect(res[0]).toEqual({ duplicate: false, advanced: true, tookOver: false, prev: { segment: 'central', ts: 1_795_300_000_000, lat: 31.25, lng: 121.5 } });
    expect(await raw.hmget(old, 's', 't', 'a', 'o')).toEqual([null, null, null, null]);
    expect(await raw.hget(old, 'q')).toBe(`${ob(w, 9).ts}|31.2|${121.4 + 9 / 1e6}|north`);
    await st.settle(adv, res).rollback();
    expect(await raw.hget(old, 'q')).toBe('1795300000000|31.25|121.5|central');
    expect(await st.get([w])).toEqual([{ segment: 'central', ts: 1_795_300_000_000, lat: 31.25, lng: 121.5 }]);
  });
});
