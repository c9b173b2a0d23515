// Each model against values worked out by hand on tiny series (docs/forecast.md §2).
import { describe, expect, it } from 'vitest';
import { latLngToCell, gridDisk } from 'h3-js';
import {
  ForecastError, RidgeAccumulator, createHistoricalAverage, createHoltWinters, createModel, createPersistence, createSarima,
  createSeasonalNaive, createSpatial, fromFirstData, newForecast, runBacktest, ErrorAccumulator, STEPS_PER_WEEK,
} from '../../src/forecast/index.ts';
import { panelOf } from './helpers.ts';

const CELL = latLngToCell(31.23, 121.47, 9);
const ramp = (n: number) => Array.from({ length: n }, (_, t) => t);

describe('persistence', () => {
  it('repeats the last window at every horizon', () => {
    const p = panelOf([CELL], [[10, 20, 30, 40]], [[1, 2, 3, 4]]);
    const out = newForecast(1, 3);
    createPersistence().predict(p, 3, [3, 6, 12], out);
    expect([...out.speed]).toEqual([40, 40, 40]);
    expect([...out.flow]).toEqual([4, 4, 4]);
  });
});

describe('historical average by time of week', () => {
  it('is the mean of the same slot over the training weeks', () => {
    // y_t = t over two weeks: slot k holds k and k + 2016, mean k + 1008.
    const p = panelOf([CELL], [ramp(2 * STEPS_PER_WEEK)]);
    const m = createHistoricalAverage();
    m.fit(p, 2 * STEPS_PER_WEEK);
    const out = newForecast(1, 2);
    m.predict(p, 2 * STEPS_PER_WEEK - 1, [3, 12], out); // targets: slots 2 and 11 of the next week
    expect([...out.speed]).toEqual([2 + 1008, 11 + 1008]);
  });

  it('refuses to predict before it is fitted', () => {
    const p = panelOf([CELL], [[1, 2, 3]]);
    expect(() => createHistoricalAverage().predict(p, 2, [3], newForecast(1, 1))).toThrowError(new ForecastError('NOT_FITTED', 'historical-average'));
  });
});

describe('seasonal naive', () => {
  it('takes the same slot one week earlier', () => {
    const p = panelOf([CELL], [ramp(STEPS_PER_WEEK + 20)]);
    const out = newForecast(1, 3);
    createSeasonalNaive().predict(p, STEPS_PER_WEEK + 4, [3, 6, 12], out);
    expect([...out.speed]).toEqual([7, 10, 16]);
  });

  it('takes the same slot a day earlier while the history is shorter than a week', () => {
    const p = panelOf([CELL], [ramp(400)]);
    const out = newForecast(1, 2);
    createSeasonalNaive().predict(p, 300, [3, 12], out);
    expect([...out.speed]).toEqual([15, 24]);
  });

  it('says how much history it lacks', () => {
    const p = panelOf([CELL], [ramp(100)]);
    expect(() => createSeasonalNaive().predict(p, 50, [3], newForecast(1, 1))).toThrow(/needs at least 288 steps of history, got 51/);
  });
});

describe('Holt-Winters (additive)', () => {
  it('matches the recursion worked by hand (season 2, α = β = γ = 0.5)', () => {
    // Start: level (1+3)/2 = 2, trend 0, seasonal [-1, 1].
    // t=2 (y=2): level .5(2+1)+.5(2+0) = 2.5; trend .5(.5)+0 = .25; s0 = .5(2-2.5)+.5(-1) = -.75
    // t=3 (y=4): level .5(4-1)+.5(2.75) = 2.875; trend .5(.375)+.5(.25) = .3125; s1 = .5(1.125)+.5 = 1.0625
    // ŷ(3+h) = 2.875 + .3125h + s[(3+h) mod 2]: h=1 2.4375, h=2 4.5625, h=3 3.0625
    const params = { alpha: 0.5, beta: 0.5, gamma: 0.5 };
    const m = createHoltWinters({ season: 2, params: { speed: params, flow: params } });
    const p = panelOf([CELL], [[1, 3, 2, 4]]);
    m.fit(p, 4);
    const out = newForecast(1, 3);
    m.predict(p, 3, [1, 2, 3], out);
    expect([...out.speed]).toEqual([2.4375, 4.5625, 3.0625]);
  });

  it('gives the same forecast walking origins forward as from scratch', () => {
    const params = { alpha: 0.3, beta: 0.1, gamma: 0.2 };
    const y = Array.from({ length: 40 }, (_, t) => 10 + (t % 4) + 0.1 * t);
    const p = panelOf([CELL], [y]);
    const walk = createHoltWinters({ season: 4, params: { speed: params, flow: params } });
    const out = newForecast(1, 1);
    for (let o = 5; o <= 30; o++) walk.predict(p, o, [3], out);
    const fresh = createHoltWinters({ season: 4, params: { speed: params, flow: params } });
    const again = newForecast(1, 1);
    fresh.predict(p, 30, [3], again);
    expect(out.speed[0]).toBe(again.speed[0]);
  });
});

describe('SARIMA(1,0,0)(0,1,0)_4 through npm arima', () => {
  it('forecasts last season plus the AR(1) decay of the seasonal difference', () => {
    // First season [1, 5, 3, 7]; then y_t = y_{t-4} + w_t with w_t = 0.5 w_{t-1}, w_4 = 8.
    const y = [1, 5, 3, 7];
    let w = 16;
    for (let t = 4; t < 24; t++) {
      w *= 0.5;
      y.push(y[t - 4]! + w);
    }
    const m = createSarima({ p: 1, q: 0, season: 4, window: 24 });
    const p = panelOf([CELL], [y]);
    const out = newForecast(1, 3);
    m.predict(p, 23, [1, 2, 3], out);
    const wT = y[23]! - y[19]!;
    const expected = [1, 2, 3].map((h) => y[23 + h - 4]! + 0.5 ** h * wT);
    [0, 1, 2].forEach((i) => expect(out.speed[i]).toBeCloseTo(expected[i]!, 3));
  });
});

describe('ridge regression', () => {
  it('recovers an exact line with a negligible penalty', () => {
    const acc = new RidgeAccumulator(2, 1);
    for (const x of [0, 1, 2, 3]) acc.add([1, x], [2 + 3 * x]);
    const w = acc.solve(1e-12, 0);
    expect(w[0]).toBeCloseTo(2, 9);
    expect(w[1]).toBeCloseTo(3, 9);
  });

  it('shrinks as (Σxy) / (Σx² + λn) without an intercept', () => {
    const acc = new RidgeAccumulator(1, 2);
    for (const x of [1, 2, 3]) acc.add([x], [2 * x, -x]);
    const w = acc.solve(0.5, -1); // Σx² = 14, Σxy = 28 and -14, λn = 1.5
    expect(w[0]).toBeCloseTo(28 / 15.5, 12);
    expect(w[1]).toBeCloseTo(-14 / 15.5, 12);
  });
});

describe('spatial model', () => {
  const cells = gridDisk(CELL, 1).sort();
  const days = 4;
  const steps = days * 288;

  it('is exact on series with no deviation from their rhythm', () => {
    const speed = cells.map((_, c) => Array.from({ length: steps }, () => 20 + c));
    const p = panelOf(cells, speed);
    const m = createSpatial();
    m.fit(p, 3 * 288);
    const out = newForecast(cells.length, 3);
    m.predict(p, 3 * 288 + 10, [3, 6, 12], out);
    cells.forEach((_, c) => [0, 1, 2].forEach((h) => expect(out.speed[h * cells.length + c]).toBeCloseTo(20 + c, 6)));
  });

  it('learns that a neighbour leads: the centre repeats its neighbours\' deviation 3 steps later', () => {
    // Ring cells: rhythm + independent noise. Centre: rhythm + the ring's mean noise 3 steps earlier.
    let s = 7;
    const noise = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 10;
    const centre = cells.indexOf(CELL);
    const rhythm = (t: number) => 40 + 10 * Math.sin((2 * Math.PI * (t % 288)) / 288);
    const dev = cells.map(() => Array.from({ length: steps }, noise));
    const ringMean = (t: number) => cells.reduce((a, _, c) => (c === centre ? a : a + dev[c]![t]!), 0) / (cells.length - 1);
    const speed = cells.map((_, c) => Array.from({ length: steps }, (_, t) => rhythm(t) + (c === centre ? (t >= 3 ? ringMean(t - 3) : 0) : dev[c]![t]!)));
    const p = panelOf(cells, speed);
    const spatial = createSpatial();
    const ha = createHistoricalAverage();
    spatial.fit(p, 3 * 288);
    ha.fit(p, 3 * 288);
    const errs = { spatial: 0, ha: 0 };
    const out = newForecast(cells.length, 1);
    for (let o = 3 * 288; o < steps - 3; o++) {
      const actual = speed[centre]![o + 3]!;
      spatial.predict(p, o, [3], out);
      errs.spatial += Math.abs(out.speed[centre]! - actual);
      ha.predict(p, o, [3], out);
      errs.ha += Math.abs(out.speed[centre]! - actual);
    }
    // The ring mean of 6 uniform(-5, 5) has sd ≈ 1.18: HA cannot see it, the spatial model can.
    expect(errs.spatial).toBeLessThan(0.35 * errs.ha);
  });

  it('refuses a panel of other cells', () => {
    const p = panelOf(cells, cells.map(() => Array.from({ length: steps }, () => 1)));
    const m = createSpatial();
    m.fit(p, 2 * 288);
    const other = panelOf(cells.slice(1), cells.slice(1).map(() => Array.from({ length: steps }, () => 1)));
    expect(() => m.predict(other, 300, [3], newForecast(cells.length - 1, 1))).toThrow(ForecastError);
  });
});

describe('metrics and backtest', () => {
  it('MAE, RMSE and MAPE with a MAPE floor', () => {
    const acc = new ErrorAccumulator(1);
    acc.add(10, 12); // 2, 20 %
    acc.add(4, 3); // 1, 25 %
    acc.add(0.5, 0.5); // 0, below the floor
    expect(acc.result()).toEqual({ mae: 1, rmse: Math.sqrt(5 / 3), mape: 22.5, n: 3 });
  });

  it('persistence on a ramp errs by exactly the horizon', () => {
    const p = panelOf([CELL], [ramp(400)]);
    const r = runBacktest({ panel: p, trainEnd: 300, models: [createModel('persistence')], sample: { cells: 1, originEvery: 10 } });
    expect(r.all.persistence!.speed.map((m) => m.mae)).toEqual([3, 6, 12]);
    expect(r.origins).toBe(400 - 300 + 1 - 12);
  });

  it('names unknown models with the known ones', () => {
    expect(() => createModel('lstm')).toThrow('unknown model "lstm" (known: persistence, historical-average, seasonal-naive, holt-winters, sarima, spatial)');
  });
});

describe('fromFirstData', () => {
  it('drops the steps before any cell had vehicles', () => {
    const p = panelOf([CELL, 'x'], [[5, 5, 7, 8], [5, 5, 6, 9]], [[0, 0, 0, 2], [0, 0, 3, 1]]);
    const q = fromFirstData(p);
    expect([q.steps, q.startS - p.startS, [...q.speed], [...q.flow]]).toEqual([2, 600, [7, 8, 6, 9], [0, 2, 3, 1]]);
    expect(fromFirstData(q)).toBe(q);
  });
});
