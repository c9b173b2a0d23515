// End-of-run checks of the demo (issue 7). Each is computed from two independent sides:
// what the gateway acknowledged (and the bus tap recorded), and what the stores hold.
//   1. no double count, packets:  Σ packets rows over every cloud = packets accepted
//      (each accepted packet has exactly one owned copy; crossing copies are never stored),
//      and per segment, stored = owned copies produced to that segment's topic.
//   2. no double count, flow:     Σ traffic_flow.packets = on-time owned packets.
//   3. oracle:                    the federated traffic_flow, grouped by (segment, cell,
//      window), equals src/flow's batch oracle over every produced copy in partition order —
//      counts exactly, float sums to 1e-9 relative (sum order differs), min/max as Float32.
import type { Store } from '../store/index.ts';
import type { Topology } from '../topology/index.ts';
import type { Federator } from '../federation/index.ts';
import { batchTrafficFlow, type FlowRow, type OraclePacket, type OracleTick } from '../flow/index.ts';
import type { Tap } from './tap.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface FlowTotals {
  owned: number;
  late: number;
  onTime: number;
  rows: number;
}

export interface CheckInput {
  topology: Topology;
  stores: Store[];
  federator: Federator;
  /** What the bus carried: packets, and the watermark ticks among them where a run has them (log order per partition). */
  tap: Pick<Tap, 'produced'> & { packets: readonly (OraclePacket | OracleTick)[] };
  gateway: { accepted: number; produced: number };
  windowS: number;
  allowedLatenessS: number;
  segments: { segment: string; ownedProduced: number; packetsStored: number; flowPackets: number }[];
}

/** The mergeable columns of one (segment, cell, window). */
type Group = Omit<FlowRow, 'segment' | 'cell' | 'windowStart' | 'windowS'>;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const parseDateTime = (v: unknown): number => (typeof v === 'number' ? v : Date.parse(`${String(v).replace(' ', 'T')}Z`) / 1000);
const close = (a: number, b: number) => a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

const FLOW_ROWS_SQL =
  'SELECT segment, cell, window_start, window_s, vehicles, packets, speed_sum, speed_count, inv_speed_sum, min_speed, max_speed FROM traffic_flow';

/** Stored flow rows (one per partition) merged per (segment, cell, window). */
function mergeStored(rows: Record<string, unknown>[]): Map<string, Group> {
  const out = new Map<string, Group>();
  for (const r of rows) {
    const key = `${r.segment}|${r.cell}|${parseDateTime(r.window_start)}`;
    const speedCount = num(r.speed_count);
    let g = out.get(key);
    if (!g) out.set(key, (g = { vehicles: 0, packets: 0, speedSum: 0, speedCount: 0, invSpeedSum: 0, minSpeed: Infinity, maxSpeed: -Infinity }));
    g.vehicles += num(r.vehicles);
    g.packets += num(r.packets);
    g.speedSum += num(r.speed_sum);
    g.speedCount += speedCount;
    g.invSpeedSum += num(r.inv_speed_sum);
    if (speedCount > 0) {
      g.minSpeed = Math.min(g.minSpeed, Math.fround(num(r.min_speed)));
      g.maxSpeed = Math.max(g.maxSpeed, Math.fround(num(r.max_speed)));
    }
  }
  return out;
}

function fromOracle(rows: FlowRow[]): Map<string, Group> {
  const out = new Map<string, Group>();
  for (const r of rows) {
    out.set(`${r.segment}|${r.cell}|${r.windowStart}`, {
      vehicles: r.vehicles, packets: r.packets, speedSum: r.speedSum, speedCount: r.speedCount, invSpeedSum: r.invSpeedSum,
      minSpeed: r.speedCount > 0 ? Math.fround(r.minSpeed) : Infinity, maxSpeed: r.speedCount > 0 ? Math.fround(r.maxSpeed) : -Infinity,
    });
  }
  return out;
}

function diff(got: Map<string, Group>, want: Map<string, Group>): string[] {
  const problems: string[] = [];
  for (const [k, w] of want) {
    const g = got.get(k);
    if (!g) {
      problems.push(`${k}: missing (oracle has ${w.packets} packets)`);
      continue;
    }
    const bad: string[] = [];
    for (const f of ['vehicles', 'packets', 'speedCount'] as const) if (g[f] !== w[f]) bad.push(`${f} ${g[f]} ≠ ${w[f]}`);
    for (const f of ['speedSum', 'invSpeedSum'] as const) if (!close(g[f], w[f])) bad.push(`${f} ${g[f]} ≠ ${w[f]}`);
    for (const f of ['minSpeed', 'maxSpeed'] as const) if (g[f] !== w[f]) bad.push(`${f} ${g[f]} ≠ ${w[f]}`);
    if (bad.length) problems.push(`${k}: ${bad.join(', ')}`);
  }
  for (const [k, g] of got) if (!want.has(k)) problems.push(`${k}: not in the oracle (${g.packets} packets stored)`);
  return problems;
}

export async function runChecks(input: CheckInput): Promise<{ checks: Check[]; oracle: FlowTotals | undefined }> {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const { stores, gateway, tap } = input;

  add('gateway produced what the bus acknowledged', tap.produced === gateway.produced,
    `gateway reports ${gateway.produced} messages produced, the bus acknowledged ${tap.produced}`);

  // 1. packets
  const stored = input.segments.reduce((s, x) => s + x.packetsStored, 0);
  let total = 0;
  for (const s of stores) {
    const [r] = await s.query<{ n: string }>('SELECT count() AS n FROM packets');
    total += Number(r?.n ?? 0);
  }
  add('no double count: packets stored = packets accepted', total === gateway.accepted && stored === total,
    `Σ packets over ${stores.length} clouds = ${total}, accepted by the gateway (non-duplicate) = ${gateway.accepted}`);
  const perSeg = input.segments.filter((s) => s.packetsStored !== s.ownedProduced);
  add('per segment: stored = owned copies produced', perSeg.length === 0,
    perSeg.length === 0
      ? input.segments.map((s) => `${s.segment} ${s.packetsStored}`).join(', ')
      : perSeg.map((s) => `${s.segment}: stored ${s.packetsStored} ≠ produced ${s.ownedProduced}`).join('; '));

  // 2 + 3. flow against the batch oracle
  const oracle = batchTrafficFlow(input.tap.packets, { windowS: input.windowS, allowedLatenessS: input.allowedLatenessS });
  const totals: FlowTotals = { owned: oracle.owned, late: oracle.late.length, onTime: oracle.owned - oracle.late.length, rows: oracle.rows.length };
  const flowPackets = input.segments.reduce((s, x) => s + x.flowPackets, 0);
  add('no double count: Σ traffic_flow.packets = on-time owned packets', flowPackets === totals.onTime,
    `Σ traffic_flow.packets = ${flowPackets}, on-time owned packets = ${totals.onTime} (owned ${totals.owned}, late ${totals.late})`);

  const flowRows = await input.federator.query(FLOW_ROWS_SQL);
  const rows = flowRows.rows;
  const via = `federated query over ${flowRows.clouds.filter((c) => c.status === 'ok').length} clouds`;
  const problems = diff(mergeStored(rows), fromOracle(oracle.rows));
  add('oracle: federated traffic_flow = batch traffic flow', problems.length === 0,
    problems.length === 0
      ? `${oracle.rows.length} (segment, cell, window) groups equal (${via})`
      : `${problems.length} groups differ (${via}); first: ${problems.slice(0, 3).join(' | ')}`);

  // The same totals through the federator's own aggregation and merge.
  const r = await input.federator.query('SELECT segment, sum(packets) AS packets, count() AS parts FROM traffic_flow GROUP BY segment ORDER BY segment');
  const want = new Map<string, number>();
  for (const row of oracle.rows) want.set(row.segment, (want.get(row.segment) ?? 0) + row.packets);
  const got = new Map(r.rows.map((x) => [String(x.segment), num(x.packets)]));
  const bad = [...new Set([...want.keys(), ...got.keys()])].filter((s) => (want.get(s) ?? 0) !== (got.get(s) ?? 0));
  add('oracle: federated sum(packets) per segment', bad.length === 0,
    bad.length === 0 ? [...want].map(([s, n]) => `${s} ${n}`).join(', ') : bad.map((s) => `${s}: ${got.get(s) ?? 0} ≠ ${want.get(s) ?? 0}`).join('; '));
  return { checks, oracle: totals };
}
