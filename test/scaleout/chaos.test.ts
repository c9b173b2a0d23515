// Multi-process scenarios on the real servers: segment and gateway processes as separate OS
// processes, killed at seeded random moments while the simulator retries, each run checked
// against the batch oracle (src/chaos, docs/scaleout.md). The long seed sweep is
// `iov bench chaos-sweep`; here a fixed seed keeps the suite short.
import { describe, expect, it } from 'vitest';
import { planChaos, runChaosDemo, type ChaosDemoSummary } from '../../src/chaos/index.ts';
import { DEFAULT_TOPOLOGY_FILE } from '../../src/topology/index.ts';
import { infra } from '../helpers/index.ts';

const explain = (s: ChaosDemoSummary) => `${s.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('\n')}\n${s.events.join('\n')}`;

describe('chaos: separate processes, seeded kills, checked against the batch oracle', () => {
  it('plans the same events for the same seed, and other events for another', () => {
    const o = { durationMs: 20_000, segmentProcesses: 2, gateways: 2, sessionTimeoutMs: 6_000 };
    expect(planChaos({ seed: 5, ...o })).toEqual(planChaos({ seed: 5, ...o }));
    expect(planChaos({ seed: 6, ...o })).not.toEqual(planChaos({ seed: 5, ...o }));
    const plan = planChaos({ seed: 5, ...o });
    expect(plan.map((e) => `${e.group} ${e.action}`).sort()).toEqual(['gateway kill', 'segment kill', 'segment kill', 'segment pause']);
    for (const e of plan) expect(e.atMs).toBeGreaterThanOrEqual(3_000);
    for (const e of plan.filter((x) => x.action === 'pause')) expect(e.forMs).toBeGreaterThan(6_000);
  });

  it('seed 11: a segment process and a gateway SIGKILLed and restarted; nothing lost, nothing counted twice', async () => {
    const s = await runChaosDemo({
      topologyFile: DEFAULT_TOPOLOGY_FILE, stateDir: infra().root, processes: 2, gateways: 2, chaos: true, seed: 11,
      durationS: 15, vehicles: 400, windowS: 5, allowedLatenessS: 5, events: { segmentKills: 1, gatewayKills: 1, pauses: 0 }, log: () => {},
    });
    expect(s.events.filter((e) => / SIGKILL /.test(e))).toHaveLength(2);
    expect(Object.values(s.restarts).reduce((a, b) => a + b, 0)).toBe(2);
    expect(s.sim!.failedBatches).toBe(0);
    expect(s.checks.length).toBeGreaterThanOrEqual(6);
    expect(s.ok, explain(s)).toBe(true);
  }, 240_000);
});
