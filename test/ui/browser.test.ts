// The map page in a real browser: Debian's chromium driven by playwright-core (WebGL2 through
// SwiftShader), over the real federator and ClickHouse servers. One browser for the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { clientBundle, createUiServer } from '../../src/ui/index.ts';
import { waitFor } from '../helpers/index.ts';
import { T0, flowFixture, type FlowFixture } from './fixtures.ts';

const CHROMIUM = '/usr/bin/chromium'; // Debian's, installed by .ci/run
const CHROMIUM_ARGS = ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'];

interface PageState {
  cells: { cell: string; packets: number }[];
  windows: { start: number }[];
  cellFrames: number;
  selected?: string;
}
// What the functions run in the page use (this file is type-checked without the DOM library).
declare const window: { __iov: { state: PageState; cellPixel(cell: string): [number, number] | undefined } };
declare const Image: new () => { src: string; width: number; height: number; decode(): Promise<void> };
interface Canvas2d {
  drawImage(img: unknown, x: number, y: number): void;
  getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
}
declare const document: {
  createElement(tag: 'canvas'): { width: number; height: number; getContext(kind: '2d'): Canvas2d | null };
  querySelector(selector: string): { textContent: string | null } | null;
};

let fx: FlowFixture;
let app: FastifyInstance;
let origin: string;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const requests: string[] = [];
let cells: string[];

beforeAll(async () => {
  fx = await flowFixture();
  cells = [...fx.cellsOf('north', 20), ...fx.cellsOf('central', 20), ...fx.cellsOf('south', 20)];
  // Equal packets in every cell (full opacity) and speeds of 60-80 km/h: every hexagon is green.
  for (let w = 0; w < 4; w++)
    await fx.writeWindow(
      T0 + 60 * w,
      cells.map((cell, i) => ({ cell, packets: 12, kmh: 60 + (i % 5) * 5 })),
    );
  app = createUiServer({ topology: fx.topology, federator: fx.federator, pollMs: 500 });
  origin = (await app.listen({ port: 0, host: '127.0.0.1' })).replace(/\/$/, '');
  // The page's bundle is built while chromium starts (the server caches it).
  [browser] = await Promise.all([chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }), clientBundle()]);
  page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.__iov.state.cellFrames > 0, null, { timeout: 60_000 });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await fx?.close();
});

/** Green pixels of the map area (left of the side panel), and whether each given point is green. */
async function greenPixels(points: [number, number][]): Promise<{ total: number; at: boolean[] }> {
  const png = (await page.screenshot({ clip: { x: 0, y: 0, width: 800, height: 800 } })).toString('base64');
  return page.evaluate(
    async ({ data, points }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${data}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, img.width, img.height).data;
      const green = (i: number) => px[i + 1]! > px[i]! + 40 && px[i + 1]! > px[i + 2]! + 40;
      let total = 0;
      for (let i = 0; i < px.length; i += 4) if (green(i)) total++;
      const at = points.map(([x, y]) => green((Math.round(y) * img.width + Math.round(x)) * 4));
      return { total, at };
    },
    { data: png, points },
  );
}

describe('map page in chromium', () => {
  it('loads with no console errors and shows the latest window', async () => {
    expect(consoleErrors).toEqual([]);
    const st = await page.evaluate(() => ({
      cells: window.__iov.state.cells.length,
      windows: window.__iov.state.windows.map((w) => w.start),
    }));
    expect(st).toEqual({ cells: cells.length, windows: [T0, T0 + 60, T0 + 120, T0 + 180] });
    expect(await page.textContent('#window-label')).toContain(`${cells.length} cells`);
  });

  it("draws the hexagons: green pixels, at the cells' centres", async () => {
    const sample = [cells[0]!, cells[7]!, cells[22]!, cells[41]!, cells[59]!];
    const points = await page.evaluate((cs) => cs.map((c) => window.__iov.cellPixel(c)!), sample);
    const { total, at } = await greenPixels(points);
    // 60 res-9 cells of ~0.1 km² at this zoom cover a few hundred pixels; the land, the sea
    // and the segment outlines have none of this green.
    expect(total).toBeGreaterThan(cells.length * 4);
    expect(at).toEqual(sample.map(() => true));
  });

  it('a click on a cell shows its history', async () => {
    const cell = cells[25]!;
    const at = await page.evaluate((c) => window.__iov.cellPixel(c), cell);
    await page.mouse.click(at![0], at![1]);
    await page.waitForFunction((c) => document.querySelector('#cell')?.textContent?.includes(c), cell, { timeout: 20_000 });
    expect(await page.textContent('#cell')).toBe(`${cell} · 4 windows · 48 packets`);
    const points = await page.getAttribute('#chart polyline.speed', 'points');
    expect(points!.trim().split(/\s+/)).toHaveLength(4);
    expect(await page.locator('#chart rect.bar').count()).toBe(4);
  });

  it("updates live: a newly closed window appears and the selected cell's count grows", async () => {
    const cell = cells[25]!;
    await fx.writeWindow(T0 + 240, [{ cell, packets: 30, kmh: 70 }]);
    await page.waitForFunction(() => window.__iov.state.windows.length === 5, null, { timeout: 20_000 });
    await waitFor(async () => (await page.textContent('#cell-packets')) === '78', { what: 'the selected cell to count 78 packets' });
    expect(await page.textContent('#cell')).toBe(`${cell} · 5 windows · 78 packets`);
    // Following the latest window: the map now shows the one new cell.
    await page.waitForFunction(() => window.__iov.state.cells.length === 1, null, { timeout: 20_000 });
  });

  it('makes no request outside its own server', () => {
    expect(requests.length).toBeGreaterThan(5);
    expect(requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'))).toEqual([]);
    expect(requests).toContain(`${origin}/app.js`);
    expect(requests).toContain(`${origin}/assets/land.json`);
  });
});
