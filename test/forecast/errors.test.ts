// Keeps the forecaster's error catalogue (src/forecast/errors.ts) and docs/forecast.md in step.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FORECAST_ERRORS, ForecastError } from '../../src/forecast/index.ts';

const doc = readFileSync(new URL('../../docs/forecast.md', import.meta.url), 'utf8');
const section = doc.slice(doc.indexOf('## Error codes'));
const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| (.+) \|$/gm)].map((m) => [m[1]!, m[2]!] as const);

describe('forecast error catalogue', () => {
  it('documents every code with its message template, and only those', () => {
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(FORECAST_ERRORS).map(([c, t]) => [c, `\`${t}\``])));
  });

  it('fills the template in order and keeps the code', () => {
    const e = new ForecastError('HISTORY_TOO_SHORT', 'spatial', 288, 100);
    expect([e.code, e.message, e.name]).toEqual(['HISTORY_TOO_SHORT', 'model spatial needs at least 288 steps of history, got 100', 'ForecastError']);
  });
});
