// Multi-process scenarios on the real servers: segment and gateway processes as separate OS
// processes, killed at seeded random moments while the simulator retries, each run checked
// against the batch oracle (src/chaos, docs/scaleout.md). The long seed sweep is
// `iov bench chaos-sweep`; here three fixed seeds keep the suite short.
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

  // A fixed handful of seeds, each a different mix of events; seeds 1–20 of the full mix are
  // the sweep's (bench/chaos-sweep.ts).
  const cases = [
    { seed: 11, what: 'a segment process and a gateway SIGKILLed and restarted', processes: 2, events: { segmentKills: 1, gatewayKills: 1, pauses: 0 } },
    { seed: 21, what: 'a segment process paused past the session timeout (fenced, restarted) and another SIGKILLed', processes: 2, events: { segmentKills: 1, gatewayKills: 0, pauses: 1 } },
    { seed: 22, what: 'three segment processes: two SIGKILLs, a gateway SIGKILL and a pause', processes: 3, events: { segmentKills: 2, gatewayKills: 1, pauses: 1 } },
  ];
  for (const c of cases) {
    it(`seed ${c.seed}: ${c.what}; nothing lost, nothing counted twice, stored flow = batch oracle`, async () => {
      const s = await runChaosDemo({
        topologyFile: DEFAULT_TOPOLOGY_FILE, stateDir: infra().root, processes: c.processes, gateways: 2, chaos: true, seed: c.seed,
        durationS: 15, vehicles: 400, windowS: 5, allowedLatenessS: 5, events: c.events, log: () => {},
      });
      const fired = (sig: string) => s.events.filter((e) => new RegExp(` ${sig} `).test(e)).length;
      // Every planned event hit a live process (none found only restarting ones).
      expect(s.events.filter((e) => / skip /.test(e)), explain(s)).toEqual([]);
      expect(fired('SIGKILL')).toBe(c.events.segmentKills + c.events.gatewayKills);
      expect(fired('SIGSTOP')).toBe(c.events.pauses);
      // Each kill is one restart; a pause past the session timeout ends fenced, one more.
      expect(Object.values(s.restarts).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(fired('SIGKILL'));
      expect(s.sim!.failedBatches).toBe(0);
      expect(s.checks.find((x) => x.name.startsWith('oracle: federated traffic_flow = batch traffic flow'))?.ok, explain(s)).toBe(true);
      expect(s.ok, explain(s)).toBe(true);
    }, 300_000);
  }
});
