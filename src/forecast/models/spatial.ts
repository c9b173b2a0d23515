// The spatial model (docs/forecast.md §2): a cell's value is its rhythm plus a deviation, and
// deviations travel — a jam or a storm shows in the neighbouring cells first. So:
//   baseline  b(c, t): the cell's mean by kind of day (weekday / Saturday / Sunday) and slot
//             of the day over the training days, smoothed over ±1 slot;
//   deviation z(c, t) = (y − b) / σ_c, σ_c the cell's deviation spread in training;
//   ridge     ẑ(c, t+h) = w_h · x(c, t), one weight vector per horizon and variable, pooled
//             over all cells (a shared law of how deviations move, not one per cell), with
//             x = [1, own z lags 0–5, the other variable's z lags 0–1, mean z of the H3
//             ring-1 neighbours (gridDisk) lags 0–2, of ring 2 lags 0–1, time of day as
//             sin/cos of one and two cycles a day, weekend flag];
//   forecast  ŷ(c, t+h) = b(c, t+h) + σ_c · ẑ.
// With no signal in the deviations the weights go to zero and the model is the baseline;
// with persistent deviations it carries them forward and lets them decay as learnt.
import { ForecastError } from '../errors.ts';
import { panelNeighbours, type Neighbours } from '../neighbours.ts';
import { RidgeAccumulator } from '../ridge.ts';
import { calendar } from '../time.ts';
import { HORIZONS, STEPS_PER_DAY, VARIABLES, series, type ForecastModel, type Panel, type Variable } from '../types.ts';

export interface SpatialOptions {
  horizons?: readonly number[];
  /** Ridge penalty relative to the number of training rows. */
  lambda?: number;
  /** Most training rows (cells × origins) per variable; origins are strided to fit. */
  maxRows?: number;
}

const OWN_LAGS = 6;
const OTHER_LAGS = 2;
const RING1_LAGS = 3;
const RING2_LAGS = 2;
export const SPATIAL_FEATURES = 1 + OWN_LAGS + OTHER_LAGS + RING1_LAGS + RING2_LAGS + 4 + 1;
const DAY_TYPES = 3;

interface Fitted {
  cells: readonly string[];
  neighbours: Neighbours;
  /** profile[v][(c * 3 + dayType) * 288 + slot] */
  profile: Record<Variable, Float64Array>;
  sigma: Record<Variable, Float64Array>;
  /** weights[v][h * features + i] */
  weights: Record<Variable, Float64Array>;
}

function other(v: Variable): Variable {
  return v === 'speed' ? 'flow' : 'speed';
}

/** Per cell, mean by kind of day and slot over [0, trainEnd), smoothed over ±1 slot. */
function baselineProfile(panel: Panel, y: Float32Array, trainEnd: number): Float64Array {
  const n = panel.cells.length;
  const width = DAY_TYPES * STEPS_PER_DAY;
  const key = calendar(panel).dayTypeSlot;
  const count = new Float64Array(width);
  for (let t = 0; t < trainEnd; t++) count[key[t]!]! += 1;
  const out = new Float64Array(n * width);
  const sum = new Float64Array(width);
  for (let c = 0; c < n; c++) {
    sum.fill(0);
    let all = 0;
    for (let t = 0; t < trainEnd; t++) {
      const v = y[c * panel.steps + t]!;
      sum[key[t]!]! += v;
      all += v;
    }
    const mean = all / Math.max(1, trainEnd);
    for (let d = 0; d < DAY_TYPES; d++) {
      // A kind of day the training never saw borrows the weekday rhythm.
      const src = count[d * STEPS_PER_DAY]! > 0 ? d : 0;
      for (let s = 0; s < STEPS_PER_DAY; s++) {
        let num = 0;
        let den = 0;
        for (const ds of [-1, 0, 1]) {
          const k = src * STEPS_PER_DAY + ((s + ds + STEPS_PER_DAY) % STEPS_PER_DAY);
          num += sum[k]!;
          den += count[k]!;
        }
        out[c * width + d * STEPS_PER_DAY + s] = den > 0 ? num / den : mean;
      }
    }
  }
  return out;
}

export function createSpatial(opts: SpatialOptions = {}): ForecastModel {
  const horizons = opts.horizons ?? HORIZONS;
  const lambda = opts.lambda ?? 1e-3;
  const maxRows = opts.maxRows ?? 500_000;
  let fitted: Fitted | undefined;

  const baseline = (f: Fitted, panel: Panel, v: Variable, c: number, t: number): number =>
    f.profile[v][c * DAY_TYPES * STEPS_PER_DAY + calendar(panel).dayTypeSlot[t]!]!;

  /** z[v][c * OWN_LAGS + l] = deviation of cell c at t − l. */
  const deviations = (f: Fitted, panel: Panel, t: number, out: Record<Variable, Float64Array>): void => {
    const n = panel.cells.length;
    for (let l = 0; l < OWN_LAGS; l++) {
      const tl = Math.max(0, t - l);
      const key = calendar(panel).dayTypeSlot[tl]!;
      for (const v of VARIABLES) {
        const y = series(panel, v);
        const prof = f.profile[v];
        const sig = f.sigma[v];
        const z = out[v];
        for (let c = 0; c < n; c++) z[c * OWN_LAGS + l] = (y[c * panel.steps + tl]! - prof[c * DAY_TYPES * STEPS_PER_DAY + key]!) / sig[c]!;
      }
    }
  };

  const ringMean = (z: Float64Array, ring: Int32Array, c: number, lag: number): number => {
    if (ring.length === 0) return z[c * OWN_LAGS + lag]!;
    let s = 0;
    for (let i = 0; i < ring.length; i++) s += z[ring[i]! * OWN_LAGS + lag]!;
    return s / ring.length;
  };

  const features = (f: Fitted, panel: Panel, z: Record<Variable, Float64Array>, v: Variable, c: number, t: number, x: Float64Array): void => {
    const own = z[v];
    const oth = z[other(v)];
    let i = 0;
    x[i++] = 1;
    for (let l = 0; l < OWN_LAGS; l++) x[i++] = own[c * OWN_LAGS + l]!;
    for (let l = 0; l < OTHER_LAGS; l++) x[i++] = oth[c * OWN_LAGS + l]!;
    for (let l = 0; l < RING1_LAGS; l++) x[i++] = ringMean(own, f.neighbours.ring1[c]!, c, l);
    for (let l = 0; l < RING2_LAGS; l++) x[i++] = ringMean(own, f.neighbours.ring2[c]!, c, l);
    const key = calendar(panel).dayTypeSlot[t]!;
    const angle = (2 * Math.PI * (key % STEPS_PER_DAY)) / STEPS_PER_DAY;
    x[i++] = Math.sin(angle);
    x[i++] = Math.cos(angle);
    x[i++] = Math.sin(2 * angle);
    x[i++] = Math.cos(2 * angle);
    x[i++] = key >= STEPS_PER_DAY ? 1 : 0; // Saturday or Sunday
  };

  const check = (panel: Panel): Fitted => {
    if (!fitted) throw new ForecastError('NOT_FITTED', 'spatial');
    if (fitted.cells !== panel.cells && (fitted.cells.length !== panel.cells.length || fitted.cells.some((c, i) => c !== panel.cells[i]))) {
      throw new ForecastError('BAD_OPTION', 'panel', 'the panel holds other cells than the model was fitted on');
    }
    return fitted;
  };

  return {
    name: 'spatial',
    minHistory: OWN_LAGS,
    fit(panel, trainEnd) {
      if (trainEnd < STEPS_PER_DAY) throw new ForecastError('HISTORY_TOO_SHORT', 'spatial', STEPS_PER_DAY, trainEnd);
      const n = panel.cells.length;
      const profile = { speed: baselineProfile(panel, panel.speed, trainEnd), flow: baselineProfile(panel, panel.flow, trainEnd) };
      const f: Fitted = { cells: panel.cells, neighbours: panelNeighbours(panel.cells), profile, sigma: { speed: new Float64Array(n), flow: new Float64Array(n) }, weights: { speed: new Float64Array(0), flow: new Float64Array(0) } };
      for (const v of VARIABLES) {
        const y = series(panel, v);
        const key = calendar(panel).dayTypeSlot;
        for (let c = 0; c < n; c++) {
          let ss = 0;
          const prof = c * DAY_TYPES * STEPS_PER_DAY;
          for (let t = 0; t < trainEnd; t++) ss += (y[c * panel.steps + t]! - f.profile[v][prof + key[t]!]!) ** 2;
          f.sigma[v][c] = Math.max(1e-6, Math.sqrt(ss / trainEnd));
        }
      }
      const maxH = Math.max(...horizons);
      const first = OWN_LAGS;
      const last = trainEnd - maxH - 1;
      if (last < first) throw new ForecastError('HISTORY_TOO_SHORT', 'spatial', OWN_LAGS + maxH + 1, trainEnd);
      let stride = Math.max(1, Math.ceil((n * (last - first + 1)) / maxRows));
      if (stride > 1 && STEPS_PER_DAY % stride === 0) stride++; // visit every slot of the day
      const acc = { speed: new RidgeAccumulator(SPATIAL_FEATURES, horizons.length), flow: new RidgeAccumulator(SPATIAL_FEATURES, horizons.length) };
      const z = { speed: new Float64Array(n * OWN_LAGS), flow: new Float64Array(n * OWN_LAGS) };
      const x = new Float64Array(SPATIAL_FEATURES);
      const target = new Float64Array(horizons.length);
      for (let t = first; t <= last; t += stride) {
        deviations(f, panel, t, z);
        for (const v of VARIABLES) {
          const y = series(panel, v);
          for (let c = 0; c < n; c++) {
            features(f, panel, z, v, c, t, x);
            for (let h = 0; h < horizons.length; h++) {
              const th = t + horizons[h]!;
              target[h] = (y[c * panel.steps + th]! - baseline(f, panel, v, c, th)) / f.sigma[v][c]!;
            }
            acc[v].add(x, target);
          }
        }
      }
      for (const v of VARIABLES) f.weights[v] = acc[v].solve(lambda, 0);
      fitted = f;
    },
    predict(panel, origin, hs, out) {
      const f = check(panel);
      const n = panel.cells.length;
      const index = hs.map((h) => horizons.indexOf(h));
      if (index.some((i) => i < 0)) throw new ForecastError('BAD_OPTION', 'horizons', `the spatial model was fitted for ${horizons.join(', ')} steps`);
      const z = { speed: new Float64Array(n * OWN_LAGS), flow: new Float64Array(n * OWN_LAGS) };
      deviations(f, panel, origin, z);
      const x = new Float64Array(SPATIAL_FEATURES);
      for (const v of VARIABLES) {
        const w = f.weights[v];
        for (let c = 0; c < n; c++) {
          features(f, panel, z, v, c, origin, x);
          for (let h = 0; h < hs.length; h++) {
            let zh = 0;
            const base = index[h]! * SPATIAL_FEATURES;
            for (let i = 0; i < SPATIAL_FEATURES; i++) zh += w[base + i]! * x[i]!;
            out[v][h * n + c] = Math.max(0, baseline(f, panel, v, c, origin + hs[h]!) + f.sigma[v][c]! * zh);
          }
        }
      }
    },
  };
}
