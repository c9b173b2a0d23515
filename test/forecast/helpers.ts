// Tiny panels for hand-computed model tests.
import type { Panel } from '../../src/forecast/index.ts';

/** Monday 2 Nov 2026 00:00 UTC; panels here use utcOffsetS 0, so step 0 is Monday 00:00. */
export const MONDAY_S = Date.UTC(2026, 10, 2) / 1000;

export function panelOf(cells: string[], speed: number[][], flow?: number[][]): Panel {
  const steps = speed[0]!.length;
  return {
    cells, startS: MONDAY_S, stepS: 300, steps, utcOffsetS: 0,
    speed: Float32Array.from(speed.flat()), flow: Float32Array.from((flow ?? speed).flat()),
  };
}
