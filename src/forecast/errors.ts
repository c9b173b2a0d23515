// The forecaster's error catalogue: stable codes with message templates (`%s` filled in
// order). docs/forecast.md lists the same codes; test/forecast/errors.test.ts keeps them in step.

export const FORECAST_ERRORS = {
  BAD_OPTION: 'option %s: %s',
  UNKNOWN_MODEL: 'unknown model "%s" (known: %s)',
  HISTORY_TOO_SHORT: 'model %s needs at least %s steps of history, got %s',
  NOT_FITTED: 'model %s must be fitted before it predicts',
} as const;

export type ForecastErrorCode = keyof typeof FORECAST_ERRORS;

export class ForecastError extends Error {
  constructor(
    readonly code: ForecastErrorCode,
    ...args: (string | number)[]
  ) {
    let i = 0;
    super(FORECAST_ERRORS[code].replace(/%s/g, () => String(args[i++] ?? '')));
    this.name = 'ForecastError';
  }
}
