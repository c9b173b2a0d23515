// `iov plan` (issue 19, docs/cabin.md §8.1): the difference between the replica plan that
// runs now and the one the allocator makes from the current inputs (topology, directory,
// demand), as `terraform plan` prints it — segments to add, move, rescale or remove, cost
// and latency before and after, and why.
import type { ReplicaPlan, SegmentPlan } from '../topology/index.ts';

export type PlanAction = 'add' | 'move' | 'scale' | 'remove' | 'keep';

export interface PlanChange {
  segment: string;
  action: PlanAction;
  before?: Pick<SegmentPlan, 'centre' | 'replicas' | 'cost' | 'expectedLatencyMs'>;
  after?: Pick<SegmentPlan, 'centre' | 'replicas' | 'cost' | 'expectedLatencyMs'>;
  why: string;
}

export interface PlanDiff {
  changes: PlanChange[];
  costBefore: number | null;
  costAfter: number;
  counts: Record<PlanAction, number>;
}

const pick = (s: SegmentPlan): NonNullable<PlanChange['before']> => ({ centre: s.centre, replicas: s.replicas, cost: s.cost, expectedLatencyMs: s.expectedLatencyMs });

/** `offered`: the centres the allocator could use now (a plan's centre missing from it was
 *  withdrawn or is down); `moveCost`: the one-off migration term of each moved segment
 *  (docs/cabin.md §2.2), named in the reason. */
export function diffPlans(current: ReplicaPlan | undefined, desired: ReplicaPlan, offered: ReadonlySet<string>, moveCost: Readonly<Record<string, number>> = {}): PlanDiff {
  const changes: PlanChange[] = [];
  const now = new Map((current?.segments ?? []).map((s) => [s.segment, s]));
  for (const d of desired.segments) {
    const c = now.get(d.segment);
    if (!c) { changes.push({ segment: d.segment, action: 'add', after: pick(d), why: current ? 'a segment the running plan does not have' : 'no plan runs yet' }); continue; }
    now.delete(d.segment);
    const gone = !offered.has(c.centre);
    const action: PlanAction = c.centre !== d.centre ? 'move' : c.replicas !== d.replicas ? 'scale' : 'keep';
    const delta = d.cost - c.cost;
    const why = gone ? `centre ${c.centre} is no longer offered (withdrawn, down or silent)`
      : action === 'keep' ? 'unchanged'
      : delta < 0 ? `cheaper by ${(-delta).toFixed(2)}${action === 'move' && moveCost[d.segment] ? `, more than the one-off move (${moveCost[d.segment]!.toFixed(2)})` : ''}`
      : `the old placement no longer fits the inputs (demand, deadline or capacity changed); ${delta > 0 ? `dearer by ${delta.toFixed(2)}` : 'same cost'}`;
    changes.push({ segment: d.segment, action, before: pick(c), after: pick(d), why });
  }
  for (const c of now.values()) changes.push({ segment: c.segment, action: 'remove', before: pick(c), why: 'no longer in the topology' });
  const counts: Record<PlanAction, number> = { add: 0, move: 0, scale: 0, remove: 0, keep: 0 };
  for (const ch of changes) counts[ch.action]++;
  return { changes, costBefore: current ? current.totalCost : null, costAfter: desired.totalCost, counts };
}

const SIGN: Record<PlanAction, string> = { add: '+', move: '~', scale: '~', remove: '-', keep: ' ' };

export function formatPlanDiff(d: PlanDiff): string {
  const side = (x: PlanChange['before']): string => (x ? `${x.centre} ×${x.replicas} (${x.cost.toFixed(2)}, ${x.expectedLatencyMs.toFixed(0)} ms)` : '—');
  const lines = d.changes.map((c) => `  ${SIGN[c.action]} ${c.segment.padEnd(12)} ${c.action.padEnd(6)} ${side(c.before)} → ${side(c.after)}  # ${c.why}`);
  const n = d.counts;
  lines.push(`Plan: ${n.add} to add, ${n.move} to move, ${n.scale} to rescale, ${n.remove} to remove, ${n.keep} unchanged. Cost ${d.costBefore === null ? '—' : d.costBefore.toFixed(2)} → ${d.costAfter.toFixed(2)}.`);
  return `${lines.join('\n')}\n`;
}

/** Segment → centre of a plan: the `running` placement the migration term is counted against. */
export function runningPlacement(plan: ReplicaPlan): Record<string, string> {
  return Object.fromEntries(plan.segments.map((s) => [s.segment, s.centre]));
}

/** The migration term of each segment an allocation moves. */
export function moveCosts(r: { allocations: readonly { block: string; migrationCost?: number }[] }): Record<string, number> {
  return Object.fromEntries(r.allocations.filter((a) => a.migrationCost).map((a) => [a.block, a.migrationCost!]));
}
