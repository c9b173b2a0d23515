// The online forecaster on a real ClickHouse: simulated windows in, one issue per closed
// bucket out (exactly once, across restarts), read back through the federator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latLngToCell } from 'h3-js';
import { createFederator } from '../../src/federation/index.ts';
import { createModel, createOnlineForecaster } from '../../src/forecast/index.ts';
import { simulateWeeks, trafficFlowRows, SHANGHAI_UTC_OFFSET_S } from '../../src/sim/index.ts';
import type { Store } from '../../src/store/index.ts';
import { parseTopology } from '../../src/topology/index.ts';
import { randomName, testStore } from '../helpers/index.ts';

// One segment of one res-6 cell in the middle of Shanghai (rings, radials and streets cross it).
const topology = parseTopology(JSON.stringify({
  name: 'forecast-test', h3: { resolution: 9, segmentResolution: 6 },
  clouds: [{ id: 'cloud-ingest', roles: ['ingest'] }, { id: 'cloud-a', roles: ['processing', 'storage'] }],
  segments: [{ id: 'mid', cloud: 'cloud-a', cells: [latLngToCell(31.27, 121.47, 6)] }],
}), 'inline.json');

describe('online forecaster → traffic_forecast → federator', () => {
  let store: Store;
  const weeks = simulateWeeks({ topology, seed: 3, days: 2, startS: 1_795_000_000 - (1_795_000_000 % 86400) - SHANGHAI_UTC_OFFSET_S });
  const cells = weeks.panel.cells.length;
  const steps = weeks.panel.steps;

  beforeAll(async () => {
    store = testStore('cloud-a', randomName('fc'));
    await store.migrate();
    // All but the last hour; the last hour arrives during the test.
    await store.insert('traffic_flow', trafficFlowRows(weeks, 'mid', 0, steps - 12));
  });
  afterAll(async () => {
    await store.command(`DROP DATABASE IF EXISTS ${store.database}`);
    await store.close();
  });

  const forecaster = () => createOnlineForecaster({ store, segment: 'mid', model: createModel('spatial'), utcOffsetS: SHANGHAI_UTC_OFFSET_S, settleS: 0 }); // 14 days of history asked, 2 there

  it('issues once per closed bucket, also across a restart', async () => {
    const first = forecaster();
    const issuedAt = weeks.panel.startS + (steps - 12) * 300;
    expect(await first.tick()).toEqual({ issuedAt, rows: cells * 3, refitted: true });
    expect(await first.tick()).toEqual({ skipped: 'already-issued', issuedAt });
    // A new process (after a crash or a deploy) finds the issue and writes nothing.
    expect(await forecaster().tick()).toEqual({ skipped: 'already-issued', issuedAt });
    // The next window closes: one more issue, without refitting.
    await store.insert('traffic_flow', trafficFlowRows(weeks, 'mid', steps - 12, steps - 11));
    expect(await first.tick()).toEqual({ issuedAt: issuedAt + 300, rows: cells * 3, refitted: false });
    const [row] = await store.query<{ n: string; issues: string; bad: string }>(
      `SELECT count() AS n, uniqExact(issued_at) AS issues, countIf(speed_kmh <= 0 OR speed_kmh > 150 OR flow < 0) AS bad FROM traffic_forecast`,
    );
    expect(row).toEqual({ n: String(2 * cells * 3), issues: '2', bad: '0' });
  });

  it('is queryable through the federator like the other tables', async () => {
    const fed = createFederator({ topology, stores: [store] });
    const res = await fed.query(
      `SELECT horizon, count() AS n, min(toUnixTimestamp(target_start) - toUnixTimestamp(issued_at)) AS lead FROM traffic_forecast WHERE segment = 'mid' GROUP BY horizon ORDER BY horizon`,
    );
    // target_start is the forecast bucket: (h − 1) steps after issued_at.
    expect(res.rows.map((r) => [r.horizon, Number(r.n), Number(r.lead)])).toEqual([[15, 2 * cells, 600], [30, 2 * cells, 1500], [60, 2 * cells, 3300]]);
    expect(res.clouds.map((c) => c.status)).toEqual(['ok']);
  });

  it('waits for data before issuing anything', async () => {
    const empty = testStore('cloud-a', randomName('fc'));
    await empty.migrate();
    try {
      const f = createOnlineForecaster({ store: empty, segment: 'mid', model: createModel('persistence'), utcOffsetS: 0 });
      expect(await f.tick()).toEqual({ skipped: 'no-data' });
    } finally {
      await empty.command(`DROP DATABASE IF EXISTS ${empty.database}`);
      await empty.close();
    }
  });
});
