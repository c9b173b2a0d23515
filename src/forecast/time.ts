// Local calendar of a panel step: slot of the day (0–287), day of the week (0 = Monday).
// Models look these up per (cell, step) in their inner loops, so each panel's calendar is
// computed once (`calendar`) and kept beside it.
import { STEPS_PER_DAY, type Panel } from './types.ts';

/** Epoch day 0 (1 Jan 1970) was a Thursday: day 3 of a Monday-first week. */
const EPOCH_DOW = 3;

export function localDay(panel: Panel, t: number): number {
  return Math.floor((panel.startS + t * panel.stepS + panel.utcOffsetS) / 86400);
}

export function slotOfDay(panel: Panel, t: number): number {
  const s = (panel.startS + t * panel.stepS + panel.utcOffsetS) % 86400;
  return Math.floor((s < 0 ? s + 86400 : s) / panel.stepS);
}

export function dayOfWeek(panel: Panel, t: number): number {
  return (((localDay(panel, t) + EPOCH_DOW) % 7) + 7) % 7;
}

/** Slot of the week, 0 … 2015 (Monday 00:00 is 0). */
export function slotOfWeek(panel: Panel, t: number): number {
  return dayOfWeek(panel, t) * STEPS_PER_DAY + slotOfDay(panel, t);
}

/** Weekday, Saturday or Sunday: the three kinds of day the rhythm differs between. */
export function dayType(panel: Panel, t: number): 0 | 1 | 2 {
  const d = dayOfWeek(panel, t);
  return d < 5 ? 0 : d === 5 ? 1 : 2;
}

export interface Calendar {
  /** Slot of the week per step (and a day past the end, for forecasts). */
  week: Int32Array;
  /** dayType * 288 + slot of the day per step. */
  dayTypeSlot: Int32Array;
}

/** Forecasts may reach this far past a panel's last step (a day; the horizons are 3–12 steps). */
const AHEAD = STEPS_PER_DAY;
const calendars = new WeakMap<Panel, Calendar>();

export function calendar(panel: Panel): Calendar {
  let cal = calendars.get(panel);
  if (!cal) {
    const len = panel.steps + AHEAD;
    cal = {
      week: Int32Array.from({ length: len }, (_, t) => slotOfWeek(panel, t)),
      dayTypeSlot: Int32Array.from({ length: len }, (_, t) => dayType(panel, t) * STEPS_PER_DAY + slotOfDay(panel, t)),
    };
    calendars.set(panel, cal);
  }
  return cal;
}
