// What a partition has already written to ClickHouse: the look-ups behind recovery (S and P
// of docs/segment.md) and behind the re-check before a retried insert.
import { dedupId, windowStartOf, type DedupEntry } from '../flow/index.ts';
import { quoteString, type Store } from '../store/index.ts';
import type { SegmentRuntime } from './runtime.ts';

/** P: one past the highest kafka_offset stored in `packets` for this partition (0 if none). */
export async function storedPacketsFrom(rt: SegmentRuntime, partition: number): Promise<number> {
  const rows = await rt.store.query<{ m: string; c: string }>(
    `SELECT max(kafka_offset) AS m, count() AS c FROM packets WHERE segment = ${quoteString(rt.segment)} AND kafka_partition = ${partition}`,
  );
  const r = rows[0];
  return r && Number(r.c) > 0 ? Number(r.m) + 1 : 0;
}

/** S: window starts (epoch s) of this part in `traffic_flow`, from `fromWs` on, or only `only`. */
export async function storedWindows(rt: SegmentRuntime, partition: number, fromWs: number | undefined, only?: number): Promise<Set<number>> {
  let where = `segment = ${quoteString(rt.segment)} AND window_s = ${rt.rules.windowS} AND part = ${partition}`;
  if (only !== undefined) where += ` AND window_start = toDateTime(${only})`;
  else if (fromWs !== undefined) where += ` AND window_start >= toDateTime(${Math.max(0, fromWs)})`;
  const rows = await rt.store.query<{ ws: number | string }>(`SELECT DISTINCT toUInt32(window_start) AS ws FROM traffic_flow WHERE ${where}`);
  return new Set(rows.map((r) => Number(r.ws)));
}

/**
 * Dedup identities of the stored packets of this partition below `below` whose event time is
 * at or after `fromMs` (all when undefined).
 */
export async function storedKeys(rt: SegmentRuntime, partition: number, below: number, fromMs: number | undefined): Promise<DedupEntry[]> {
  let where = `segment = ${quoteString(rt.segment)} AND kafka_partition = ${partition} AND kafka_offset < ${below}`;
  if (fromMs !== undefined) where += ` AND ts_ms >= ${Math.max(0, Math.floor(fromMs))}`;
  const rows = await rt.store.query<{ v: string; s: string | number; t: string | number }>(`SELECT vehicle_id AS v, seq AS s, ts_ms AS t FROM packets WHERE ${where}`);
  return rows.map((r) => {
    const ts = Number(r.t);
    return { vehicleId: r.v, id: dedupId(Number(r.s), ts), windowStart: windowStartOf(ts, rt.rules.windowS) };
  });
}

/** Add the processor's extra `packets` columns to a table created before they existed. */
export async function ensurePacketColumns(store: Store): Promise<void> {
  const have = new Set((await store.query<{ name: string }>(
    `SELECT name FROM system.columns WHERE database = ${quoteString(store.database)} AND table = 'packets'`,
  )).map((r) => r.name));
  for (const [name, type] of [['late', 'UInt8'], ['has_speed', 'UInt8']] as const) {
    if (!have.has(name)) await store.command(`ALTER TABLE packets ADD COLUMN ${name} ${type}`);
  }
}
