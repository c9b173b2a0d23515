// `iov apply` as a user runs it (docs/cabin.md §8.2): bad options refused before anything
// starts; on the real servers a one-shot apply starts a process group per centre that
// outlives the command, a dearer centre makes the next apply move every segment with a
// consumer-group hand-over (new members own partitions and caught up before the old ones
// are stopped), and --destroy stops them all.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runTopology } from '../../src/chaos/index.ts';
import { createCentreGroups, readApplied, type MemberRecord } from '../../src/control/index.ts';
import { DEFAULT_TOPOLOGY_FILE, loadTopology } from '../../src/topology/index.ts';
import { infra, randomName } from '../helpers/index.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'iov.mjs');
const dir = mkdtempSync(join(tmpdir(), 'iov-apply-cli-'));
afterAll(async () => {
  // A failed assertion leaves members running: stop what the applied state records.
  const left = readApplied(join(dir, 'groups', 'applied.json'));
  const g = createCentreGroups({ dir, memberArgs: [] });
  await Promise.all((left?.members ?? []).map((m) => g.stop(m, 5_000)));
  rmSync(dir, { recursive: true, force: true });
});
const iov = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [bin, ...args], {
  cwd: root, encoding: 'utf8', timeout: 240_000, env: { ...process.env, IOV_STATE_DIR: infra().root, IOV_LOG_LEVEL: 'warn', ...env },
});
// The controller's own test of life: the pid runs (not a zombie left for init) and is that member.
const alive = (m: MemberRecord) => createCentreGroups({ dir, memberArgs: [] }).alive(m);

describe('iov apply', () => {
  it('refuses bad options with their names, before starting anything', () => {
    const cases: [string[], NodeJS.ProcessEnv, string][] = [
      [['--threads', 'two'], {}, '--threads must be an integer from 0 to 64, got two'],
      [['--watch', '--plan', 'p.json'], {}, '--plan and --watch cannot be used together'],
      [['--heartbeat-timeout', '-1'], {}, '--heartbeat-timeout must be a number ≥ 0, got -1'],
      [[], { IOV_HEARTBEAT_TIMEOUT_S: 'soon' }, 'IOV_HEARTBEAT_TIMEOUT_S must be a number ≥ 0, got soon'],
    ];
    for (const [args, env, message] of cases) {
      const r = iov(['apply', '--groups-dir', join(dir, 'never'), ...args], env);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain(`[BAD_OPTION] ${message}`);
    }
  });

  it('starts a group per centre, moves every segment with a hand-over when its centre gets dearer, and --destroy stops them', () => {
    const suffix = randomName('ap').slice(3);
    const topologyFile = runTopology(DEFAULT_TOPOLOGY_FILE, loadTopology(DEFAULT_TOPOLOGY_FILE), infra(), `applycli_${suffix}`, dir, suffix);
    const segments = loadTopology(topologyFile).segments.map((s) => s.id);
    const demand = join(dir, 'demand.yaml');
    writeFileSync(demand, stringify({ windowS: 60, deadlineS: 15, rentalHours: 24, defaults: { packetsPerS: 50, packetBytes: 350 } }));
    const centres = join(dir, 'centres');
    cpSync(join(root, 'infra', 'cabin', 'centres'), centres, { recursive: true });
    const groups = join(dir, 'groups');
    const args = ['apply', '--topology', topologyFile, '--demand', demand, '--centres', centres, '--groups-dir', groups, '--threads', '0', '--window', '5', '--lateness', '5'];

    const first = iov(args);
    expect(first.status, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain('Plan: 3 to add, 0 to move, 0 to rescale, 0 to remove, 0 unchanged.');
    expect(first.stdout).toContain('Apply complete! 3 added, 0 moved, 0 rescaled, 0 removed, 0 unchanged; 3 process(es) started, 0 stopped.');
    const before = readApplied(join(groups, 'applied.json'))!;
    expect(before.plan!.segments.map((s) => [s.segment, s.centre])).toEqual(segments.map((s) => [s, 'hw-cd-z']));
    expect(before.members.map((m) => m.centre)).toEqual(['hw-cd-z', 'hw-cd-z', 'hw-cd-z']);
    for (const m of before.members) expect(alive(m), m.name).toBe(true); // they outlive the command

    const file = join(centres, 'hw-cd-z.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/vmPricePerHour: [\d.]+/, 'vmPricePerHour: 5'));
    const second = iov(args);
    expect(second.status, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain('Plan: 0 to add, 3 to move, 0 to rescale, 0 to remove, 0 unchanged.');
    for (const s of segments) {
      expect(second.stdout).toMatch(new RegExp(`~ ${s}: hw-wh-y owns partitions and has caught up .*; stopping the old members`));
      expect(second.stdout).toMatch(new RegExp(`- hw-cd-z/${s}-\\d+ \\(pid \\d+\\) stopped \\(settled and left its group\\): moved`));
      expect(second.stdout).toMatch(new RegExp(`= ${s}: hw-wh-y ×1 owns all 4 partitions`));
    }
    const after = readApplied(join(groups, 'applied.json'))!;
    expect(after.members.map((m) => m.centre)).toEqual(['hw-wh-y', 'hw-wh-y', 'hw-wh-y']);
    for (const m of before.members) expect(alive(m), m.name).toBe(false);
    // A member's log says it settled on SIGTERM
    expect(readFileSync(before.members[0]!.log, 'utf8')).toMatch(/^stopped: /m);

    const gone = iov([...args, '--destroy']);
    expect(gone.status, gone.stderr).toBe(0);
    expect(gone.stdout).toContain('Destroy complete! 3 process(es) stopped.');
    for (const m of after.members) expect(alive(m), m.name).toBe(false);
    expect(readApplied(join(groups, 'applied.json'))).toMatchObject({ plan: null, members: [] });
  }, 300_000);
});
