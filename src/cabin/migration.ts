// The migration term (docs/cabin.md §2.2): a segment placed on another centre than the one
// it runs on now pays, once, a fixed cost (starting processes, the consumer group's
// hand-over) plus moving its state into the new centre — the windows still open, re-read
// from the log by the new owner — at that centre's uplink price, the same shape as Table 3's
// transfer term. Only a running plan (AllocationInstance.running) makes moves cost anything,
// so a first plan is unchanged, and a plan changes only when it gains more than the move.
import type { AllocationInstance, MigrationCost } from './types.ts';

export const DEFAULT_MIGRATION: MigrationCost = { fixedCost: 2, stateWindows: 2 };

/** One-off cost of placing block `j` on centre `i` given what runs now (0 if it stays or nothing runs). */
export function migrationCost(inst: AllocationInstance, i: number, j: number): number {
  const from = inst.running?.[inst.blocks[j]!.id];
  const centre = inst.centres[i]!;
  if (from === undefined || from === centre.id) return 0;
  const m = inst.migration ?? DEFAULT_MIGRATION;
  return m.fixedCost + centre.uplinkPrice * (m.stateWindows * inst.blocks[j]!.size) / 1024;
}
