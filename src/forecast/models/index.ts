// Every model by name: one list the backtest, the online forecaster and the bench share.
import { ForecastError } from '../errors.ts';
import type { ForecastModel } from '../types.ts';
import { createHoltWinters } from './holt-winters.ts';
import { createSarima } from './sarima.ts';
import { createHistoricalAverage, createPersistence, createSeasonalNaive } from './simple.ts';
import { createSpatial } from './spatial.ts';

export { createHoltWinters, type HoltWintersOptions, type HoltWintersParams } from './holt-winters.ts';
export { createSarima, type SarimaOptions } from './sarima.ts';
export { createHistoricalAverage, createPersistence, createSeasonalNaive } from './simple.ts';
export { createSpatial, SPATIAL_FEATURES, type SpatialOptions } from './spatial.ts';

export const MODELS: Record<string, () => ForecastModel> = {
  persistence: createPersistence,
  'historical-average': createHistoricalAverage,
  'seasonal-naive': () => createSeasonalNaive(),
  'holt-winters': () => createHoltWinters(),
  sarima: () => createSarima(),
  spatial: () => createSpatial(),
};

export const MODEL_NAMES = Object.keys(MODELS);

export function createModel(name: string): ForecastModel {
  const make = MODELS[name];
  if (!make) throw new ForecastError('UNKNOWN_MODEL', name, MODEL_NAMES.join(', '));
  return make();
}
