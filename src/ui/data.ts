// What the map shows, asked of the federator in its SQL (never of a store directly): the
// closed windows, the cells of one window, one cell's history, and a summary the live
// updates compare. Cells travel as H3 hex ids (the federator's h3ToString), the form
// h3-js and deck.gl's H3HexagonLayer take. Times are unix seconds:
// toUnixTimestamp/toDateTime(n) do not depend on a server's time zone.
import type { Federator } from '../federation/index.ts';
import { cellToDecimal } from '../topology/index.ts';
import { UiError } from './errors.ts';
import type { CellFlow, CellPoint, FlowSummary, WindowInfo } from './types.ts';

const HEX_CELL = /^[0-9a-f]{15,16}$/;

/** H3 hex id → the decimal the `cell` column holds (validated: UI_BAD_CELL). */
export function cellDecimal(hex: string): string {
  if (!HEX_CELL.test(hex)) throw new UiError('UI_BAD_CELL', hex);
  return cellToDecimal(hex);
}

const num = (v: unknown): number => Number(v ?? 0);
const meanOrNull = (v: unknown): number | null => (v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v));

export function createFlowData(federator: Federator) {
  return {
    async windows(limit = 240): Promise<WindowInfo[]> {
      const res = await federator.query(
        'SELECT toUnixTimestamp(window_start) AS start, window_s, sum(packets) AS packets FROM traffic_flow ' +
          `GROUP BY start, window_s ORDER BY start DESC, window_s LIMIT ${limit}`,
      );
      return res.rows.map((r) => ({ start: num(r.start), windowS: num(r.window_s), packets: num(r.packets) })).reverse();
    },

    async cells(start: number): Promise<CellFlow[]> {
      if (!Number.isInteger(start) || start < 0) throw new UiError('UI_BAD_WINDOW', String(start));
      const res = await federator.query(
        'SELECT h3ToString(cell) AS hex, segment, sum(packets) AS packets, sum(vehicles) AS vehicles, sum(speed_sum) / sum(speed_count) AS mean_kmh ' +
          `FROM traffic_flow WHERE window_start = toDateTime(${start}) GROUP BY cell, segment ORDER BY cell`,
      );
      return res.rows.map((r) => ({
        cell: String(r.hex),
        segment: String(r.segment),
        packets: num(r.packets),
        vehicles: num(r.vehicles),
        meanKmh: meanOrNull(r.mean_kmh),
      }));
    },

    async history(hex: string): Promise<CellPoint[]> {
      const res = await federator.query(
        'SELECT toUnixTimestamp(window_start) AS start, sum(packets) AS packets, sum(vehicles) AS vehicles, sum(speed_sum) / sum(speed_count) AS mean_kmh ' +
          `FROM traffic_flow WHERE cell = ${cellDecimal(hex)} GROUP BY start ORDER BY start`,
      );
      return res.rows.map((r) => ({
        start: num(r.start),
        packets: num(r.packets),
        vehicles: num(r.vehicles),
        meanKmh: meanOrNull(r.mean_kmh),
      }));
    },

    /** Each segment's latest forecast issue at `horizon` minutes (the map's +15/+30/+60 toggle; docs/forecast.md §4). */
    async forecast(horizon: number): Promise<{ issuedAt: number | null; cells: CellFlow[] }> {
      if (![15, 30, 60].includes(horizon)) throw new UiError('UI_BAD_HORIZON', String(horizon));
      const latest = await federator.query(
        `SELECT segment, max(toUnixTimestamp(issued_at)) AS issued FROM traffic_forecast WHERE horizon = ${horizon} GROUP BY segment`,
      );
      const cells: CellFlow[] = [];
      for (const r of latest.rows) {
        const res = await federator.query(
          'SELECT h3ToString(cell) AS hex, avg(speed_kmh) AS mean_kmh, avg(flow) AS flow FROM traffic_forecast ' +
            `WHERE segment = '${String(r.segment).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}' AND horizon = ${horizon} AND issued_at = toDateTime(${num(r.issued)}) GROUP BY cell ORDER BY cell`,
        );
        for (const c of res.rows)
          cells.push({
            cell: String(c.hex),
            segment: String(r.segment),
            packets: Math.round(num(c.flow)),
            vehicles: Math.round(num(c.flow)),
            meanKmh: meanOrNull(c.mean_kmh),
          });
      }
      return { issuedAt: latest.rows.length === 0 ? null : Math.max(...latest.rows.map((r) => num(r.issued))), cells };
    },

    async summary(): Promise<FlowSummary> {
      const res = await federator.query(
        'SELECT max(toUnixTimestamp(window_start)) AS latest, sum(packets) AS packets, count() AS n FROM traffic_flow',
      );
      const r = res.rows[0] ?? {};
      const rows = num(r.n);
      return { latest: rows === 0 ? null : num(r.latest), rows, packets: num(r.packets) };
    },
  };
}

export type FlowData = ReturnType<typeof createFlowData>;
