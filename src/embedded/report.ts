// Human-readable progress lines and the end-of-run summary of `iov demo`.
import type { PipelineSummary, Progress } from './pipeline.ts';

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

export function formatProgress(p: Progress): string {
  const lag = p.segments.map((s) => `${s.segment} ${n(s.lag)}`).join(' · ');
  const windows = p.windowsFlushed === undefined ? '' : ` | windows flushed ${n(p.windowsFlushed)}`;
  return `[${p.elapsedS.toFixed(1).padStart(5)} s ${p.phase.padEnd(6)}] in ${n(p.packetsPerS).padStart(7)} pkt/s | accepted ${n(p.accepted)} dup ${n(p.duplicates)} rejected ${n(p.rejected)} | crossings ${n(p.crossings)} | lag ${lag}${windows} | event time ${iso(p.eventTime)}`;
}

function table(columns: string[], rows: Record<string, unknown>[]): string[] {
  const cell = (v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => `    ${vals.map((v, i) => v.padEnd(widths[i]!)).join('  ')}`;
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))];
}

export function formatSummary(s: PipelineSummary): string {
  const out: string[] = [];
  out.push('', `== iov demo summary (${s.mode}) — ${s.params.vehicles} vehicles, ${s.params.ticks === undefined ? `${s.params.durationS} s` : `${s.params.ticks} ticks`}, seed ${s.params.seed}, ${s.wallS.toFixed(1)} s wall`);
  out.push('', 'Steps:');
  for (const st of s.steps) out.push(`  ${st.status === 'ok' ? 'ok  ' : st.status.toUpperCase().padEnd(4)} ${st.name}: ${st.detail}`);
  out.push('', `Event time ${iso(s.eventSpan.fromMs)} → ${iso(s.eventSpan.toMs)} UTC (${((s.eventSpan.toMs - s.eventSpan.fromMs) / 60_000).toFixed(1)} min, ${s.params.windowS}-s windows)`);
  const g = s.gateway;
  const codes = Object.entries(g.rejectedByCode).map(([c, k]) => `${c} ${k}`).join(', ');
  out.push(s.ingest.path === 'mqtt'
    ? `Ingest: over MQTT, ${n(s.ingest.messages)} messages on ${s.ingest.topic} via ${s.ingest.url}`
    : 'Ingest: in-process ingest() calls');
  out.push(`Gateway: offered ${n(g.offered)}, accepted ${n(g.accepted)}, duplicates ${n(g.duplicates)}, rejected ${n(g.rejected)}${codes ? ` (${codes})` : ''}, crossings ${n(g.crossings)}, messages produced ${n(g.produced)}`);
  if (s.oracle) out.push(`Owned packets ${n(s.oracle.owned)}: on time ${n(s.oracle.onTime)}, late ${n(s.oracle.late)} (allowed lateness ${s.params.allowedLatenessS} s)`);
  if (s.segments.length) {
    out.push('', 'Per segment:');
    out.push(...table(['segment', 'cloud', 'workers', 'owned produced', 'packets stored', 'flow rows', 'flow packets'],
      s.segments.map((x) => ({ segment: x.segment, cloud: x.cloud, workers: x.workers, 'owned produced': x.ownedProduced, 'packets stored': x.packetsStored, 'flow rows': x.flowRows, 'flow packets': x.flowPackets }))));
  }
  for (const q of s.queries) {
    out.push('', `Query: ${q.title}`, `  ${q.sql}`);
    if (q.error) out.push(`  ERROR ${q.error}`);
    else {
      out.push(...table(q.columns, q.rows.slice(0, 12)));
      out.push(`  (${q.rows.length} rows, ${q.ms} ms; clouds: ${q.clouds.map((c) => `${c.cloud} ${c.status}${c.status === 'ok' ? ` ${c.ms} ms` : ''}`).join(', ')})`);
    }
  }
  if (s.plan) {
    out.push('', `Replica plan (${s.plan.solver}, ${s.plan.status}, total cost ${s.plan.totalCost}):`);
    out.push(...table(['segment', 'centre', 'replicas', 'latency ms', 'cost'],
      s.plan.segments.map((p) => ({ segment: p.segment, centre: p.centre, replicas: p.replicas, 'latency ms': Math.round(p.expectedLatencyMs), cost: p.cost }))));
  }
  out.push('', 'Checks:');
  if (s.checks.length === 0) out.push('  FAIL no checks could run');
  for (const c of s.checks) out.push(`  ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
  if (s.faultsFired.length) out.push(`  (faults injected on purpose: ${s.faultsFired.join(', ')})`);
  out.push('', s.ok ? 'All checks passed.' : 'Some checks FAILED (exit code 1).');
  return out.join('\n');
}
