// Step pacing (docs/segment.md, "Step cadence"): a partition's steps start at least
// stepIntervalMs apart, batches fetched meanwhile are coalesced into the next step, and
// nothing changes in what is stored. In-memory bus (each produce call is one batch), the
// real ClickHouse.
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/bus/index.ts';
import { segmentSuite, simulateFleet, storedPackets } from './fixture.ts';

const WINDOW_S = 10;

describe('segment processor: step pacing', () => {
  const suite = segmentSuite(createMemoryBus(), 'cloud-a', WINDOW_S);
  const { bus, store } = suite;

  it('coalesces a trickle of small batches into steps at least stepIntervalMs apart, storing every packet once', async () => {
    const { seg, groupId } = await suite.segment('pace', 1);
    await store.migrate();
    const intervalMs = 400;
    const p = suite.processor({ segmentId: seg, groupId, stepIntervalMs: intervalMs });
    const records = simulateFleet({ segments: [seg], vehicles: 10, steps: 12, windowS: WINDOW_S, seed: 3 }).records;
    const started = performance.now();
    void p.start();
    // ~40 small produce calls, 30 ms apart: unpaced, about one step each.
    const chunk = Math.ceil(records.length / 40);
    for (let i = 0; i < records.length; i += chunk) {
      await bus.produce(records.slice(i, i + chunk));
      await new Promise((r) => setTimeout(r, 30));
    }
    await p.drain({ timeoutMs: 30_000 });
    const elapsedMs = performance.now() - started;
    const stats = p.stats();
    await p.stop();
    const stored = await storedPackets(store, seg);
    expect(stored).toBe(stats.owned);
    expect(stats.rowsWritten.packets).toBe(stored);
    expect(stats.messages).toBe(records.length);
    expect(stats.duplicates).toBe(0);
    // Step starts are ≥ intervalMs apart, so over the whole run there is room for at most
    // elapsed / interval + 1 of them (a loaded box stretches elapsed: the bound only loosens).
    expect(stats.batches).toBeGreaterThan(0);
    expect(stats.batches).toBeLessThanOrEqual(Math.floor(elapsedMs / intervalMs) + 1);
    expect(stats.batches).toBeLessThan(40);
  });
});
