// Several gateway processes behind no sticky routing (issue #16, docs/gateway.md "Several
// gateways"): three real `iov gateway` processes on the shared Redis and Kafka mock cluster
// receive requests for the same vehicles at the same time, and client retries whose first
// attempt landed, was lost, or was cut off by a dead gateway. Checked against a model of the
// single-process rules, run over every order in which the racing requests may have reached
// Redis: each packet owned in exactly one segment (its own), crossing copies exactly where
// the state changed, and no packet produced twice except a take-over, which lands in the
// same segment as the first copy (so the segment processor's dedup keeps one).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postPackets, type PostResult } from '../../src/sim/index.ts';
import { createRedisState } from '../../src/state/index.ts';
import { createSegmentLookup } from '../../src/topology/index.ts';
import { infra, randomName } from '../helpers/index.ts';
import { fleet, lossyFront, privateTopology, readAll, rng, startGateway, stopGateway, topics, writeTopologyFile, type GatewayProcess, type ReadBack, type TestPacket } from './helpers.ts';

async function takeovers(gw: GatewayProcess): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return Number(/^iov_gateway_dedup_takeovers_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

/** A message as the model predicts it: an owned copy or a crossing copy of one packet. */
type Msg = string;
const owned = (p: TestPacket, segment: string, prevSegment: string | null): Msg => `owned ${p.seq} in ${segment} prev ${prevSegment}`;
const crossingCopy = (p: TestPacket, from: string, to: string): Msg => `crossing ${p.seq} in ${from} owner ${to}`;
const sorted = (xs: Msg[]) => [...xs].sort();

interface Arrival {
  packet: TestPacket;
  /** A second copy of a packet already in the round (a client retry racing its first attempt). */
  retry: boolean;
}

/**
 * The single-process rules (DESIGN.md §3) for one vehicle, with the observations of one
 * round applied in `order`: every message they produce, and the state after. A retry that
 * arrives after its first copy is, in the model, either a duplicate (the first attempt had
 * committed) or taken over and produced again (it had not): `retryProduced` picks.
 */
function model(state: { segment: string; ts: number } | undefined, order: Arrival[], segOf: (p: TestPacket) => string, retryProduced: boolean) {
  const msgs: Msg[] = [];
  let st = state;
  const seen = new Set<number>();
  for (const { packet: p } of order) {
    if (seen.has(p.seq) && !retryProduced) continue;
    seen.add(p.seq);
    const seg = segOf(p);
    msgs.push(owned(p, seg, st?.segment ?? null));
    if (!st || p.ts >= st.ts) {
      if (st && st.segment !== seg) msgs.push(crossingCopy(p, st.segment, seg));
      st = { segment: seg, ts: p.ts };
    }
  }
  return { msgs, state: st };
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

describe('several gateway processes on one Redis and one Kafka', () => {
  const topo = privateTopology();
  const dir = mkdtempSync(join(tmpdir(), 'iov-gw-multi-'));
  const file = join(dir, 'topology.json');
  const gws: GatewayProcess[] = [];
  const lookup = createSegmentLookup(topo);
  const segOf = (p: TestPacket) => lookup.route(p.lat, p.lng).segment!;
  const brokers = () => infra().kafka!.brokers;

  beforeAll(async () => {
    writeTopologyFile(file, topo, infra());
    gws.push(...(await Promise.all([0, 1, 2].map(() => startGateway(file)))));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(gws.map(stopGateway));
    rmSync(dir, { recursive: true, force: true });
  });

  it('racing requests for the same vehicles, racing retries and retries after a lost answer, a lost request or a dead gateway', async () => {
    const rand = rng(16);
    const prefix = randomName('mv');
    const rounds = 8;
    const vehicles = 24;
    const t0 = Date.now() - 2 * rounds * 1000 - 60_000;
    const all = fleet({ vehicles, steps: 2 * rounds, t0, prefix, seed: 16 });
    const track = new Map<string, TestPacket[]>();
    for (const p of all) {
      const t = track.get(p.vehicleId) ?? [];
      t.push(p);
      track.set(p.vehicleId, t);
    }
    const ids = [...track.keys()];
    const opts = (target: number) => ({ targets: [gws[target % 3]!.url], retries: 0, timeoutMs: 20_000 });
    const answers: PostResult[] = [];
    // Per vehicle and round: the arrivals that raced.
    const raced = new Map<string, Arrival[][]>();
    for (const id of ids) raced.set(id, []);

    // Each round: packets 2r and 2r+1 of every vehicle, the vehicles split into three groups;
    // per group one request with the earlier packets and one with the later, to two
    // different gateways, and for one group in two a third request repeating the earlier
    // packets on the third gateway. All of a round's requests are in flight at once.
    for (let r = 0; r < rounds; r++) {
      const groups: string[][] = [[], [], []];
      for (const id of ids) groups[Math.floor(rand() * 3)]!.push(id);
      const posts: Promise<PostResult>[] = [];
      groups.forEach((g, gi) => {
        if (g.length === 0) return;
        const first = g.map((id) => track.get(id)![2 * r]!);
        const second = g.map((id) => track.get(id)![2 * r + 1]!);
        const retry = (r + gi) % 2 === 0;
        for (const id of g) {
          const a = track.get(id)![2 * r]!;
          const b = track.get(id)![2 * r + 1]!;
          raced.get(id)!.push([{ packet: a, retry: false }, { packet: b, retry: false }, ...(retry ? [{ packet: a, retry: true }] : [])]);
        }
        const base = r + gi;
        posts.push(postPackets(first, opts(base)), postPackets(second, opts(base + 1)));
        if (retry) posts.push(postPackets(first, opts(base + 2)));
      });
      answers.push(...(await Promise.all(posts)));
    }
    expect(answers.every((a) => a.status === 200 && a.rejected === 0)).toBe(true);

    // Client retries on the next gateway: the first attempt landed but its answer was lost
    // (connection dropped), or it never arrived (the client timed out).
    const landed = fleet({ vehicles: 5, steps: 1, t0: Date.now() - 1000, prefix: `${prefix}-landed`, seed: 3 });
    const lost = fleet({ vehicles: 5, steps: 1, t0: Date.now() - 1000, prefix: `${prefix}-lost`, seed: 4 });
    const landedFront = await lossyFront(gws[0]!.url, 'answer-lost');
    const lostFront = await lossyFront(gws[0]!.url, 'request-lost');
    const rLanded = await postPackets(landed, { targets: [landedFront.url, gws[1]!.url], timeoutMs: 60_000, backoffMs: 1 });
    const rLost = await postPackets(lost, { targets: [lostFront.url, gws[1]!.url], timeoutMs: 1_500, backoffMs: 1 });
    for (const f of [landedFront, lostFront]) f.server.closeAllConnections(), f.server.close();
    expect(rLanded).toMatchObject({ status: 200, retries: 1, accepted: 0, duplicates: 5 });
    expect(rLost).toMatchObject({ status: 200, retries: 1, accepted: 5, duplicates: 0 });

    // A gateway that died between its state call and its produce: its reservations were
    // never committed (stand-in: the state call alone, on the gateways' Redis keys). The
    // client's retry on a live gateway is taken over and produced.
    const dead = fleet({ vehicles: 5, steps: 1, t0: Date.now() - 1000, prefix: `${prefix}-dead`, seed: 5 });
    const st = createRedisState({ url: infra().redis!.url });
    await st.observe(dead.map((p) => ({ vehicleId: p.vehicleId, dedupKey: `s${p.seq}`, ts: p.ts, segment: segOf(p), lat: p.lat, lng: p.lng })), { dedupHorizonMs: 600_000 });
    await st.close();
    const before = await takeovers(gws[2]!);
    const rDead = await postPackets(dead, { targets: [gws[2]!.url], retries: 0 });
    expect(rDead).toMatchObject({ status: 200, accepted: 5, duplicates: 0 });
    expect((await takeovers(gws[2]!)) - before).toBe(5);

    const results = [...answers, rLanded, rLost, rDead];
    // + the landed first attempt whose answer the front dropped (new vehicles: no crossings).
    const produced = results.reduce((n, a) => n + a.accepted + a.crossings, 0) + landed.length;
    const msgs = await readAll(brokers(), topics(topo), produced, { timeoutMs: 60_000, quietMs: 1_000 });
    expect(msgs).toHaveLength(produced);
    const byVehicle = new Map<string, ReadBack[]>();
    for (const m of msgs) {
      const list = byVehicle.get(m.packet.vehicleId) ?? [];
      list.push(m);
      byVehicle.set(m.packet.vehicleId, list);
    }
    const describe = (m: ReadBack): Msg => (m.packet.crossing ? crossingCopy(m.packet as unknown as TestPacket, m.packet.segment, m.packet.ownerSegment) : owned(m.packet as unknown as TestPacket, m.packet.segment, m.packet.prevSegment));

    // Every message is well formed: an owned copy in the packet's own segment, a crossing
    // copy elsewhere owned by that segment; the topic is the segment's; the key the vehicle.
    for (const m of msgs) {
      const own = segOf(m.packet as unknown as TestPacket);
      expect(m.packet.ownerSegment).toBe(own);
      expect(m.packet.crossing).toBe(m.packet.segment !== own);
      expect(m.topic).toBe(`iov.seg.${m.packet.segment}.packets`);
      expect(m.key).toBe(m.packet.vehicleId);
    }

    // The racing rounds, vehicle by vehicle: the messages of each round are those of the
    // single-process rules for one of the orders the round's requests may have reached
    // Redis in (Kafka keeps a vehicle's messages in order within a partition, but two
    // gateways' produces of one round may interleave, so a round is compared as a set).
    let extraCopies = 0;
    for (const id of ids) {
      const got = byVehicle.get(id) ?? [];
      let state: { segment: string; ts: number } | undefined;
      const rounds_ = raced.get(id)!;
      for (const [r, arrivals] of rounds_.entries()) {
        const seqs = new Set(arrivals.map((a) => a.packet.seq));
        const observed = sorted(got.filter((m) => seqs.has(m.packet.seq!)).map(describe));
        const candidates = permutations(arrivals).flatMap((order) => [false, true].map((retryProduced) => model(state, order, segOf, retryProduced)));
        const match = candidates.find((c) => JSON.stringify(sorted(c.msgs)) === JSON.stringify(observed));
        expect(match, `${id} round ${r}: ${JSON.stringify(observed)} is no order's outcome; e.g. ${JSON.stringify(sorted(candidates[0]!.msgs))}`).toBeDefined();
        state = match!.state;
        extraCopies += observed.filter((x) => x.startsWith('owned')).length - seqs.size;
      }
      // Each packet owned in exactly one segment, whatever number of copies.
      for (const p of track.get(id)!) {
        const ownedCopies = got.filter((m) => m.packet.seq === p.seq && !m.packet.crossing);
        expect(ownedCopies.length).toBeGreaterThanOrEqual(1);
        expect(new Set(ownedCopies.map((m) => m.packet.segment))).toEqual(new Set([segOf(p)]));
      }
    }
    // Copies beyond the first are exactly the gateways' take-overs (racing retries and the dead gateway's).
    const total = (await Promise.all(gws.map(takeovers))).reduce((a, b) => a + b, 0);
    expect(total).toBe(extraCopies + 5);

    // The retried requests: one owned copy per packet, whether the first attempt landed or not.
    for (const p of [...landed, ...lost, ...dead]) {
      const copies = (byVehicle.get(p.vehicleId) ?? []).filter((m) => !m.packet.crossing);
      expect(copies.map((m) => m.packet.seq)).toEqual([p.seq]);
    }
  }, 180_000);
});
