// The replica plan (docs/cabin.md §8): what `iov allocate` writes and what segment
// processors and `iov infra up` read to size pools and partitions.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CabinError } from './errors.ts';
import type { AllocationInstance, AllocationResult, AllocationStatus, SolverName } from './types.ts';

export const DEFAULT_PLAN_FILE = '.iov/plan.json';

export interface SegmentPlan {
  segment: string;
  centre: string;
  /** workers / consumers for the segment (= VMs n_ij); ≤ the segment's maxReplicas */
  replicas: number;
  /** one window: network latency + transfer + processing, ms (≤ deadline) */
  expectedLatencyMs: number;
  /** transfer + rental over the rental period */
  cost: number;
  provider?: string;
  location?: string;
}

export interface ReplicaPlan {
  /** ISO time */
  createdAt: string;
  solver: SolverName;
  status: AllocationStatus;
  totalCost: number;
  segments: SegmentPlan[];
  /** optional context */
  version?: 1;
  topology?: string;
  deadlineS?: number;
  rentalHours?: number;
  windowS?: number;
  lowerBound?: number | null;
}

export function planFromResult(inst: AllocationInstance, r: AllocationResult, now = new Date()): ReplicaPlan {
  const byId = new Map(inst.centres.map((c) => [c.id, c]));
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    version: 1,
    createdAt: now.toISOString(),
    solver: r.solver,
    status: r.status,
    totalCost: round(r.totalCost),
    lowerBound: Number.isFinite(r.lowerBound) ? round(r.lowerBound) : null,
    topology: inst.name,
    deadlineS: inst.deadlineS, rentalHours: inst.rentalHours, windowS: inst.windowS,
    segments: r.allocations.map((a) => ({
      segment: a.block, centre: a.centre, replicas: a.replicas,
      expectedLatencyMs: a.expectedLatencyMs, cost: round(a.cost),
      provider: byId.get(a.centre)?.provider ?? '', location: byId.get(a.centre)?.location ?? '',
    })),
  };
}

export function writePlan(file: string, plan: ReplicaPlan): void {
  validatePlan(plan, file);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(plan, null, 2)}\n`);
  renameSync(tmp, file);
}

const SOLVERS = ['exact', 'fast', 'ga'];
const STATUSES = ['optimal', 'feasible', 'infeasible', 'unknown'];

export function validatePlan(p: unknown, file = 'plan'): ReplicaPlan {
  const bad = (field: string, msg: string): never => { throw new CabinError('CABIN_BAD_PLAN', `${file}: ${field}: ${msg}`); };
  if (typeof p !== 'object' || p === null || Array.isArray(p)) bad('(root)', 'must be an object');
  const o = p as Record<string, unknown>;
  if (typeof o.createdAt !== 'string' || Number.isNaN(Date.parse(o.createdAt))) bad('createdAt', 'must be an ISO date');
  if (!SOLVERS.includes(o.solver as string)) bad('solver', `must be one of ${SOLVERS.join(', ')}`);
  if (!STATUSES.includes(o.status as string)) bad('status', `must be one of ${STATUSES.join(', ')}`);
  if (typeof o.totalCost !== 'number' || !(o.totalCost >= 0)) bad('totalCost', 'must be a number ≥ 0');
  if (!Array.isArray(o.segments)) bad('segments', 'must be a list');
  const seen = new Set<string>();
  (o.segments as unknown[]).forEach((s, k) => {
    const f = `segments[${k}]`;
    if (typeof s !== 'object' || s === null) bad(f, 'must be an object');
    const x = s as Record<string, unknown>;
    if (typeof x.segment !== 'string' || !x.segment) bad(`${f}.segment`, 'must be a segment id');
    if (seen.has(x.segment as string)) bad(`${f}.segment`, `duplicate segment ${x.segment}`);
    seen.add(x.segment as string);
    if (typeof x.centre !== 'string' || !x.centre) bad(`${f}.centre`, 'must be a centre id');
    if (!Number.isInteger(x.replicas) || (x.replicas as number) < 1) bad(`${f}.replicas`, 'must be an integer ≥ 1');
    if (typeof x.expectedLatencyMs !== 'number' || !(x.expectedLatencyMs >= 0)) bad(`${f}.expectedLatencyMs`, 'must be a number ≥ 0');
    if (typeof x.cost !== 'number' || !(x.cost >= 0)) bad(`${f}.cost`, 'must be a number ≥ 0');
  });
  return o as unknown as ReplicaPlan;
}

/** Read and validate a plan file written by `iov allocate`. */
export function readPlan(file: string = DEFAULT_PLAN_FILE): ReplicaPlan {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CabinError('CABIN_BAD_PLAN', `${file}: cannot read: ${(e as Error).message.split('\n')[0]}`);
  }
  return validatePlan(doc, file);
}

/** Replicas for one segment, or the fallback when the plan does not list it. */
export function replicasFor(plan: ReplicaPlan, segment: string, fallback = 1): number {
  return plan.segments.find((s) => s.segment === segment)?.replicas ?? fallback;
}
