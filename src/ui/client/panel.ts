// The pipeline panel: the same facts as `iov status` (status.ts), as small tables.
import type { PipelineStatus } from '../types.ts';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (v: number | null, d = 0): string => (v === null ? '–' : v.toFixed(d));
const time = (s: number | null): string => (s === null ? '–' : new Date(s * 1000).toISOString().slice(11, 19));

function table(head: string[], rows: string[][], numeric: Set<number> = new Set()): string {
  const cell = (tag: string, v: string, i: number) => `<${tag}${numeric.has(i) ? ' class="num"' : ''}>${v}</${tag}>`;
  return `<table><tr>${head.map((h, i) => cell('th', esc(h), i)).join('')}</tr>${rows.map((r) => `<tr>${r.map((v, i) => cell('td', v, i)).join('')}</tr>`).join('')}</table>`;
}

export function renderPipeline(el: HTMLElement, s: PipelineStatus): void {
  const parts: string[] = [];
  parts.push(s.down.length === 0 ? '<div class="good">everything is up</div>' : `<div class="bad">${s.down.map(esc).join('<br>')}</div>`);
  parts.push(
    table(
      ['segment', 'cloud', 'proc', 'msg/s', 'lag', 'watermark', 'last window'],
      s.segments.map((x) => [
        esc(x.segment),
        esc(x.cloud),
        String(x.processes),
        num(x.packetsPerS),
        num(x.lag),
        time(x.watermark),
        time(x.lastWindow),
      ]),
      new Set([2, 3, 4]),
    ),
  );
  if (s.gateways.length) {
    parts.push(
      table(
        ['gateway', 'acc/s', 'rej/s', 'crossings'],
        s.gateways.map((g) => [esc(g.target), num(g.acceptedPerS), num(g.rejectedPerS), String(g.crossings)]),
        new Set([1, 2, 3]),
      ),
    );
    const codes = s.gateways
      .map((g) =>
        Object.entries(g.rejectedByCode)
          .map(([c, v]) => `${esc(c)} ${v}`)
          .join(' · '),
      )
      .filter(Boolean);
    parts.push(`<div class="dim">rejected by code: ${codes.length ? codes.join('<br>') : 'none'}</div>`);
  }
  parts.push(
    table(
      ['cloud', 'ClickHouse', 'ms'],
      s.clouds.map((c) => [
        esc(c.cloud),
        c.status === 'ok' ? '<span class="good">ok</span>' : `<span class="bad">${esc(c.error ?? c.status)}</span>`,
        String(c.ms),
      ]),
      new Set([2]),
    ),
  );
  if (s.services.length)
    parts.push(
      table(
        ['service', 'health'],
        s.services.map((x) => [esc(x.name), x.ok ? '<span class="good">ok</span>' : `<span class="bad">${esc(x.detail)}</span>`]),
      ),
    );
  parts.push(
    `<div class="dim">watermark: the slowest partition's event time as of its last commit (– : no segment process exports metrics) · ${new Date(s.at).toISOString().slice(11, 19)}Z</div>`,
  );
  el.innerHTML = parts.join('');
  el.classList.remove('dim');
}
