// The map's forecast toggle: /api/forecast answers each segment's latest issue, read through the
// federator from traffic_forecast on a real ClickHouse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latLngToCell } from 'h3-js';
import { createFederator, type Federator } from '../../src/federation/index.ts';
import type { Store } from '../../src/store/index.ts';
import { cellToDecimal, parseTopology } from '../../src/topology/index.ts';
import { createUiServer } from '../../src/ui/index.ts';
import { randomName, testStore } from '../helpers/index.ts';

const topology = parseTopology(JSON.stringify({
  name: 'forecast-ui-test', h3: { resolution: 9, segmentResolution: 6 },
  clouds: [{ id: 'cloud-ingest', roles: ['ingest'] }, { id: 'cloud-a', roles: ['processing', 'storage'] }],
  segments: [{ id: 'mid', cloud: 'cloud-a', cells: [latLngToCell(31.27, 121.47, 6)] }],
}), 'inline.json');
const A = latLngToCell(31.27, 121.47, 9);
const B = latLngToCell(31.28, 121.49, 9);

describe('GET /api/forecast', () => {
  let store: Store;
  let federator: Federator;
  beforeAll(async () => {
    store = testStore('cloud-a', randomName('fcui'));
    await store.migrate();
    const row = (issued: number, cell: string, horizon: number, speed: number, flow: number) =>
      ({ issued_at: issued, segment: 'mid', cell: cellToDecimal(cell), horizon, target_start: issued + (horizon / 5 - 1) * 300, speed_kmh: speed, flow, model: 'spatial' });
    await store.insert('traffic_forecast', [row(1_795_000_000, A, 30, 40, 10), row(1_795_000_300, A, 30, 42.5, 12.4), row(1_795_000_300, B, 30, 20, 3), row(1_795_000_300, A, 15, 50, 1)]);
    federator = createFederator({ topology, stores: [store] });
  });
  afterAll(async () => {
    await store.command(`DROP DATABASE IF EXISTS ${store.database}`);
    await store.close();
  });

  it('answers the latest issue at that horizon, cells as hex with speed and flow', async () => {
    const app = createUiServer({ topology, federator });
    const res = await app.inject({ method: 'GET', url: '/api/forecast?horizon=30' });
    expect(res.statusCode).toBe(200);
    const cells = [
      { cell: A, segment: 'mid', packets: 12, vehicles: 12, meanKmh: 42.5 },
      { cell: B, segment: 'mid', packets: 3, vehicles: 3, meanKmh: 20 },
    ].sort((x, y) => (BigInt(`0x${x.cell}`) < BigInt(`0x${y.cell}`) ? -1 : 1));
    expect(res.json()).toEqual({ horizon: 30, issuedAt: 1_795_000_300, cells });
    expect((await app.inject({ method: 'GET', url: '/api/forecast?horizon=60' })).json()).toEqual({ horizon: 60, issuedAt: null, cells: [] });
    await app.close();
  });

  it('refuses other horizons with UI_BAD_HORIZON', async () => {
    const app = createUiServer({ topology, federator });
    for (const h of ['45', 'x']) {
      const res = await app.inject({ method: 'GET', url: `/api/forecast?horizon=${h}` });
      expect([res.statusCode, res.json()]).toEqual([400, { error: { code: 'UI_BAD_HORIZON', message: `horizon must be 15, 30 or 60 (minutes), got "${h}"` } }]);
    }
    await app.close();
  });
});
