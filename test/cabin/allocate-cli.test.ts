// `iov allocate` end to end (issue 17): no arguments plans the demo's topology with the one
// default demand file and gives the demo's plan; a bad GAP file is refused naming the field;
// no plan exits non-zero with the explanation; --json carries the assignment itself.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allocate, centresFromFolder, instanceFromTopology, loadDemand, planFromResult } from '../../src/cabin/index.ts';
import { loadTopology } from '../../src/topology/index.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'iov.mjs');
const dir = mkdtempSync(join(tmpdir(), 'iov-allocate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [bin, 'allocate', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, IOV_STATE_DIR: dir, ...env } });

describe('iov allocate', () => {
  it('with no arguments plans the default topology with infra/cabin/demand.shanghai.yaml: the demo\'s plan', async () => {
    const out = join(dir, 'plan.json');
    const r = run(['--json', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const cli = JSON.parse(r.stdout) as { status: string; totalCost: number; allocations: { block: string; centre: string; replicas: number }[] };
    // what the demo computes (src/embedded/pipeline.ts: the centres folder, the demand file of the topology)
    const topo = loadTopology(join(root, 'infra/topology/shanghai.yaml'));
    const inst = instanceFromTopology(topo, loadDemand(join(root, 'infra/cabin/demand.shanghai.yaml')), centresFromFolder(join(root, 'infra/cabin/centres')));
    const demo = planFromResult(inst, await allocate(inst, { solver: 'exact', timeLimitMs: 20_000 }));
    expect(cli.status).toBe('optimal');
    expect(Math.round(cli.totalCost * 100) / 100).toBe(demo.totalCost);
    expect(cli.allocations.map((a) => [a.block, a.centre, a.replicas])).toEqual(demo.segments.map((s) => [s.segment, s.centre, s.replicas]));
    const written = JSON.parse(readFileSync(out, 'utf8')) as { segments: { segment: string; replicas: number }[] };
    expect(written.segments.map((s) => s.replicas)).toEqual(demo.segments.map((s) => s.replicas));
  });

  it('--gap: a negative capacity is refused naming the field, exit non-zero', () => {
    const f = join(dir, 'neg.txt');
    writeFileSync(f, '2 2\n1 2\n3 4\n1 1\n1 1\n5 -3\n');
    const r = run(['--gap', f]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('CABIN_BAD_GAP_FILE');
    expect(r.stderr).toContain(`${f}: capacity of agent 2 must be ≥ 0, got -3`);
  });

  it('--gap: an infeasible instance exits non-zero with the explanation; --json carries the assignment', () => {
    const inf = join(dir, 'inf.txt');
    writeFileSync(inf, '2 2\n1 2\n3 4\n5 5\n5 5\n4 4\n'); // every job needs 5, every agent has 4
    const r = run(['--gap', inf, '--solver', 'exact', '--json']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('CABIN_INFEASIBLE');
    expect(r.stderr).toContain('no assignment (infeasible)');
    expect((JSON.parse(r.stdout) as { assignment: unknown }).assignment).toBeNull();
    const ok = join(dir, 'ok.txt');
    writeFileSync(ok, '2 3\n1 9 1\n9 1 9\n1 1 1\n1 1 1\n2 2\n');
    const j = JSON.parse(execFileSync(process.execPath, [bin, 'allocate', '--gap', ok, '--solver', 'fast', '--json'], { cwd: root, encoding: 'utf8' })) as { status: string; cost: number; assignment: number[] };
    expect(j.status).toBe('optimal');
    expect(j.cost).toBe(3);
    expect(j.assignment).toEqual([0, 1, 0]);
  });
});
