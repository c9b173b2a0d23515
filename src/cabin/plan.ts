// The replica plan made from an allocation. Its format, reader and writer are the topology
// layer's (src/topology/plan.ts: every component reads the plan there); the allocator only
// makes one.
import type { ReplicaPlan } from '../topology/index.ts';
import type { AllocationInstance, AllocationResult } from './types.ts';

export {
  type ReplicaPlan, type SegmentPlan, readPlan, writePlan, validatePlan, replicasFor,
} from '../topology/index.ts';

export function planFromResult(inst: AllocationInstance, r: AllocationResult, now = new Date()): ReplicaPlan {
  const byId = new Map(inst.centres.map((c) => [c.id, c]));
  const round = (x: number): number => Math.round(x * 100) / 100;
  // The plan states what it costs to run; a one-off migration term (docs/cabin.md §2.2) is
  // part of the objective that chose it, not of the plan's running cost.
  const running = (a: AllocationResult['allocations'][number]): number => a.transferCost + a.rentalCost;
  return {
    version: 1,
    createdAt: now.toISOString(),
    solver: r.solver,
    status: r.status,
    totalCost: round(r.allocations.reduce((sum, a) => sum + running(a), 0)),
    lowerBound: Number.isFinite(r.lowerBound) && !inst.running ? round(r.lowerBound) : null,
    topology: inst.name,
    deadlineS: inst.deadlineS, rentalHours: inst.rentalHours, windowS: inst.windowS,
    segments: r.allocations.map((a) => ({
      segment: a.block, centre: a.centre, replicas: a.replicas,
      expectedLatencyMs: a.expectedLatencyMs, cost: round(running(a)),
      provider: byId.get(a.centre)?.provider ?? '', location: byId.get(a.centre)?.location ?? '',
    })),
  };
}
