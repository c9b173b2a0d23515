// The demo's pipeline on the real local servers (`--local`): Kafka wire protocol, Redis,
// one ClickHouse 18.16 per cloud. It runs against a PRIVATE set of servers, because it uses
// the real segment topics and consumer groups, which other tests also produce to.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/embedded/index.ts';
import { infraDown, infraUp } from '../../src/infra/index.ts';
import { loadTopology } from '../../src/topology/index.ts';

describe('the pipeline on local servers (demo --local)', () => {
  const root = mkdtempSync(join(tmpdir(), 'iov-local-demo-'));
  beforeAll(async () => {
    await infraUp(loadTopology(new URL('../../infra/topology/shanghai.yaml', import.meta.url).pathname), { root });
  }, 120_000);
  afterAll(async () => {
    await infraDown(root);
    rmSync(root, { recursive: true, force: true });
  });

  it('passes every end-of-run check: nothing lost, nothing counted twice, flow = oracle', async () => {
    const s = await runPipeline({ mode: 'local', stateDir: root, durationS: 6, vehicles: 500, seed: 7 });
    const failed = s.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    expect(failed).toEqual([]);
    expect(s.ok).toBe(true);
    expect(s.mode).toBe('local');
    expect(s.gateway.accepted).toBeGreaterThan(1_000);
    expect(s.gateway.crossings).toBeGreaterThan(0);
    expect(s.checks.length).toBeGreaterThanOrEqual(5);
  }, 180_000);
});
