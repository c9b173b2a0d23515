// Forecasting speed (issue #20 §5): cells per second per model for one issue — every cell of a
// segment, horizons 15/30/60 min, speed and flow — on simulated weeks of the largest Shanghai
// segment; persistence is the baseline in the same run. Fit time is reported apart (the online
// forecaster refits once a day). SARIMA refits per cell, so it is timed on a sample of cells
// and scaled. The budget is one window period (300 s): `issueS` is the time one issue of the
// whole segment takes, `shareOfWindow` that over 300 s.
//
//   npx tsx bench/forecast.ts [--days 15] [--origins 5] [--sarima-cells 40]
// Heavy (loads a core for a minute or more): run under `flock /work/bench.lock nice`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { HORIZONS, MODEL_NAMES, createModel, newForecast, type Panel } from '../src/forecast/index.ts';
import { simulateWeeks } from '../src/sim/index.ts';
import { loadTopology } from '../src/topology/index.ts';

const argv = process.argv.slice(2);
const arg = (f: string, d: number): number => { const k = argv.indexOf(f); return k >= 0 ? Number(argv[k + 1]) : d; };
const DAYS = arg('--days', 15);
const ORIGINS = arg('--origins', 5);
const SARIMA_CELLS = arg('--sarima-cells', 40);
const WINDOW_S = 300;
const log = (s: string) => process.stderr.write(`${s}\n`);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]!; };

const topology = loadTopology(new URL('../infra/topology/shanghai.yaml', import.meta.url).pathname);
const weeks = simulateWeeks({ topology, seed: 1, days: DAYS });
const bySegment = new Map<string, number[]>();
weeks.roads.forEach((r, i) => bySegment.set(r.segment, [...(bySegment.get(r.segment) ?? []), i]));
const [segment, idx] = [...bySegment].sort((a, b) => b[1].length - a[1].length)[0]!;
const steps = weeks.panel.steps;
const take = (src: Float32Array) => {
  const out = new Float32Array(idx.length * steps);
  idx.forEach((c, i) => out.set(src.subarray(c * steps, (c + 1) * steps), i * steps));
  return out;
};
const panel: Panel = { ...weeks.panel, cells: idx.map((c) => weeks.panel.cells[c]!), speed: take(weeks.panel.speed), flow: take(weeks.panel.flow) };
const n = panel.cells.length;
log(`segment ${segment}: ${n} cells × ${steps} steps`);

const trainEnd = steps - 2 * 288;
const results: Record<string, unknown>[] = [];
for (const name of MODEL_NAMES) {
  const model = createModel(name);
  const t0 = performance.now();
  model.fit(panel, trainEnd);
  const fitMs = performance.now() - t0;
  const cells = model.costly ? Array.from({ length: Math.min(n, SARIMA_CELLS) }, (_, i) => Math.floor((i * n) / Math.min(n, SARIMA_CELLS))) : undefined;
  const timed = cells?.length ?? n;
  const out = newForecast(n, HORIZONS.length);
  const ms: number[] = [];
  // Origins an hour apart in the held-back days, each timed alone (a fresh walk for Holt-Winters
  // would include its catch-up; the online forecaster rebuilds its context panel each issue, so
  // the first origin's time is the honest one for it and is kept in `firstMs`).
  for (let k = 0; k < ORIGINS; k++) {
    const origin = trainEnd + 12 * k;
    const t = performance.now();
    model.predict(panel, origin, HORIZONS, out, cells);
    ms.push(performance.now() - t);
  }
  const cellsPerS = timed / (median(ms) / 1000);
  const firstCellsPerS = timed / (ms[0]! / 1000);
  const issueS = n / Math.min(cellsPerS, firstCellsPerS);
  results.push({ model: name, fitMs: Math.round(fitMs), timedCells: timed, medianMs: +median(ms).toFixed(2), firstMs: +ms[0]!.toFixed(2), cellsPerS: Math.round(cellsPerS), firstCellsPerS: Math.round(firstCellsPerS), issueS: +issueS.toFixed(3), shareOfWindow: +(issueS / WINDOW_S).toFixed(4) });
  log(`${name}: fit ${Math.round(fitMs)} ms, ${Math.round(cellsPerS)} cells/s (first ${Math.round(firstCellsPerS)}), one issue ${issueS.toFixed(2)} s`);
}
const base = results.find((r) => r.model === 'persistence')!;
for (const r of results) r.vsPersistence = +((r.cellsPerS as number) / (base.cellsPerS as number)).toFixed(4);
const report = {
  bench: 'forecast', segment, cells: n, days: DAYS, horizons: [...HORIZONS], origins: ORIGINS, windowS: WINDOW_S, results,
  ratio: { spatialVsPersistence: results.find((r) => r.model === 'spatial')!.vsPersistence },
  target: { issueOfEveryModelWithinOneWindow: true, met: results.every((r) => (r.shareOfWindow as number) < 1) },
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((x) => +x.toFixed(2)) },
};
const dir = new URL('./results/', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `${new Date().toISOString().slice(0, 10)}-forecast.json`), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(report)}\n`);
