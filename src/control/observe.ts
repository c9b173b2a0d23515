// What the controller watches (docs/cabin.md §8.3): the topology, the demand and the
// centres' status files. Each look gives the allocation instance restricted to the centres
// offered now, and a snapshot; comparing two snapshots says whether to re-plan and why —
// a centre withdrawn, down, silent (its status file not refreshed within the heartbeat
// timeout) or back; a centre's figures changed (price, VM count, speed, …); the topology's
// segments changed; a segment's demand changed by more than the threshold.
import { existsSync, statSync } from 'node:fs';
import { listCentres, readPlanningInputs, type AllocationInstance, type InputFiles } from '../cabin/index.ts';

export interface ObserveOptions {
  inputs: InputFiles;
  /** A reporting centre whose status file is older than this is silent (s). */
  heartbeatTimeoutS: number;
  /** Relative change of a segment's block size that re-plans (0.2 = 20 %). */
  demandThreshold: number;
}

export interface Snapshot {
  /** Offered centre → its model figures (JSON). */
  centres: Map<string, string>;
  /** Registered centres not offered, with why (down, silent). */
  excluded: Map<string, string>;
  /** Segment → block size (MB per window). */
  blocks: Map<string, number>;
  /** Segment list with maxReplicas, and the instance-wide figures (deadline, window, …). */
  shape: string;
}

export interface Observation {
  instance: AllocationInstance;
  snapshot: Snapshot;
  /** Centre → when it last reported (status file mtime, epoch ms) and whether it reports at all. */
  heartbeats: Map<string, { lastReport: number; reporting: boolean }>;
}

/**
 * Heartbeats: a centre counts as reporting once its status file's mtime has been seen to
 * advance while this observer runs; a reporting centre is silent when that mtime is older
 * than the timeout. A status file that never changes describes a centre without a reporter
 * and is never silent (the example folder, a store filled by hand).
 */
export function createObserver(o: ObserveOptions, note: (line: string) => void = () => {}) {
  const seen = new Map<string, { mtime: number; reporting: boolean }>();
  return function observe(now = Date.now()): Observation {
    const { directory, instance } = readPlanningInputs(o.inputs, note);
    const excluded = new Map<string, string>();
    const heartbeats: Observation['heartbeats'] = new Map();
    for (const { centre } of listCentres(directory)) {
      if (centre.state === 'down') { excluded.set(centre.id, 'down'); continue; }
      const file = centre.source;
      const mtime = file && existsSync(file) ? statSync(file).mtimeMs : Date.parse(centre.updatedAt);
      const before = seen.get(centre.id);
      const reporting = (before?.reporting ?? false) || (before !== undefined && mtime > before.mtime);
      seen.set(centre.id, { mtime, reporting });
      heartbeats.set(centre.id, { lastReport: mtime, reporting });
      const age = (now - mtime) / 1000;
      if (o.heartbeatTimeoutS > 0 && reporting && age > o.heartbeatTimeoutS) excluded.set(centre.id, `silent for ${age.toFixed(1)} s (heartbeat timeout ${o.heartbeatTimeoutS} s)`);
    }
    const offered = { ...instance, centres: instance.centres.filter((c) => !excluded.has(c.id)) };
    const snapshot: Snapshot = {
      centres: new Map(offered.centres.map((c) => [c.id, JSON.stringify(c)])),
      excluded,
      blocks: new Map(offered.blocks.map((b) => [b.id, b.size])),
      shape: JSON.stringify({
        blocks: offered.blocks.map((b) => [b.id, b.maxReplicas]), deadlineS: offered.deadlineS, windowS: offered.windowS,
        rentalHours: offered.rentalHours, latency: offered.latency, migration: offered.migration ?? null,
      }),
    };
    return { instance: offered, snapshot, heartbeats };
  };
}

/** Why the desired state changed between two looks; empty when a re-plan would not be warranted. */
export function replanReasons(before: Snapshot, after: Snapshot, demandThreshold: number): string[] {
  const out: string[] = [];
  for (const [id, figures] of before.centres) {
    if (!after.centres.has(id)) out.push(`centre ${id} ${after.excluded.get(id) ?? 'withdrawn'}`);
    else if (after.centres.get(id) !== figures) out.push(`centre ${id} changed (${changedFields(figures, after.centres.get(id)!)})`);
  }
  for (const id of after.centres.keys()) if (!before.centres.has(id)) out.push(`centre ${id} offered${before.excluded.has(id) ? ' again' : ''}`);
  if (before.shape !== after.shape) out.push('the topology or the planning figures changed (segments, maxReplicas, deadline, window, rental period, latency, migration)');
  for (const [id, size] of after.blocks) {
    const was = before.blocks.get(id);
    if (was !== undefined && Math.abs(size - was) > demandThreshold * was) out.push(`demand of ${id} changed by ${(((size - was) / was) * 100).toFixed(0)} % (threshold ${(demandThreshold * 100).toFixed(0)} %)`);
  }
  return out;
}

function changedFields(a: string, b: string): string {
  const x = JSON.parse(a) as Record<string, unknown>, y = JSON.parse(b) as Record<string, unknown>;
  return Object.keys(y).filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k])).map((k) => `${k} ${JSON.stringify(x[k])} → ${JSON.stringify(y[k])}`).join(', ');
}
