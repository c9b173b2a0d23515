// Output formats shared by the HTTP server and the CLI.
import type { Column } from './plan.ts';
import type { CloudReport } from './federator.ts';

type Rows = Record<string, unknown>[];

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function csvField(v: unknown): string {
  const s = cell(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV with a header line. */
export function toCsv(columns: Column[], rows: Rows): string {
  const names = columns.map((c) => c.name);
  const lines = [names.map(csvField).join(',')];
  for (const r of rows) lines.push(names.map((n) => csvField(r[n])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function toNdjson(rows: Rows): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

/** A plain aligned text table for terminals. */
export function toTable(columns: Column[], rows: Rows): string {
  const names = columns.map((c) => c.name);
  const data = rows.map((r) => names.map((n) => cell(r[n])));
  const width = names.map((n, i) => Math.max(n.length, ...data.map((d) => d[i]!.length)));
  const numeric = columns.map((c) => /^(U?Int|Float)/.test(c.type));
  const fmt = (vals: string[]) => vals.map((v, i) => (numeric[i] ? v.padStart(width[i]!) : v.padEnd(width[i]!))).join(' │ ');
  const out = [fmt(names), width.map((w) => '─'.repeat(w)).join('─┼─'), ...data.map(fmt)];
  return `${out.join('\n')}\n`;
}

/** `cloud-a;status=ok;ms=12;rows=40, cloud-b;status=pruned;ms=0;rows=0` (HTTP header form). */
export function cloudsHeader(clouds: CloudReport[]): string {
  return clouds.map((c) => `${c.cloud};status=${c.status};ms=${c.ms};rows=${c.rows}`).join(', ');
}
