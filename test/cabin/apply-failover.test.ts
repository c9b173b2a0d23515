// Issue 19's end-to-end test: the local pipeline with its segment processes run by the apply
// controller (each centre a process group, status files as heartbeats); mid-run the cheapest
// centre's heartbeat stops and its processes are SIGKILLed; the controller re-plans, starts
// the segments elsewhere, the group hands the partitions over, and the chaos demo's checks
// against the batch oracle hold (docs/cabin.md §8.4).
import { describe, expect, it } from 'vitest';
import { runApplyDemo, type ApplyDemoSummary } from '../../src/control/index.ts';
import { DEFAULT_TOPOLOGY_FILE } from '../../src/runtime/index.ts';
import { infra } from '../helpers/index.ts';

const explain = (s: ApplyDemoSummary) => `${s.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('\n')}\n${s.events.join('\n')}`;

describe('iov apply --watch: a centre fails mid-run', () => {
  it('the cheapest centre fails; its segments move; nothing lost, nothing counted twice, flow = oracle', async () => {
    const s = await runApplyDemo({
      topologyFile: DEFAULT_TOPOLOGY_FILE, stateDir: infra().root, failCentre: 'cheapest', failAtS: 4,
      durationS: 12, seed: 3, vehicles: 300, windowS: 5, allowedLatenessS: 5, heartbeatTimeoutS: 3, log: () => {},
    });
    expect(s.failed, explain(s)).toBe('hw-cd-z');
    expect(s.events.some((e) => /re-planning: .*centre hw-cd-z silent/.test(e)), explain(s)).toBe(true);
    expect(s.sim!.failedBatches).toBe(0);
    expect(s.checks.map((c) => c.name)).toContain(`the failed centre's segments moved`);
    expect(s.checks.length).toBeGreaterThanOrEqual(7);
    expect(s.ok, explain(s)).toBe(true);
  }, 300_000);
});
