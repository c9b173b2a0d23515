// `iov status`: the pipeline panel's facts as text for a terminal.
import type { PipelineStatus } from './types.ts';

const time = (s: number | null): string => (s === null ? '-' : new Date(s * 1000).toISOString().replace('T', ' ').replace('.000Z', 'Z'));
const n = (v: number | null, digits = 0): string => (v === null ? '-' : v.toFixed(digits));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatStatus(s: PipelineStatus): string {
  const out: string[] = [];
  out.push(
    table(
      ['segment', 'cloud', 'processes', 'msgs/s', 'lag', 'watermark', 'last window'],
      s.segments.map((x) => [
        x.segment,
        x.cloud,
        String(x.processes),
        n(x.packetsPerS, 1),
        n(x.lag),
        time(x.watermark),
        time(x.lastWindow),
      ]),
    ),
  );
  out.push('');
  if (s.gateways.length === 0) out.push('gateways: none given (--scrape <url>/metrics)');
  else {
    out.push(
      table(
        ['gateway', 'accepted', 'acc/s', 'rejected', 'rej/s', 'crossings', 'rejections by code'],
        s.gateways.map((g) => [
          g.target,
          String(g.accepted),
          n(g.acceptedPerS, 1),
          String(g.rejected),
          n(g.rejectedPerS, 1),
          String(g.crossings),
          Object.entries(g.rejectedByCode)
            .map(([c, v]) => `${c}=${v}`)
            .join(' ') || '-',
        ]),
      ),
    );
  }
  out.push('');
  out.push(
    table(
      ['cloud', 'ClickHouse', 'ms'],
      s.clouds.map((c) => [c.cloud, c.error ? `${c.status}: ${c.error}` : c.status, String(c.ms)]),
    ),
  );
  if (s.services.length) {
    out.push('');
    out.push(
      table(
        ['service', 'health'],
        s.services.map((x) => [x.name, `${x.ok ? 'ok' : 'DOWN'} ${x.detail}`.trim()]),
      ),
    );
  }
  if (s.targets.length) {
    out.push('');
    out.push(
      table(
        ['metrics target', 'kind', 'up'],
        s.targets.map((t) => [t.name, t.kind, t.up ? 'yes' : `NO: ${t.error}`]),
      ),
    );
  }
  out.push('');
  out.push(s.down.length === 0 ? 'everything is up' : `DOWN:\n${s.down.map((d) => `  ${d}`).join('\n')}`);
  return out.join('\n');
}
