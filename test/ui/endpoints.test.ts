// The map's JSON endpoints against the federator's own answers and the rows written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createUiServer, type CellFlow, type CellPoint, type WindowInfo } from '../../src/ui/index.ts';
import { T0, flowFixture, type FlowFixture } from './fixtures.ts';

let fx: FlowFixture;
let app: FastifyInstance;
let north: string[], central: string[], south: string[];

beforeAll(async () => {
  fx = await flowFixture();
  app = createUiServer({ topology: fx.topology, federator: fx.federator });
  [north, central, south] = [fx.cellsOf('north', 3), fx.cellsOf('central', 3), fx.cellsOf('south', 2)];
  await fx.writeWindow(
    T0,
    [...north, ...central, ...south].map((cell, i) => ({ cell, packets: 10 + i, kmh: 20 + 5 * i })),
  );
  await fx.writeWindow(T0 + 60, [
    { cell: north[0]!, packets: 7, kmh: 50 },
    { cell: central[1]!, packets: 4, kmh: 10 },
  ]);
});
afterAll(async () => {
  await app?.close();
  await fx?.close();
});

const get = async <T>(url: string): Promise<{ status: number; body: T }> => {
  const res = await app.inject({ method: 'GET', url });
  return { status: res.statusCode, body: res.json() as T };
};

describe('map endpoints', () => {
  it('/api/windows lists the closed windows oldest first with their packets', async () => {
    const { status, body } = await get<{ windows: WindowInfo[] }>('/api/windows');
    expect(status).toBe(200);
    const fed = await fx.federator.query(
      'SELECT toUnixTimestamp(window_start) AS s, sum(packets) AS p FROM traffic_flow GROUP BY s ORDER BY s',
    );
    expect(body.windows).toEqual(fed.rows.map((r) => ({ start: Number(r.s), windowS: 60, packets: Number(r.p) })));
    expect(body.windows.map((w) => w.start)).toEqual([T0, T0 + 60]);
    expect(body.windows[1]!.packets).toBe(11);
  });

  it('/api/cells answers hex cells with the merged packets and the mean speed of every cloud', async () => {
    const { status, body } = await get<{ window: number; cells: CellFlow[] }>(`/api/cells?window=${T0}`);
    expect(status).toBe(200);
    expect(body.window).toBe(T0);
    const all = [...north, ...central, ...south];
    expect(body.cells.map((c) => c.cell).sort()).toEqual([...all].sort());
    for (const [i, cell] of all.entries()) {
      const c = body.cells.find((x) => x.cell === cell)!;
      expect(c.packets).toBe(10 + i);
      expect(c.meanKmh).toBeCloseTo(20 + 5 * i, 9);
    }
    // The same window asked of the federator directly, cell by cell.
    const fed = await fx.federator.query(
      `SELECT cell, sum(packets) AS p, sum(vehicles) AS v FROM traffic_flow WHERE window_start = toDateTime(${T0}) GROUP BY cell`,
    );
    expect(fed.rows.length).toBe(body.cells.length);
    for (const r of fed.rows) {
      const hex = BigInt(String(r.cell)).toString(16);
      expect(body.cells.find((c) => c.cell === hex)).toMatchObject({ packets: Number(r.p), vehicles: Number(r.v) });
    }
    expect(body.cells.find((c) => c.cell === south[0])!.segment).toBe('south');
  });

  it('/api/cells/<hex>/history gives one point per window', async () => {
    const { status, body } = await get<{ cell: string; history: CellPoint[] }>(`/api/cells/${north[0]}/history`);
    expect(status).toBe(200);
    expect(body.history.map((p) => [p.start, p.packets])).toEqual([
      [T0, 10],
      [T0 + 60, 7],
    ]);
    expect(body.history[1]!.meanKmh).toBeCloseTo(50, 9);
    const quiet = await get<{ history: CellPoint[] }>(`/api/cells/${fx.cellsOf('north', 5)[4]}/history`);
    expect(quiet.body.history).toEqual([]);
  });

  it('/api/topology gives every segment with its cloud and outline', async () => {
    const { body } = await get<{ segments: { id: string; cloud: string; polygons: number[][][][] }[]; resolution: number }>(
      '/api/topology',
    );
    expect(body.segments.map((s) => [s.id, s.cloud])).toEqual([
      ['north', 'cloud-a'],
      ['central', 'cloud-b'],
      ['south', 'cloud-c'],
    ]);
    expect(body.resolution).toBe(9);
    for (const s of body.segments) expect(s.polygons[0]![0]!.length).toBeGreaterThan(6);
  });

  it('bad cells and windows answer their codes; unknown paths UI_NOT_FOUND', async () => {
    const cell = await get<{ error: { code: string; message: string } }>('/api/cells/zz12/history');
    expect(cell).toEqual({
      status: 400,
      body: { error: { code: 'UI_BAD_CELL', message: 'cell must be an H3 index in hex (15-16 hex digits), got "zz12"' } },
    });
    const win = await get<{ error: { code: string; message: string } }>('/api/cells?window=yesterday');
    expect(win).toEqual({
      status: 400,
      body: { error: { code: 'UI_BAD_WINDOW', message: 'window must be a window start in unix seconds, got "yesterday"' } },
    });
    const none = await get<{ error: { code: string } }>('/nope');
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('UI_NOT_FOUND');
  });

  it('serves the page, its script and the land outline from itself', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const srcs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(srcs).toEqual(['data:,', '/app.js']);
    const land = await get<{ features: { geometry: { coordinates: number[][][][] } }[] }>('/assets/land.json');
    expect(land.body.features[0]!.geometry.coordinates.length).toBeGreaterThan(0);
  });
});
