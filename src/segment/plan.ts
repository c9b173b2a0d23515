// Pool size: options first, then the cabin allocator's replica plan (`.iov/plan.json`,
// {segments: [{segment, replicas, …}]}), then a default. Read as plain JSON so the processor
// works whether or not an allocation was ever run; an unreadable plan is ignored.
import { existsSync, readFileSync } from 'node:fs';

export const DEFAULT_PLAN_FILE = '.iov/plan.json';
export const DEFAULT_WORKERS = 2;

export function workersFromPlan(segment: string, file = DEFAULT_PLAN_FILE): number | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { segments?: { segment?: unknown; replicas?: unknown }[] };
    const r = doc.segments?.find((s) => s.segment === segment)?.replicas;
    return typeof r === 'number' && Number.isInteger(r) && r > 0 ? r : undefined;
  } catch {
    return undefined;
  }
}

export function resolveWorkers(segment: string, workers: number | undefined, planFile?: string): number {
  return workers ?? workersFromPlan(segment, planFile) ?? DEFAULT_WORKERS;
}
