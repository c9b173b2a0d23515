// The backtest on data in the stores (--source store): windows written per segment come back as
// the same panel, and the backtest runs on it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latLngToCell } from 'h3-js';
import { storeBacktest } from '../../src/cli/commands/forecast.ts';
import { simulateWeeks, trafficFlowRows, SHANGHAI_UTC_OFFSET_S } from '../../src/sim/index.ts';
import type { Store } from '../../src/store/index.ts';
import { parseTopology } from '../../src/topology/index.ts';
import { randomName, testStore } from '../helpers/index.ts';

const topology = parseTopology(JSON.stringify({
  name: 'store-backtest', h3: { resolution: 9, segmentResolution: 6 },
  clouds: [{ id: 'cloud-ingest', roles: ['ingest'] }, { id: 'cloud-a', roles: ['processing', 'storage'] }],
  segments: [
    { id: 'west', cloud: 'cloud-a', cells: [latLngToCell(31.27, 121.47, 6)] },
    { id: 'east', cloud: 'cloud-a', cells: [latLngToCell(31.23, 121.55, 6)] },
  ],
}), 'inline.json');

describe('iov forecast --backtest --source store', () => {
  let store: Store;
  const weeks = simulateWeeks({ topology, seed: 9, days: 3 });
  beforeAll(async () => {
    store = testStore('cloud-a', randomName('fcst'));
    await store.migrate();
    for (const seg of topology.segments) await store.insert('traffic_flow', trafficFlowRows(weeks, seg.id));
  });
  afterAll(async () => {
    await store.command(`DROP DATABASE IF EXISTS ${store.database}`);
    await store.close();
  });

  it('reads every segment back and scores the models on it', async () => {
    const run = await storeBacktest({
      topology, stores: new Map([['cloud-a', store]]), utcOffsetS: SHANGHAI_UTC_OFFSET_S,
      days: 3, heldBackDays: 1, models: ['persistence', 'spatial'], originEvery: 6, sampleCells: 4, sampleEvery: 24,
    });
    const withData = new Set(weeks.panel.cells.filter((_, c) => weeks.panel.flow.subarray(c * weeks.panel.steps, (c + 1) * weeks.panel.steps).some((v) => v > 0)));
    expect(run.dataset).toMatchObject({ source: 'store', cells: withData.size, days: 3, heldBackDays: 1 });
    expect(run.result.trainSteps).toBe(2 * 288);
    // Persistence on the stored panel equals persistence on the generator's arrays, read the way
    // the store is: a window without vehicles has no row, so the last speed carries forward.
    const direct = weeks.panel;
    let abs = 0;
    let n = 0;
    for (let c = 0; c < direct.cells.length; c++) {
      if (!withData.has(direct.cells[c]!)) continue;
      const seen: number[] = [];
      let last = Number.NaN;
      for (let t = 0; t < direct.steps; t++) if (direct.flow[c * direct.steps + t]! > 0 && Number.isNaN(last)) last = direct.speed[c * direct.steps + t]!;
      for (let t = 0; t < direct.steps; t++) {
        if (direct.flow[c * direct.steps + t]! > 0) last = direct.speed[c * direct.steps + t]!;
        seen.push(last);
      }
      for (let o = 2 * 288 - 1; o + 12 < direct.steps; o += 6) {
        abs += Math.abs(seen[o + 3]! - seen[o]!);
        n++;
      }
    }
    expect(run.result.all.persistence!.speed[0]!.mae).toBeCloseTo(abs / n, 3);
    expect(run.result.all.spatial!.speed[0]!.mae).toBeLessThan(run.result.all.persistence!.speed[0]!.mae);
  });
});
