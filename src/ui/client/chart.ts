// A cell's history as a small SVG chart: packets per window as bars (right axis), mean speed
// as a line (left axis, km/h); the window shown on the map is marked.
import type { CellPoint } from '../types.ts';

const W = 372,
  H = 160,
  L = 34,
  R = 40,
  T = 8,
  B = 22;

export function renderHistory(el: HTMLElement, points: CellPoint[], current: number | undefined): void {
  if (points.length === 0) {
    el.innerHTML = '<div class="dim">no closed window for this cell</div>';
    return;
  }
  const t0 = points[0]!.start,
    t1 = points[points.length - 1]!.start;
  const span = Math.max(1, t1 - t0);
  const step = points.length > 1 ? span / (points.length - 1) : 1;
  const barW = Math.max(1, Math.min(14, ((W - L - R) / Math.max(2, span / step + 1)) * 0.7));
  // Bars stay inside the plot: the first and last centres are half a bar in from its edges.
  const x = (t: number) => (points.length > 1 ? L + barW / 2 + ((t - t0) / span) * (W - L - R - barW) : (L + W - R) / 2);
  const maxP = Math.max(1, ...points.map((p) => p.packets));
  const maxV = Math.max(10, ...points.map((p) => p.meanKmh ?? 0));
  const yP = (v: number) => H - B - (v / maxP) * (H - T - B);
  const yV = (v: number) => H - B - (v / maxV) * (H - T - B);
  const bars = points
    .map(
      (p) =>
        `<rect class="bar" x="${(x(p.start) - barW / 2).toFixed(1)}" y="${yP(p.packets).toFixed(1)}" width="${barW.toFixed(1)}" height="${(H - B - yP(p.packets)).toFixed(1)}" fill="#388bfd66"><title>${p.packets} packets</title></rect>`,
    )
    .join('');
  const speed = points
    .filter((p) => p.meanKmh !== null)
    .map((p) => `${x(p.start).toFixed(1)},${yV(p.meanKmh!).toFixed(1)}`)
    .join(' ');
  const mark =
    current !== undefined && current >= t0 && current <= t1
      ? `<line x1="${x(current)}" x2="${x(current)}" y1="${T}" y2="${H - B}" stroke="#8b949e" stroke-dasharray="3 3"/>`
      : '';
  const time = (s: number) => new Date(s * 1000).toISOString().slice(11, 16);
  el.innerHTML = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="cell history">
  ${bars}${mark}
  <polyline class="speed" points="${speed}" fill="none" stroke="#f0b72f" stroke-width="2"/>
  <text x="2" y="${T + 10}" fill="#f0b72f" font-size="10">${maxV.toFixed(0)} km/h</text>
  <text x="2" y="${H - B}" fill="#f0b72f" font-size="10">0</text>
  <text x="${W - R + 4}" y="${T + 10}" fill="#58a6ff" font-size="10">${maxP}</text>
  <text x="${W - R + 4}" y="${T + 22}" fill="#58a6ff" font-size="10">pkts</text>
  <text x="${L}" y="${H - 6}" fill="#8b949e" font-size="10">${time(t0)}</text>
  <text x="${W - R}" y="${H - 6}" fill="#8b949e" font-size="10" text-anchor="end">${time(t1)}</text>
</svg>`;
}
