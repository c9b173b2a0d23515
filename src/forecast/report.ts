// The backtest's tables in the layout of DCRNN's Table 1 (Li et al., "Diffusion Convolutional
// Recurrent Neural Network: Data-Driven Traffic Forecasting", ICLR 2018): one block per
// horizon (15 / 30 / 60 min), rows MAE, RMSE, MAPE, one column per model. The paper's METR-LA
// rows are printed beside ours in the same layout, labelled as the different data set they are
// (207 loop detectors in Los Angeles, speed in mph; ours: simulated H3 cells, km/h).
import type { BacktestResult, ModelScores } from './backtest.ts';
import { VARIABLES, type Variable } from './types.ts';

/** METR-LA, Li et al. 2018, Table 1: [MAE, RMSE, MAPE %] at 15, 30, 60 minutes. */
export const METR_LA: Record<string, [number, number, number][]> = {
  HA: [[4.16, 7.8, 13.0], [4.16, 7.8, 13.0], [4.16, 7.8, 13.0]],
  ARIMA_kal: [[3.99, 8.21, 9.6], [5.15, 10.45, 12.7], [6.9, 13.23, 17.4]],
  'FC-LSTM': [[3.44, 6.3, 9.6], [3.77, 7.23, 10.9], [4.37, 8.69, 13.2]],
  DCRNN: [[2.77, 5.38, 7.3], [3.15, 6.45, 8.8], [3.6, 7.6, 10.5]],
};

export interface Target {
  what: string;
  variable: Variable;
  horizonMin: number;
  ours: number;
  against: number;
  /** ours must be below against × factor. */
  factor: number;
  met: boolean;
}

const UNITS: Record<Variable, string> = { speed: 'mean speed, km/h', flow: 'flow, vehicles per 5 min' };

/** The issue's targets, on speed and on flow: spatial vs HA and persistence (all cells), vs SARIMA (paired sample). */
export function targets(r: BacktestResult): Target[] {
  const out: Target[] = [];
  const minutes = (h: number) => (h * r.stepS) / 60;
  for (const variable of VARIABLES) {
    const spatial = r.all.spatial?.[variable];
    if (!spatial) continue;
    r.horizons.forEach((h, i) => {
      const ours = spatial[i]!.mae;
      for (const base of ['historical-average', 'persistence']) {
        const b = r.all[base]?.[variable][i];
        if (b) out.push({ what: `spatial MAE < ${base}`, variable, horizonMin: minutes(h), ours, against: b.mae, factor: 1, met: ours < b.mae });
      }
      const sar = r.sample.scores.sarima?.[variable][i];
      const paired = r.sample.scores.spatial?.[variable][i];
      if (sar && paired && minutes(h) >= 30) out.push({ what: 'spatial MAE < sarima (paired sample)', variable, horizonMin: minutes(h), ours: paired.mae, against: sar.mae, factor: 1, met: paired.mae < sar.mae });
      const ha = r.all['historical-average']?.[variable][i];
      if (ha && minutes(h) === 15) out.push({ what: 'spatial MAE ≤ 0.8 × historical-average', variable, horizonMin: 15, ours, against: ha.mae, factor: 0.8, met: ours <= 0.8 * ha.mae });
    });
  }
  return out;
}

function block(label: string, scores: Record<string, ModelScores>, variable: Variable, r: BacktestResult): string[] {
  const models = Object.keys(scores);
  const lines = [`| ${label} | T | Metric | ${models.join(' | ')} |`, `| --- | --- | --- | ${models.map(() => '---').join(' | ')} |`];
  r.horizons.forEach((h, i) => {
    const t = `${(h * r.stepS) / 60} min`;
    const cell = (m: string, k: 'mae' | 'rmse' | 'mape') => {
      const x = scores[m]![variable][i]![k];
      return k === 'mape' ? `${x.toFixed(1)}%` : x.toFixed(2);
    };
    lines.push(`| ${i === 0 ? UNITS[variable] : ''} | ${t} | MAE | ${models.map((m) => cell(m, 'mae')).join(' | ')} |`);
    lines.push(`|  |  | RMSE | ${models.map((m) => cell(m, 'rmse')).join(' | ')} |`);
    lines.push(`|  |  | MAPE | ${models.map((m) => cell(m, 'mape')).join(' | ')} |`);
  });
  return lines;
}

function publishedBlock(): string[] {
  const models = Object.keys(METR_LA);
  const lines = [
    `| METR-LA (a different data set: 207 Los Angeles loop detectors, speed in mph; Li et al. 2018, Table 1) | T | Metric | ${models.join(' | ')} |`,
    `| --- | --- | --- | ${models.map(() => '---').join(' | ')} |`,
  ];
  ['15 min', '30 min', '60 min'].forEach((t, i) => {
    lines.push(`| speed, mph | ${t} | MAE | ${models.map((m) => METR_LA[m]![i]![0].toFixed(2)).join(' | ')} |`);
    lines.push(`|  |  | RMSE | ${models.map((m) => METR_LA[m]![i]![1].toFixed(2)).join(' | ')} |`);
    lines.push(`|  |  | MAPE | ${models.map((m) => `${METR_LA[m]![i]![2].toFixed(1)}%`).join(' | ')} |`);
  });
  return lines;
}

export function backtestMarkdown(title: string, dataset: string, r: BacktestResult): string {
  const lines = [`## ${title}`, '', dataset, '',
    `Rolling origin over ${r.heldBackSteps} held-back steps (${(r.heldBackSteps * r.stepS) / 86400} days) after ${r.trainSteps} training steps; ` +
      `${r.cells} cells × ${r.origins} origins for every model but SARIMA; the paired sample is ${r.sample.cells} cells × ${r.sample.origins} origins with every model.`, ''];
  for (const v of VARIABLES) {
    lines.push(`### ${UNITS[v]}: every cell and origin`, '', ...block(`ours (simulated, ${v})`, r.all, v, r), '');
    lines.push(`### ${UNITS[v]}: the paired sample (SARIMA and the rest on the same cells and origins)`, '', ...block(`ours (simulated, ${v})`, r.sample.scores, v, r), '');
  }
  lines.push('### Published reference (not the same data)', '', ...publishedBlock(), '');
  lines.push('### Targets', '', '| target | variable | horizon | ours | against | met |', '| --- | --- | --- | --- | --- | --- |');
  for (const t of targets(r)) lines.push(`| ${t.what} | ${t.variable} | ${t.horizonMin} min | ${t.ours.toFixed(3)} | ${(t.against * t.factor).toFixed(3)} | ${t.met ? 'yes' : '**no**'} |`);
  lines.push('');
  return lines.join('\n');
}
