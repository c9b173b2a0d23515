// The replica plan (docs/cabin.md §8): the one module for its format, its reader and what it
// decides per segment. `iov allocate` writes it to `$IOV_STATE_DIR/plan.json`; `iov infra up`,
// the gateway, `iov segment` and the demo read it here, through the composition root, and
// pass the numbers in — no component opens the file itself.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PlanError } from './errors.ts';
import { segmentTopic, type Segment, type Topology } from './types.ts';

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

export const PLAN_SOLVERS = ['exact', 'fast', 'ga', 'hybrid', 'tabu'] as const;
export const PLAN_STATUSES = ['optimal', 'feasible', 'infeasible', 'unknown'] as const;

export interface ReplicaPlan {
  /** ISO time */
  createdAt: string;
  solver: (typeof PLAN_SOLVERS)[number];
  status: (typeof PLAN_STATUSES)[number];
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

export function validatePlan(p: unknown, file = 'plan'): ReplicaPlan {
  const bad = (field: string, msg: string): never => { throw new PlanError(`${file}: ${field}: ${msg}`); };
  if (typeof p !== 'object' || p === null || Array.isArray(p)) bad('(root)', 'must be an object');
  const o = p as Record<string, unknown>;
  if (typeof o.createdAt !== 'string' || Number.isNaN(Date.parse(o.createdAt))) bad('createdAt', 'must be an ISO date');
  if (!(PLAN_SOLVERS as readonly unknown[]).includes(o.solver)) bad('solver', `must be one of ${PLAN_SOLVERS.join(', ')}`);
  if (!(PLAN_STATUSES as readonly unknown[]).includes(o.status)) bad('status', `must be one of ${PLAN_STATUSES.join(', ')}`);
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

/** Read and validate a plan file. */
export function readPlan(file: string): ReplicaPlan {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PlanError(`${file}: cannot read: ${(e as Error).message.split('\n')[0]}`);
  }
  return validatePlan(doc, file);
}

/** The plan at `file`, or undefined when no allocation was ever written there. A bad file is an error. */
export function readPlanIfAny(file: string): ReplicaPlan | undefined {
  return existsSync(file) ? readPlan(file) : undefined;
}

export function writePlan(file: string, plan: ReplicaPlan): void {
  validatePlan(plan, file);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(plan, null, 2)}\n`);
  renameSync(tmp, file);
}

/** Pool threads per segment when no replica plan lists it. */
export const DEFAULT_WORKERS = 2;

/** Replicas for one segment, or the fallback when the plan does not list it. */
export function replicasFor(plan: ReplicaPlan | undefined, segment: string, fallback = 1): number {
  return plan?.segments.find((s) => s.segment === segment)?.replicas ?? fallback;
}

/**
 * Partitions of a segment's topic: at least its maxReplicas and the replicas the plan gives
 * it, so every replica of the consumer group has a partition to own (DESIGN.md §2).
 */
export function partitionsFor(segment: Segment, plan?: ReplicaPlan): number {
  return Math.max(1, segment.maxReplicas, replicasFor(plan, segment.id, 1));
}

/** partitionsFor every segment of the topology. */
export function plannedPartitions(topo: Topology, plan?: ReplicaPlan): Map<string, number> {
  return new Map(topo.segments.map((s) => [s.id, partitionsFor(s, plan)]));
}

/** The segment topics at their planned partitions, as `bus.ensureTopics` takes them. */
export function segmentTopicSpecs(topo: Topology, plan?: ReplicaPlan): { topic: string; partitions: number }[] {
  return [...plannedPartitions(topo, plan)].map(([segment, partitions]) => ({ topic: segmentTopic(segment), partitions }));
}
