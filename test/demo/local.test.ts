// The demo's pipeline on the real local servers (`--local`): Kafka wire protocol, Redis,
// one ClickHouse 18.16 per cloud — the test run's shared servers. Each run has its own
// namespace (topics, consumer groups, Redis keys, databases), so a second run on the same
// servers passes too (issue 17: the second run used to fail 5 of 6 checks).
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/embedded/index.ts';
import { infra } from '../helpers/index.ts';

describe('the pipeline on local servers (demo --local)', () => {
  it('passes every end-of-run check twice on the same servers: nothing lost, nothing counted twice, flow = oracle', async () => {
    for (const seed of [7, 8]) {
      // (12 ticks: a minute of event time, the same packets whatever the box's load)
      const s = await runPipeline({ mode: 'local', stateDir: infra().root, ticks: 12, vehicles: 400, seed });
      const failed = s.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
      expect(failed, `run with seed ${seed}`).toEqual([]);
      expect(s.ok).toBe(true);
      expect(s.mode).toBe('local');
      // Real traffic, not a trivial run: 400 vehicles × 12 ticks, crossings among them.
      expect(s.gateway.accepted).toBeGreaterThan(4_000);
      expect(s.gateway.crossings).toBeGreaterThan(0);
      expect(s.checks.length).toBeGreaterThanOrEqual(5);
    }
  }, 300_000);
});
