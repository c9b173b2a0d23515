// The pure flow functions, no servers: the streaming path (processBatch + PartitionWindows)
// cut into arbitrary batches and "restarted" from its resume points equals the batch oracle;
// the speed and lateness rules at their edges; poison is reported, never thrown.
import { latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import {
  batchTrafficFlow, decodeRows, encodedMonthRuns, packMessages, packRows, PartitionWindows, processBatch, rowSlice, unpackRows,
  DedupKeys, dedupId, windowStartOf, withinDedupHorizon,
  type BatchTask, type FlowRow, type FlowRules, type OraclePacket, type PacketRow,
} from '../../src/flow/index.ts';
import { enrichedPacketCodec, tickCodec, type EnrichedPacket, type WatermarkTick } from '../../src/schemas/index.ts';
import { rng } from '../helpers/index.ts';

const codec = enrichedPacketCodec();
const CELLS = Array.from({ length: 5 }, (_, i) => latLngToCell(31.2 + i * 0.003, 121.4, 9));

function packet(over: Partial<EnrichedPacket>): EnrichedPacket {
  return {
    vehicleId: 'v1', seq: null, ts: 1_700_000_000_000, lat: 31.2, lng: 121.4, speedKmh: 50, heading: null, extra: {},
    cell: CELLS[0]!, segment: 'S', ownerSegment: 'S', crossing: false, prevSegment: null, ingestTs: 0, gatewayId: 'g', ...over,
  };
}

/** A watermark tick as it sits in a segment topic. */
const tick = (ts: number): WatermarkTick => ({ ts, gatewayId: 'g' });
function isTickRecord(p: EnrichedPacket | WatermarkTick): p is WatermarkTick {
  return !('vehicleId' in p);
}

function task(packets: (EnrichedPacket | WatermarkTick | Buffer)[], first: number, rules: FlowRules, wm: number, extra: Partial<BatchTask> = {}): BatchTask {
  const values = packets.map((p) => (Buffer.isBuffer(p) ? p : isTickRecord(p) ? tickCodec().encode(p) : codec.encode(p)));
  const { data, ends } = packMessages(values);
  return {
    segment: 'S', partition: 0, rules, data, ends, offsets: Float64Array.from(values, (_, i) => first + i), wm,
    skipWindows: [], packetsFrom: 0, ...extra,
  };
}

/**
 * Stream one partition's log through processBatch in random cuts, restarting from resume
 * points, as the processor does: duplicates checked on the main thread (DedupKeys) and the
 * batch re-run without them, the key set rebuilt on restart from the stored packets below
 * the resume point. Returns the stored flow rows and packets rows.
 */
function stream(log: (EnrichedPacket | WatermarkTick)[], rules: FlowRules, seed: number): { flow: FlowRow[]; packets: PacketRow[]; openAtEnd: number } {
  const r = rng(seed);
  const stored: FlowRow[] = [];
  const packets: PacketRow[] = [];
  const storedWindows = new Set<number>();
  let commit = { offset: 0, wm: -Infinity };
  let state = new PartitionWindows('S', rules, commit.wm);
  let dedup = new DedupKeys(rules);
  let next = 0;
  let packetsFrom = 0;
  let skip = new Set<number>();
  while (next < log.length) {
    const n = 1 + Math.floor(r() * 40);
    const batch = log.slice(next, next + n);
    const t = (extra: Partial<BatchTask>) => task(batch, next, rules, state.wm, { skipWindows: [...skip], packetsFrom, ...extra });
    let res = processBatch(t({}));
    const duplicates = dedup.check(res.keys);
    if (duplicates.length) res = processBatch(t({ duplicates }));
    dedup.evict(res.wm);
    packets.push(...res.rows);
    packetsFrom = Math.max(packetsFrom, next + batch.length);
    state.apply(res);
    for (const w of state.closed()) {
      stored.push(...w.rows);
      storedWindows.add(w.windowStart);
      state.remove([w.windowStart]);
    }
    next += batch.length;
    commit = state.resumePoint(next);
    if (r() < 0.2) {
      // Restart: rebuild from the commit, skipping windows already stored.
      state = new PartitionWindows('S', rules, commit.wm);
      next = commit.offset;
      skip = new Set(storedWindows);
      dedup = new DedupKeys(rules);
      const wm = commit.wm;
      dedup.load(packets.filter((p) => Number(p.kafka_offset) < next).map((p) => ({ vehicleId: p.vehicle_id, id: dedupId(p.seq, p.ts_ms), windowStart: windowStartOf(p.ts_ms, rules.windowS) }))
        .filter((k) => withinDedupHorizon(k.windowStart, wm, rules)));
    }
  }
  const openAtEnd = state.openCount;
  state.advanceToCloseAll();
  for (const w of state.closed(true)) stored.push(...w.rows);
  return { flow: stored.sort((a, b) => a.windowStart - b.windowStart || (a.cell < b.cell ? -1 : 1)), packets, openAtEnd };
}

describe('streaming flow equals the batch oracle', () => {
  for (const [seed, ticks] of [[1, false], [2, false], [3, true], [4, true]] as const) {
    it(`random batch cuts and restarts (seed ${seed}${ticks ? ', with watermark ticks and a quiet tail' : ''})`, () => {
      const r = rng(seed * 97);
      const rules: FlowRules = { windowS: 10, allowedLatenessMs: 2000, dedupHorizonMs: 5000 };
      const log: (EnrichedPacket | WatermarkTick)[] = [];
      const seqs = new Map<string, number>();
      for (let i = 0; i < 1500; i++) {
        const roll = r();
        const vehicleId = `v${Math.floor(r() * 30)}`;
        const seq = (seqs.get(vehicleId) ?? 0) + 1;
        seqs.set(vehicleId, seq);
        log.push(packet({
          vehicleId, seq: r() < 0.2 ? null : seq,
          ts: 1_700_000_000_000 + i * 200 + Math.floor((r() - 0.5) * 6000) - (r() < 0.03 ? 40_000 : 0),
          speedKmh: roll < 0.1 ? null : roll < 0.2 ? 0 : Math.fround(r() * 130),
          cell: CELLS[Math.floor(r() * CELLS.length)]!,
          crossing: r() < 0.05,
        }));
        // A client retry whose first attempt landed: the same packet again, soon (same window)
        // or much later (its window closed; within or past the duplicate horizon).
        if (r() < 0.06 && log.length > 1) {
          const back = r() < 0.5 ? 1 + Math.floor(r() * 10) : 30 + Math.floor(r() * 150);
          log.push({ ...log[Math.max(0, log.length - 1 - back)]! });
        }
        // A gateway's tick: its clock minus the idle timeout, sometimes ahead of the packets
        // (it then makes later packets late), mostly behind them (a no-op).
        if (ticks && r() < 0.05) log.push(tick(1_700_000_000_000 + i * 200 + Math.floor((r() - 0.7) * 8000)));
      }
      // The stream goes quiet: only ticks, past the last window's end + lateness.
      if (ticks) for (let k = 1; k <= 30; k++) log.push(tick(1_700_000_000_000 + 1500 * 200 + k * 1000));
      const oracle = batchTrafficFlow(log.map((p) => (isTickRecord(p) ? { tick: true as const, ts: p.ts, segment: 'S', partition: 0 } : { ...(p as EnrichedPacket), partition: 0 })),
        { windowS: 10, allowedLatenessS: 2, dedupHorizonS: 5 });
      expect(oracle.late.length).toBeGreaterThan(10);
      expect(oracle.duplicates.length).toBeGreaterThan(10);
      const { flow: got, packets, openAtEnd } = stream(log, rules, seed);
      // With ticks, the log's contents alone closed every window: none waited for end of stream.
      if (ticks) expect(openAtEnd).toBe(0);
      else expect(openAtEnd).toBeGreaterThan(0);
      // Stored packets: every owned packet once, duplicates never, late ones flagged.
      expect(packets.length).toBe(oracle.owned);
      expect(packets.filter((p) => p.late).map((p) => `${p.vehicle_id}@${p.ts_ms}`).sort()).toEqual(oracle.late.map((p) => `${p.vehicleId}@${p.ts}`).sort());
      expect(got.map(({ speedSum, invSpeedSum, ...rest }) => rest)).toEqual(oracle.rows.map(({ speedSum, invSpeedSum, ...rest }) => rest));
      for (const [i, g] of got.entries()) {
        expect(g.speedSum).toBeCloseTo(oracle.rows[i]!.speedSum, 6);
        expect(g.invSpeedSum).toBeCloseTo(oracle.rows[i]!.invSpeedSum, 9);
      }
    });
  }
});

describe('flow rules', () => {
  const rules: FlowRules = { windowS: 60, allowedLatenessMs: 5000 };
  const t0 = Date.UTC(2024, 0, 1, 12, 0, 0);

  it('counts a packet without speed in packets only, and a zero speed as 1 km/h in the inverse sum', () => {
    const res = processBatch(task([
      packet({ ts: t0, speedKmh: null, vehicleId: 'a' }),
      packet({ ts: t0 + 1, speedKmh: 0, vehicleId: 'a' }),
      packet({ ts: t0 + 2, speedKmh: 40, vehicleId: 'b' }),
    ], 0, rules, -Infinity));
    expect(res.cells).toHaveLength(1);
    const c = res.cells[0]!;
    expect({ v: c.vehicles.sort(), p: c.packets, n: c.speedCount, s: c.speedSum, inv: c.invSpeedSum, min: c.minSpeed, max: c.maxSpeed })
      .toEqual({ v: ['a', 'b'], p: 3, n: 2, s: 40, inv: 1 + 1 / 40, min: 0, max: 40 });
    expect(res.rows.map((r) => [r.has_speed, r.speed_kmh])).toEqual([[0, 0], [1, 0], [1, 40]]);
    const oracle = batchTrafficFlow([packet({ ts: t0, speedKmh: null, vehicleId: 'a' }), packet({ ts: t0 + 1, speedKmh: 0, vehicleId: 'a' }), packet({ ts: t0 + 2, speedKmh: 40, vehicleId: 'b' })], { windowS: 60 });
    expect(oracle.rows[0]).toMatchObject({ vehicles: 2, packets: 3, speedCount: 2, speedSum: 40, invSpeedSum: 1 + 1 / 40, minSpeed: 0, maxSpeed: 40 });
  });

  it('is late exactly when window end + lateness ≤ the watermark before it', () => {
    const end = t0 + 60_000;
    const res = processBatch(task([
      packet({ ts: end + 4999 }), // watermark now end + 4999: the first window is still open
      packet({ ts: t0 + 10 }),
      packet({ ts: end + 5000 }), // watermark reaches end + 5000: closed
      packet({ ts: t0 + 20 }),
    ], 0, rules, -Infinity));
    expect(res.rows.map((r) => r.late)).toEqual([0, 0, 0, 1]);
    expect(res.late).toBe(1);
    const oracle = batchTrafficFlow([end + 4999, t0 + 10, end + 5000, t0 + 20].map((ts) => ({ ...packet({ ts }), partition: 3 })), { windowS: 60, allowedLatenessS: 5 });
    expect(oracle.late.map((p) => p.ts)).toEqual([t0 + 20]);
  });

  it('counts only owned copies; a crossing copy still moves the watermark', () => {
    const res = processBatch(task([
      packet({ ts: t0 + 200_000, crossing: true, ownerSegment: 'T' }),
      packet({ ts: t0 }),
    ], 0, rules, -Infinity));
    expect({ owned: res.owned, foreign: res.foreign, late: res.late, wm: res.wm }).toEqual({ owned: 1, foreign: 1, late: 1, wm: t0 + 200_000 });
    expect(res.cells).toEqual([]);
  });

  it('reports poison with a code and goes on', () => {
    const good = codec.encode(packet({ ts: t0 }));
    const res = processBatch(task([Buffer.from('xx'), packet({ ts: t0 }), good.subarray(0, 8), Buffer.concat([Buffer.from([0, 0, 0, 0, 9]), good.subarray(5)])], 10, rules, -Infinity));
    expect(res.poison.map((p) => [p.offset, p.code])).toEqual([[10, 'BAD_MAGIC'], [12, 'BAD_AVRO'], [13, 'UNKNOWN_SCHEMA']]);
    expect(res.owned).toBe(1);
  });

  it('skips stored windows and already-stored packet rows on replay', () => {
    const ws = Math.floor(t0 / 60_000) * 60;
    const res = processBatch(task([packet({ ts: t0 }), packet({ ts: t0 + 60_000 })], 100, rules, -Infinity, { skipWindows: [ws], packetsFrom: 101 }));
    expect(res.replayed).toBe(1);
    expect(res.cells.map((c) => c.windowStart)).toEqual([ws + 60]);
    expect(res.rows.map((r) => r.kafka_offset)).toEqual(['101']);
    expect(res.opens).toEqual([{ windowStart: ws + 60, offset: 101, wmBefore: t0 }]);
  });

  it('packs worker rows into columns and back without changing a value', () => {
    const res = processBatch(task([packet({ ts: t0, speedKmh: Math.fround(37.3), heading: Math.fround(12.7), seq: 2 ** 40 }), packet({ ts: t0 + 5, speedKmh: null })], 7, rules, -Infinity));
    expect(unpackRows(packRows(res.rows, 'S', 0))).toEqual(res.rows);
  });

  it('a tick moves the watermark on, never back, and is neither counted, stored nor poison', () => {
    const rules: FlowRules = { windowS: 10, allowedLatenessMs: 1000 };
    const t0 = 1_700_000_000_000;
    const res = processBatch(task([packet({ ts: t0 }), tick(t0 + 11_000), tick(t0 + 5_000), packet({ ts: t0 + 2000, vehicleId: 'v2' })], 0, rules, -Infinity));
    expect(res.wm).toBe(t0 + 11_000);
    expect(res.ticks).toBe(2);
    expect(res.poison).toEqual([]);
    expect(res.owned).toBe(2);
    expect(res.late).toBe(1); // v2 arrives after the tick closed its window
    expect(res.rows.map((p) => [p.vehicle_id, p.late])).toEqual([['v1', 0], ['v2', 1]]);
    const state = new PartitionWindows('S', rules);
    state.apply(res);
    expect(state.closed().map((w) => w.rows.map((x) => x.packets))).toEqual([[1]]);
    const oracle = batchTrafficFlow([
      { ...packet({ ts: t0 }), partition: 0 }, { tick: true, ts: t0 + 11_000, segment: 'S', partition: 0 },
      { tick: true, ts: t0 + 5_000, segment: 'S', partition: 0 }, { ...packet({ ts: t0 + 2000, vehicleId: 'v2' }), partition: 0 },
    ], { windowS: 10, allowedLatenessS: 1 });
    expect(oracle.late.map((p) => p.vehicleId)).toEqual(['v2']);
    expect(oracle.rows.map((x) => x.packets)).toEqual([1]);
  });

  it('a tick whose body does not decode is poison, and the watermark stays', () => {
    const bad = Buffer.concat([tickCodec().encode(tick(1)).subarray(0, 5), Buffer.from([0xff])]);
    const res = processBatch(task([bad], 7, { windowS: 10, allowedLatenessMs: 0 }, 5));
    expect(res.poison.map((p) => [p.offset, p.code])).toEqual([[7, 'BAD_AVRO']]);
    expect(res.wm).toBe(5);
  });

  it('the oracle treats partitions as separate watermarks', () => {
    const ps: OraclePacket[] = [{ ...packet({ ts: t0 + 300_000 }), partition: 0 }, { ...packet({ ts: t0 }), partition: 1 }, { ...packet({ ts: t0 }), partition: 0 }];
    const o = batchTrafficFlow(ps, { windowS: 60, allowedLatenessS: 5 });
    expect(o.late).toHaveLength(1);
    expect(o.owned).toBe(3);
  });
});

describe('encoded packets rows (worker-side JSONEachRow)', () => {
  const rules: FlowRules = { windowS: 60, allowedLatenessMs: 1000 };
  const t0 = Date.UTC(2024, 0, 31, 23, 59, 30); // a month boundary inside the batch
  const log: (EnrichedPacket | Buffer)[] = [
    packet({ vehicleId: 'v"1\\é\u2028', seq: 7, ts: t0, speedKmh: 0, heading: 270.5, gatewayId: 'gw\n1', ingestTs: t0 + 5 }),
    packet({ vehicleId: 'v2', ts: t0 + 120_000, speedKmh: null, heading: null, cell: CELLS[2]!, lat: -0.000001, lng: 1e-7 }),
    Buffer.from([1, 2, 3]), // poison: no row
    packet({ vehicleId: 'v3', ts: t0 - 10_000, speedKmh: 33.3 }), // late (its window closed)
    packet({ vehicleId: 'v4', ts: t0 + 121_000, crossing: true }), // foreign: no row
    packet({ vehicleId: 'v5', ts: t0 + 122_000, speedKmh: 120.25, seq: 2 ** 40 }),
  ];

  it('are byte for byte JSON.stringify of the row objects, in offset order, with months and offsets', () => {
    const plain = processBatch(task(log, 100, rules, -Infinity));
    const enc = processBatch(task(log, 100, rules, -Infinity, { encode: true }));
    expect(enc.rows).toEqual([]);
    const e = enc.encoded!;
    expect(Buffer.from(e.body).toString('utf8')).toBe(plain.rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    expect([...e.offsets]).toEqual([100, 101, 103, 105]);
    expect([...e.months]).toEqual([202401, 202402, 202401, 202402]);
    expect(decodeRows(e)).toEqual(JSON.parse(JSON.stringify(plain.rows)));
    expect(decodeRows(e, 2, 3)).toEqual([JSON.parse(JSON.stringify(plain.rows[2]))]);
    expect(decodeRows(e)[2]).toMatchObject({ vehicle_id: 'v3', late: 1 });
    // Aggregates do not depend on the row output.
    expect({ ...enc, encoded: undefined }).toEqual({ ...plain, rows: [], encoded: undefined });
  });

  it('cut into one-month runs of at most max rows, and slice exactly', () => {
    const e = processBatch(task(log, 0, rules, -Infinity, { encode: true })).encoded!;
    expect(encodedMonthRuns(e)).toEqual([[0, 1], [1, 2], [2, 3], [3, 4]]);
    const same = processBatch(task(log.slice(0, 2).concat(log.slice(5)), 0, rules, -Infinity, { encode: true })).encoded!;
    expect(encodedMonthRuns(same)).toEqual([[0, 1], [1, 3]]);
    expect(encodedMonthRuns(same, 1)).toEqual([[0, 1], [1, 2], [2, 3]]);
    const all = Buffer.concat(encodedMonthRuns(same).map(([i, j]) => rowSlice(same, i, j)));
    expect(all.equals(Buffer.from(same.body))).toBe(true);
  });

  it('skip rows below packetsFrom', () => {
    const e = processBatch(task(log, 100, rules, -Infinity, { encode: true, packetsFrom: 103 })).encoded!;
    expect([...e.offsets]).toEqual([103, 105]);
  });
});
