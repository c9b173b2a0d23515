// The map page (bundled by assets.ts). deck.gl draws, over the land outline, the H3 cells of
// one closed window (colour: mean speed; opacity: packets) and the segments' outlines with
// their cloud; the side panel holds the time slider, a clicked cell's history and the
// pipeline status. Everything is fetched from the page's own server; live updates arrive as
// server-sent events (/api/events).
import { Deck, type PickingInfo } from '@deck.gl/core';
import { H3HexagonLayer } from '@deck.gl/geo-layers';
import { GeoJsonLayer, PolygonLayer, TextLayer } from '@deck.gl/layers';
import { cellToLatLng } from 'h3-js';
import type { CellFlow, CellPoint, FlowSummary, PipelineStatus, TopologyInfo, WindowInfo } from '../types.ts';
import { renderHistory } from './chart.ts';
import { renderPipeline } from './panel.ts';
import { speedColour } from './colour.ts';

const CLOUD_COLOURS: [number, number, number][] = [
  [88, 166, 255],
  [210, 168, 255],
  [255, 166, 87],
  [121, 192, 255],
  [255, 123, 114],
];

const $ = (id: string): HTMLElement => document.getElementById(id)!;
const getJson = async <T>(url: string): Promise<T> => {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};
const fmtTime = (s: number): string => new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' ') + 'Z';

const state = {
  topology: undefined as TopologyInfo | undefined,
  land: undefined as unknown,
  windows: [] as WindowInfo[],
  index: -1,
  follow: true,
  cells: [] as CellFlow[],
  cellsWindow: -1,
  selected: undefined as string | undefined,
  history: [] as CellPoint[],
  summary: undefined as FlowSummary | undefined,
  /** 0: the selected window; 15 / 30 / 60: the latest forecast that far ahead (traffic_forecast). */
  horizon: 0,
  /** Frames drawn with the current cells (tests wait for > 0 after a change). */
  cellFrames: 0,
};

let deck: Deck | undefined;

function cloudColour(cloud: string): [number, number, number] {
  const clouds = [...new Set(state.topology!.segments.map((s) => s.cloud))];
  return CLOUD_COLOURS[clouds.indexOf(cloud) % CLOUD_COLOURS.length]!;
}

function layers() {
  const topo = state.topology!;
  const maxPackets = Math.max(1, ...state.cells.map((c) => c.packets));
  const outlines = topo.segments.flatMap((s) => s.polygons.map((polygon) => ({ segment: s.id, cloud: s.cloud, polygon })));
  const labels = topo.segments.map((s) => {
    const ring = s.polygons[0]![0]!;
    const lng = ring.reduce((a, p) => a + p[0]!, 0) / ring.length;
    const lat = ring.reduce((a, p) => a + p[1]!, 0) / ring.length;
    return { position: [lng, lat], text: `${s.id} @ ${s.cloud}`, cloud: s.cloud };
  });
  return [
    new GeoJsonLayer({
      id: 'land',
      data: state.land as never,
      filled: true,
      stroked: true,
      getFillColor: [28, 33, 40],
      getLineColor: [70, 78, 90],
      lineWidthMinPixels: 1,
    }),
    new H3HexagonLayer<CellFlow>({
      id: 'cells',
      data: state.cells,
      getHexagon: (d: CellFlow) => d.cell,
      extruded: false,
      stroked: false,
      pickable: true,
      autoHighlight: true,
      highlightColor: [255, 255, 255, 120],
      getFillColor: (d: CellFlow) =>
        [...speedColour(d.meanKmh), Math.round(70 + 185 * Math.sqrt(d.packets / maxPackets))] as [number, number, number, number],
      updateTriggers: { getFillColor: [state.cellsWindow, maxPackets] },
    }),
    new PolygonLayer({
      id: 'segments',
      data: outlines,
      getPolygon: (d: { polygon: number[][][] }) => d.polygon as never,
      filled: false,
      stroked: true,
      getLineColor: (d: { cloud: string }) => [...cloudColour(d.cloud), 220] as [number, number, number, number],
      lineWidthMinPixels: 2,
    }),
    new TextLayer({
      id: 'segment-labels',
      data: labels,
      getPosition: (d: { position: number[] }) => d.position as [number, number],
      getText: (d: { text: string }) => d.text,
      getColor: (d: { cloud: string }) => [...cloudColour(d.cloud), 255] as [number, number, number, number],
      getSize: 14,
      fontFamily: 'system-ui, sans-serif',
      outlineWidth: 2,
      outlineColor: [14, 17, 22, 255],
      fontSettings: { sdf: true },
    }),
  ];
}

function redraw(): void {
  deck?.setProps({ layers: layers() });
}

function showWindowLabel(): void {
  const w = state.windows[state.index];
  $('window-label').textContent = w
    ? `${fmtTime(w.start)} (+${w.windowS} s) · ${state.cells.length} cells · ${w.packets} packets`
    : 'no closed window yet';
}

async function loadForecast(horizon: number): Promise<void> {
  const res = await getJson<{ horizon: number; issuedAt: number | null; cells: CellFlow[] }>(`/api/forecast?horizon=${horizon}`);
  if (state.horizon !== res.horizon) return; // the toggle moved meanwhile
  state.cells = res.cells;
  state.cellsWindow = -res.horizon - (res.issuedAt ?? 0);
  state.cellFrames = 0;
  $('window-label').textContent =
    res.issuedAt === null
      ? `no forecast +${horizon} min yet`
      : `forecast +${horizon} min, issued ${fmtTime(res.issuedAt)} · ${res.cells.length} cells`;
  redraw();
}

async function loadCells(): Promise<void> {
  if (state.horizon !== 0) return loadForecast(state.horizon);
  const w = state.windows[state.index];
  if (!w) return;
  const res = await getJson<{ window: number; cells: CellFlow[] }>(`/api/cells?window=${w.start}`);
  if (state.windows[state.index]?.start !== res.window) return; // the slider moved meanwhile
  state.cells = res.cells;
  state.cellsWindow = res.window;
  state.cellFrames = 0;
  showWindowLabel();
  redraw();
}

async function loadWindows(): Promise<void> {
  const { windows } = await getJson<{ windows: WindowInfo[] }>('/api/windows');
  const current = state.windows[state.index]?.start;
  state.windows = windows;
  const slider = $('slider') as HTMLInputElement;
  slider.max = String(Math.max(0, windows.length - 1));
  state.index =
    state.follow || current === undefined
      ? windows.length - 1
      : Math.max(
          0,
          windows.findIndex((w) => w.start === current),
        );
  slider.value = String(Math.max(0, state.index));
  await loadCells();
}

async function selectCell(cell: string): Promise<void> {
  state.selected = cell;
  const { history } = await getJson<{ cell: string; history: CellPoint[] }>(`/api/cells/${cell}/history`);
  if (state.selected !== cell) return;
  state.history = history;
  const total = history.reduce((a, p) => a + p.packets, 0);
  $('cell').innerHTML = `<b>${cell}</b> · ${history.length} windows · <span id="cell-packets">${total}</span> packets`;
  renderHistory($('chart'), history, state.windows[state.index]?.start);
}

function showSummary(): void {
  const s = state.summary;
  $('summary').textContent = !s
    ? 'connecting…'
    : s.latest === null
      ? 'no closed window yet'
      : `latest window ${fmtTime(s.latest)} · ${state.windows.length} windows · ${s.packets} packets in traffic_flow`;
}

function connect(): void {
  const events = new EventSource('/api/events');
  events.addEventListener('flow', (e) => {
    const flow = JSON.parse((e as MessageEvent<string>).data) as FlowSummary | { error: string };
    if ('error' in flow) {
      $('summary').textContent = `query failed: ${flow.error}`;
      return;
    }
    state.summary = flow;
    void loadWindows().then(() => {
      showSummary();
      if (state.selected) return selectCell(state.selected);
      return undefined;
    });
  });
  events.addEventListener('status', (e) => renderPipeline($('pipeline'), JSON.parse((e as MessageEvent<string>).data) as PipelineStatus));
}

function onHover(info: PickingInfo): void {
  const tip = $('tooltip');
  const d = info.layer?.id === 'cells' ? (info.object as CellFlow | undefined) : undefined;
  if (!d) {
    tip.style.display = 'none';
    return;
  }
  tip.style.display = 'block';
  tip.style.left = `${info.x + 12}px`;
  tip.style.top = `${info.y + 12}px`;
  tip.textContent = `${d.cell} · ${d.segment} · ${d.packets} packets · ${d.vehicles} vehicles · ${d.meanKmh === null ? '–' : d.meanKmh.toFixed(1)} km/h`;
}

async function start(): Promise<void> {
  const [topology, land] = await Promise.all([getJson<TopologyInfo>('/api/topology'), getJson<unknown>('/assets/land.json')]);
  state.topology = topology;
  state.land = land;
  $('topo').textContent = `· ${topology.name}`;
  const [s, w, n, e] = topology.bounds;
  const map = $('map');
  const zoom = Math.log2(Math.min((map.clientWidth * 360) / (512 * (e - w)), (map.clientHeight * 360) / (512 * (n - s) * 1.2))) - 0.1; // deck.gl: the world is 512 px wide at zoom 0
  deck = new Deck({
    parent: map as HTMLDivElement,
    initialViewState: { longitude: (w + e) / 2, latitude: (s + n) / 2, zoom, pitch: 0, bearing: 0 },
    controller: true,
    layers: layers(),
    onHover,
    onAfterRender: () => {
      if (state.cells.length > 0) state.cellFrames++;
    },
  });
  // The browser's own click (not deck's tap gesture, which gives up when a slow frame holds
  // the press past its time limit); a press that dragged the map is not a click on a cell.
  let down: [number, number] | undefined;
  map.addEventListener('pointerdown', (ev) => {
    down = [ev.clientX, ev.clientY];
  });
  map.addEventListener('click', (ev) => {
    if (!down || Math.hypot(ev.clientX - down[0], ev.clientY - down[1]) > 4) return;
    const r = map.getBoundingClientRect();
    const picked = deck?.pickObject({ x: ev.clientX - r.left, y: ev.clientY - r.top, radius: 2, layerIds: ['cells'] });
    const d = picked?.object as CellFlow | undefined;
    if (d) void selectCell(d.cell);
  });
  const slider = $('slider') as HTMLInputElement;
  slider.addEventListener('input', () => {
    state.index = Number(slider.value);
    state.follow = state.index === state.windows.length - 1;
    ($('follow') as HTMLInputElement).checked = state.follow;
    void loadCells();
  });
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name=horizon]')) {
    radio.addEventListener('change', () => {
      state.horizon = Number(radio.value);
      void loadCells();
    });
  }
  $('follow').addEventListener('change', (ev) => {
    state.follow = (ev.target as HTMLInputElement).checked;
    if (state.follow) void loadWindows();
  });
  connect();
}

// For the browser tests and the curious: the state and where a cell is on screen.
(window as unknown as { __iov: unknown }).__iov = {
  state,
  cellPixel(cell: string): [number, number] | undefined {
    const viewport = deck?.getViewports()[0];
    if (!viewport) return undefined;
    const [lat, lng] = cellToLatLng(cell);
    const [x, y] = viewport.project([lng, lat]);
    return [x!, y!];
  },
};

start().catch((err: Error) => {
  $('summary').textContent = `failed to start: ${err.message}`;
  console.error(err);
});
