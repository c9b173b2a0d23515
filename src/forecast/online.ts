// The online forecaster (docs/forecast.md §4). It runs beside a segment's processors, as its
// own process, and reads only what they wrote: closed traffic_flow windows in the segment's
// ClickHouse. Each tick:
//   1. closed   the newest 5-minute bucket whose end E the segment's windows have passed by
//               `settleS` (max(window_start + window_s) ≥ E + settleS): issued_at = E;
//   2. once     if traffic_forecast already holds (segment, issued_at, model), stop — it was
//               written by an earlier tick or an earlier life of this process;
//   3. fit      (first tick, then every `refitEverySteps`) the model on `historyDays` before E;
//   4. predict  every cell of the fitted list at 15, 30 and 60 minutes from the last bucket;
//   5. write    all rows of the issue in one INSERT (one block: it lands whole or not at all).
// A crash between 2 and 5 leaves nothing, so the next tick writes the issue; a crash after 5
// finds it in 2. Exactly once per (segment, issued_at, model) — with one forecaster per segment
// and model, the deployment rule (two racing copies could both pass step 2; the table's
// ReplacingMergeTree key (segment, cell, issued_at, horizon, model) then folds their identical
// rows on merge, and readers who must not see both use FINAL or argMax).
import { quoteString, type Store } from '../store/index.ts';
import { cellToDecimal } from '../topology/index.ts';
import { ForecastError } from './errors.ts';
import { fromFirstData, loadPanel } from './panel.ts';
import { HORIZONS, STEP_S, STEPS_PER_DAY, newForecast, type ForecastModel } from './types.ts';

export const FORECAST_TABLE = 'traffic_forecast';

export interface OnlineOptions {
  store: Store;
  segment: string;
  model: ForecastModel;
  utcOffsetS: number;
  /** Days of history the model is fitted on (default 14). */
  historyDays?: number;
  /** Refit after this many new steps (default one day). */
  refitEverySteps?: number;
  /** A bucket is closed once the segment's windows reach this far past its end (default 60 s). */
  settleS?: number;
  log?: (line: string) => void;
}

export type TickResult =
  | { issuedAt: number; rows: number; refitted: boolean }
  | { skipped: 'no-data' | 'already-issued' | 'history-too-short'; issuedAt?: number };

export interface OnlineForecaster {
  tick(): Promise<TickResult>;
}

export function createOnlineForecaster(o: OnlineOptions): OnlineForecaster {
  const historyS = (o.historyDays ?? 14) * 86400;
  const refitEvery = o.refitEverySteps ?? STEPS_PER_DAY;
  const settle = o.settleS ?? 60;
  const contextSteps = Math.max(2 * STEPS_PER_DAY, o.model.minHistory + 1);
  let cells: readonly string[] | undefined;
  let fittedAt = -Infinity;
  const seg = quoteString(o.segment);

  const closedEnd = async (): Promise<number | undefined> => {
    const [row] = await o.store.query<{ end: number | string; n: number | string }>(
      `SELECT toUInt32(max(window_start + window_s)) AS end, count() AS n FROM traffic_flow WHERE segment = ${seg}`,
    );
    if (!row || Number(row.n) === 0) return undefined;
    return Math.floor((Number(row.end) - settle) / STEP_S) * STEP_S;
  };

  const issued = async (issuedAt: number): Promise<boolean> => {
    const [row] = await o.store.query<{ n: number | string }>(
      `SELECT count() AS n FROM ${FORECAST_TABLE} WHERE segment = ${seg} AND issued_at = toDateTime(${issuedAt}) AND model = ${quoteString(o.model.name)}`,
    );
    return Number(row?.n ?? 0) > 0;
  };

  const fit = async (issuedAt: number): Promise<boolean> => {
    // Leading empty days (before the segment had data) would teach the model zeros: start at the first data.
    const history = fromFirstData(await loadPanel(o.store, o.segment, issuedAt - historyS, issuedAt, o.utcOffsetS));
    const need = Math.max(STEPS_PER_DAY, o.model.minHistory + 1);
    if (history.cells.length === 0 || history.steps < need) return false;
    try {
      o.model.fit(history, history.steps);
    } catch (err) {
      if (err instanceof ForecastError && err.code === 'HISTORY_TOO_SHORT') return false;
      throw err;
    }
    cells = history.cells;
    fittedAt = issuedAt;
    o.log?.(`${o.segment}: fitted ${o.model.name} on ${history.cells.length} cells × ${history.steps} steps`);
    return true;
  };

  return {
    async tick() {
      const issuedAt = await closedEnd();
      if (issuedAt === undefined) return { skipped: 'no-data' };
      if (await issued(issuedAt)) return { skipped: 'already-issued', issuedAt };
      let refitted = false;
      if (!cells || issuedAt - fittedAt >= refitEvery * STEP_S) {
        if (!(await fit(issuedAt))) return { skipped: 'history-too-short', issuedAt };
        refitted = true;
      }
      const panel = await loadPanel(o.store, o.segment, issuedAt - contextSteps * STEP_S, issuedAt, o.utcOffsetS, cells);
      const n = panel.cells.length;
      const out = newForecast(n, HORIZONS.length);
      o.model.predict(panel, panel.steps - 1, HORIZONS, out);
      const rows: Record<string, unknown>[] = [];
      for (let c = 0; c < n; c++) {
        const cell = cellToDecimal(panel.cells[c]!);
        HORIZONS.forEach((h, i) => {
          rows.push({
            issued_at: issuedAt, segment: o.segment, cell, horizon: (h * STEP_S) / 60, target_start: issuedAt + (h - 1) * STEP_S,
            speed_kmh: out.speed[i * n + c]!, flow: Math.max(0, out.flow[i * n + c]!), model: o.model.name,
          });
        });
      }
      await o.store.insert(FORECAST_TABLE, rows);
      o.log?.(`${o.segment}: issued ${rows.length} forecasts at ${new Date(issuedAt * 1000).toISOString()}`);
      return { issuedAt, rows: rows.length, refitted };
    },
  };
}
