// The sink: raw packets and closed windows into ClickHouse, each insert all-or-nothing and
// re-checked before a retry so nothing is stored twice (docs/segment.md, points 3-5).
import {
  PACKET_COLUMNS, decodeRows, encodedMonthRuns, rowSlice, toTrafficFlowRecord,
  type EncodedRows, type FlowRow, type PacketRow,
} from '../flow/index.ts';
import { writeDeadline } from './fencing.ts';
import { persist } from './retry.ts';
import { fault, type Pipeline, type SegmentRuntime } from './runtime.ts';
import { storedPacketsFrom, storedWindows } from './stored.ts';
import type { FaultContext } from './types.ts';

/** UTC yyyymm of an epoch-ms time: the `packets` table's partition (toYYYYMM(ts)). */
function monthOf(tsMs: number): number {
  const d = new Date(tsMs);
  return d.getUTCFullYear() * 100 + d.getUTCMonth() + 1;
}

/**
 * Cut rows (in offset order) into runs of consecutive rows of one month, at most `max` rows
 * each. Every insert then lands in one ClickHouse part, so it is all-or-nothing, and the
 * stored offsets of a partition are always a prefix: "max stored offset + 1" is exact.
 */
export function monthRuns(rows: PacketRow[], max = 100_000): PacketRow[][] {
  const out: PacketRow[][] = [];
  let cur: PacketRow[] = [];
  let month = -1;
  for (const r of rows) {
    const m = monthOf(r.ts_ms);
    if (cur.length && (m !== month || cur.length >= max)) {
      out.push(cur);
      cur = [];
    }
    month = m;
    cur.push(r);
  }
  if (cur.length) out.push(cur);
  return out;
}

function countPacketRows(rt: SegmentRuntime, n: number): void {
  rt.counters.rowsPackets += n;
  rt.metrics.rows.inc({ segment: rt.segment, table: 'packets' }, n);
}

/** Store packets rows given as objects (a store without insertEncoded). */
export async function insertPackets(rt: SegmentRuntime, pl: Pipeline, rows: PacketRow[]): Promise<void> {
  for (const run of monthRuns(rows)) {
    let todo = run;
    await persist(rt, pl, 'insert packets', async (retrying) => {
      if (retrying) {
        const from = await storedPacketsFrom(rt, pl.partition);
        todo = run.filter((r) => Number(r.kafka_offset) >= from);
      }
      const timeoutMs = await writeDeadline(rt, pl);
      await rt.store.insert('packets', todo as unknown as Record<string, unknown>[], { timeoutMs });
    });
    countPacketRows(rt, todo.length);
  }
}

/** Same as insertPackets, for rows encoded where they were decoded (Store.insertEncoded). */
export async function insertEncodedPackets(rt: SegmentRuntime, pl: Pipeline, e: EncodedRows): Promise<void> {
  const { store } = rt;
  for (const [i, j] of encodedMonthRuns(e)) {
    let from = i;
    await persist(rt, pl, 'insert packets', async (retrying) => {
      if (retrying) {
        const stored = await storedPacketsFrom(rt, pl.partition);
        while (from < j && e.offsets[from]! < stored) from++;
      }
      if (from === j) return;
      const timeoutMs = await writeDeadline(rt, pl);
      // combine: the partitions that step together share one INSERT (one month run each, so
      // each run is still one part: docs/segment.md, point 4).
      if (store.insertEncoded) await store.insertEncoded('packets', e.format, rowSlice(e, from, j), e.format === 'RowBinary' ? PACKET_COLUMNS : undefined, { timeoutMs, combine: true });
      else await store.insert('packets', decodeRows(e, from, j), { timeoutMs });
    });
    countPacketRows(rt, j - from);
  }
}

/** Insert each closed window (one insert per window), then drop it from the open state. */
export async function flushWindows(rt: SegmentRuntime, pl: Pipeline, windows: { windowStart: number; rows: FlowRow[] }[], ctx: FaultContext): Promise<void> {
  const { segment, rules, metrics, counters } = rt;
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i]!;
    const records = w.rows.map((r) => toTrafficFlowRecord(r, pl.partition));
    let wrote = records.length;
    await persist(rt, pl, 'insert traffic_flow', async (retrying) => {
      if (retrying && (await storedWindows(rt, pl.partition, undefined, w.windowStart)).size > 0) {
        wrote = 0;
        return;
      }
      const timeoutMs = await writeDeadline(rt, pl);
      await rt.store.insert('traffic_flow', records, { timeoutMs });
    });
    pl.state!.remove([w.windowStart]);
    pl.skipWindows.delete(w.windowStart);
    counters.windowsFlushed++;
    counters.rowsFlow += wrote;
    metrics.windows.inc(rt.labels);
    metrics.rows.inc({ segment, table: 'traffic_flow' }, wrote);
    ctx.flushed.push(w.windowStart);
    rt.onFlush?.({
      segment, partition: pl.partition, windowStart: w.windowStart, windowS: rules.windowS, rows: records.length,
      packets: w.rows.reduce((s, r) => s + r.packets, 0), at: Date.now(),
    });
    if (i < windows.length - 1) await fault(rt, 'midFlush', ctx);
  }
}
