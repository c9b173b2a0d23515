// `iov plan` (issue 19): the running plan against the allocator's answer for the current
// inputs — a withdrawn centre moves its segments, with the reason; nothing changes when
// nothing did.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { diffPlans, formatPlanDiff } from '../../src/cabin/plan-diff.ts';
import { readPlan } from '../../src/topology/index.ts';
import type { ReplicaPlan } from '../../src/topology/index.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'iov.mjs');
const dir = mkdtempSync(join(tmpdir(), 'iov-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const iov = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, IOV_STATE_DIR: dir } });

const plan = (segments: [string, string, number, number][]): ReplicaPlan => ({
  createdAt: new Date(0).toISOString(), solver: 'exact', status: 'optimal', totalCost: segments.reduce((s, x) => s + x[3], 0),
  segments: segments.map(([segment, centre, replicas, cost]) => ({ segment, centre, replicas, cost, expectedLatencyMs: 1000 })),
});

describe('plan difference', () => {
  it('classifies every segment and says why', () => {
    const now = plan([['a', 'c1', 2, 10], ['b', 'c2', 1, 5], ['c', 'c3', 1, 4], ['gone', 'c1', 1, 1]]);
    const want = plan([['a', 'c1', 2, 10], ['b', 'c4', 1, 4], ['c', 'c3', 2, 6], ['new', 'c4', 1, 2]]);
    const d = diffPlans(now, want, new Set(['c1', 'c3', 'c4']));
    expect(d.changes.map((c) => [c.segment, c.action])).toEqual([['a', 'keep'], ['b', 'move'], ['c', 'scale'], ['new', 'add'], ['gone', 'remove']]);
    expect(d.changes[1]!.why).toBe('centre c2 is no longer offered (withdrawn, down or silent)');
    expect(d.changes[2]!.why).toContain('dearer by 2.00');
    expect(d.counts).toEqual({ add: 1, move: 1, scale: 1, remove: 1, keep: 1 });
    expect(formatPlanDiff(d)).toContain('Plan: 1 to add, 1 to move, 1 to rescale, 1 to remove, 1 unchanged. Cost 20.00 → 22.00.');
  });

  it('iov plan: nothing after iov allocate; the segments of a withdrawn centre move', () => {
    const centres = join(dir, 'centres');
    cpSync(join(root, 'infra', 'cabin', 'centres'), centres, { recursive: true });
    expect(iov('allocate', '--centres', centres).status).toBe(0);
    const same = iov('plan', '--centres', centres, '--json');
    expect(same.status, same.stderr).toBe(0);
    const d0 = JSON.parse(same.stdout) as { counts: Record<string, number> };
    expect(d0.counts.keep).toBe(3);
    // the plan's centre leaves the directory
    const used = (JSON.parse(same.stdout) as { changes: { after: { centre: string } }[] }).changes[0]!.after.centre;
    rmSync(join(centres, `${used}.yaml`));
    const moved = iov('plan', '--centres', centres);
    expect(moved.status, moved.stderr).toBe(0);
    expect(moved.stdout).toContain(`centre ${used} is no longer offered`);
    expect(moved.stdout).toMatch(/Plan: 0 to add, [1-3] to move/);
  });

  it('iov apply --emit k8s: one Deployment per segment, replicas and placement as in the plan', () => {
    const out = iov('apply', '--emit', 'k8s');
    expect(out.status, out.stderr).toBe(0);
    const plan = readPlan(join(dir, 'plan.json'));
    const docs = parseAllDocuments(out.stdout).map((d) => d.toJS() as {
      kind: string; metadata: { name: string }; spec: { replicas: number; template: { spec: { nodeSelector: Record<string, string>; containers: { args: string[] }[] } } };
    });
    expect(docs.map((d) => d.kind)).toEqual(plan.segments.map(() => 'Deployment'));
    for (const s of plan.segments) {
      const d = docs.find((x) => x.metadata.name === `iov-segment-${s.segment}`)!;
      expect(d.spec.replicas).toBe(s.replicas);
      expect(d.spec.template.spec.nodeSelector).toEqual({ 'iov.cabin/centre': s.centre });
      expect(d.spec.template.spec.containers[0]!.args).toContain(s.segment);
    }
    const bad = iov('apply', '--emit', 'swarm');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('--emit must be k8s, got "swarm"');
  });
});
