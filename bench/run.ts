// The bench runner (pino benchmarks/utils/runbench.js habit): runs each bench/<name>.ts in a
// fresh process, one after another (the box has 2 cores: never two benches at once), takes
// the JSON object each prints last on stdout, adds machine info and the runner's own timing,
// writes bench/results/<date>-<bench>.json and a Markdown table bench/results/<date>-summary.md.
//   npm run bench              every bench
//   iov bench gateway e2e      chosen ones
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));
export const RESULTS_DIR = join(BENCH_DIR, 'results');
/** Files in bench/ that are not benches. */
const NOT_BENCHES = new Set(['run']);
/** Preferred order: components first; a bench not listed here runs after them; end to end always last. */
const ORDER = ['gateway', 'mqtt', 'segment', 'scaleout', 'federation', 'cabin', 'cabin-paper', 'forecast', 'group-join', 'chaos-sweep'];
const LAST = 'e2e';
/** Sort key of a bench name: its place in ORDER, then unlisted ones, then the end-to-end bench. */
const rank = (n: string): number => (n === LAST ? ORDER.length + 1 : ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);

export interface BenchOutcome {
  bench: string;
  ok: boolean;
  exitCode: number | null;
  wallS: number;
  /** The bench's JSON (with `runner` added), or undefined when it printed none. */
  result: Record<string, unknown> | undefined;
  error?: string;
  file?: string;
  /** From an earlier invocation the same day (read back from its result file). */
  earlier?: boolean;
}

/** The cabin bench runs 3 seeds of 10 s for ours and 3 for plain HiGHS on 39 GAP instances:
 *  ~40 min, up to an hour on a loaded machine. */
export const DEFAULT_TIMEOUT_S = 5400;

export interface RunOptions {
  /** Per-bench timeout, seconds (default DEFAULT_TIMEOUT_S). */
  timeoutS?: number;
  /** Where results go (default bench/results). */
  resultsDir?: string;
  /** Stream each bench's stderr here (default process.stderr). */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export function listBenches(dir = BENCH_DIR): string[] {
  const names = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).filter((n) => !NOT_BENCHES.has(n));
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length, model: cpus[0]?.model, memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10, node: process.version,
    platform: `${os.platform()} ${os.release()}`, arch: os.arch(), loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** user + system CPU seconds (all threads) a process has used so far, from /proc; NaN if it is gone. */
export function procCpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** The last JSON object on stdout: the last line, or a pretty-printed object ending the output. */
export function lastJson(stdout: string): Record<string, unknown> | undefined {
  const text = stdout.trimEnd();
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i]!.startsWith('{')) continue;
    try {
      const v = JSON.parse(lines.slice(i).join('\n')) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // not the start of the final object; keep looking upwards
    }
  }
  return undefined;
}

function runOne(name: string, o: RunOptions): Promise<{ code: number | null; stdout: string; wallS: number; timedOut: boolean }> {
  const file = join(BENCH_DIR, `${name}.ts`);
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: join(BENCH_DIR, '..'), stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env, detached: false });
    let stdout = '';
    let timedOut = false;
    const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
    let errBuf = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      errBuf += d.toString();
      const parts = errBuf.split('\n');
      errBuf = parts.pop()!;
      for (const l of parts) log(`[${name}] ${l}`);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, (o.timeoutS ?? DEFAULT_TIMEOUT_S) * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (errBuf) log(`[${name}] ${errBuf}`);
      resolve({ code, stdout, wallS: (Date.now() - t0) / 1000, timedOut });
    });
  });
}

export async function runBenches(names: string[] = [], o: RunOptions = {}): Promise<{ outcomes: BenchOutcome[]; summaryFile: string }> {
  const all = listBenches();
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length) throw Object.assign(new Error(`unknown bench ${unknown.join(', ')} (have: ${all.join(', ')})`), { code: 'BAD_OPTION' });
  const chosen = names.length ? names : all;
  const dir = o.resultsDir ?? RESULTS_DIR;
  mkdirSync(dir, { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  const outcomes: BenchOutcome[] = [];
  for (const bench of chosen) {
    const startedAt = new Date().toISOString();
    const r = await runOne(bench, o);
    const json = lastJson(r.stdout);
    const outcome: BenchOutcome = { bench, ok: r.code === 0 && json !== undefined, exitCode: r.code, wallS: Math.round(r.wallS * 10) / 10, result: undefined };
    if (r.timedOut) outcome.error = `timed out after ${o.timeoutS ?? DEFAULT_TIMEOUT_S} s`;
    else if (r.code !== 0) outcome.error = `exit code ${r.code}`;
    else if (!json) outcome.error = 'printed no JSON object on stdout';
    if (json) {
      outcome.result = { ...json, runner: { machine: machineInfo(), startedAt, wallS: outcome.wallS, exitCode: r.code } };
      outcome.file = join(dir, `${date}-${bench}.json`);
      writeFileSync(outcome.file, `${JSON.stringify(outcome.result, null, 2)}\n`);
    }
    outcomes.push(outcome);
  }
  const summaryFile = writeSummary(outcomes, dir, date);
  return { outcomes, summaryFile };
}

/**
 * Write `<date>-summary.md` over every bench with a result file of that date, not only this
 * invocation's, so `iov bench e2e` after `iov bench` keeps the others' rows.
 */
export function writeSummary(outcomes: BenchOutcome[], dir = RESULTS_DIR, date = new Date().toISOString().slice(0, 10)): string {
  const rows = [...outcomes];
  for (const f of readdirSync(dir).filter((x) => x.startsWith(`${date}-`) && x.endsWith('.json')).sort()) {
    const bench = f.slice(date.length + 1, -'.json'.length);
    if (rows.some((o) => o.bench === bench)) continue;
    try {
      const result = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>;
      const wall = (result.runner as { wallS?: number } | undefined)?.wallS ?? NaN;
      rows.push({ bench, ok: true, exitCode: 0, wallS: wall, result, file: join(dir, f), earlier: true });
    } catch {
      // not a result file
    }
  }
  rows.sort((a, b) => rank(a.bench) - rank(b.bench) || a.bench.localeCompare(b.bench));
  const summaryFile = join(dir, `${date}-summary.md`);
  writeFileSync(summaryFile, summaryMarkdown(rows, date));
  return summaryFile;
}

/** Flatten an object's leaves into `a.b.c = v` pairs (numbers, strings, booleans). */
function leaves(v: unknown, prefix = '', out: [string, unknown][] = []): [string, unknown][] {
  if (v === undefined) return out;
  if (v === null || typeof v !== 'object') {
    if (prefix) out.push([prefix, v]);
    return out;
  }
  // Arrays of results (one per query or instance) are keyed by their name when they have one.
  const entries = Array.isArray(v)
    ? v.map((x, i) => [String((x as { name?: unknown; instance?: unknown; size?: unknown })?.name ?? (x as { instance?: unknown })?.instance ?? (x as { size?: unknown })?.size ?? i), x] as const)
    : Object.entries(v);
  for (const [k, x] of entries) leaves(x, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

const fmt = (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : String(Math.round(v * 1000) / 1000)) : String(v));

/** One row per bench: status, wall time, its ratios against the baseline, and its target. */
export function summaryMarkdown(outcomes: BenchOutcome[], date: string): string {
  const m = machineInfo();
  const lines = [
    `# Benchmarks ${date}`,
    '',
    `Machine: ${m.cpus} × ${m.model}, ${m.memGiB} GiB, Node ${m.node}, ${m.platform}. Each bench ran alone in a fresh process.`,
    '',
    '| bench | status | wall s | ratio vs baseline (same run) | target |',
    '| --- | --- | ---: | --- | --- |',
  ];
  for (const o of outcomes) {
    const r = o.result ?? {};
    // Benches shape their JSON freely: take every leaf whose path names a ratio or a target.
    const all = leaves(r).filter(([k]) => k !== 'runner' && !k.startsWith('runner.'));
    const isRatio = (k: string) => k.split('.').some((seg) => /^ratio|ratio$|Ratio|speedup/i.test(seg) && !/ration/i.test(seg));
    const isTarget = (k: string) => k.split('.').some((seg) => /^target|^met$/i.test(seg));
    const show = (k: string) => k.replace(/^(ratio|target)\./, '');
    const ratio = all.filter(([k]) => isRatio(k) && !isTarget(k)).slice(0, 8).map(([k, v]) => `${show(k)} ${fmt(v)}`).join('<br>') || '—';
    const target = all.filter(([k]) => isTarget(k)).slice(0, 8).map(([k, v]) => `${show(k)} ${fmt(v)}`).join('<br>') || '—';
    const base = o.ok ? (all.some(([k, v]) => /(^|\.)met$/.test(k) && v === false) ? 'ok (target missed)' : 'ok') : `FAILED: ${o.error}`;
    const status = o.earlier ? `${base} (earlier run)` : base;
    lines.push(`| ${o.bench} | ${status} | ${Number.isFinite(o.wallS) ? o.wallS : '—'} | ${ratio} | ${target} |`);
  }
  lines.push('', 'Full results: the JSON file of each bench in this folder (same date).', '');
  return lines.join('\n');
}

// Run directly: `npx tsx bench/run.ts [name...]`.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runBenches(process.argv.slice(2))
    .then(({ outcomes, summaryFile }) => {
      process.stdout.write(`${summaryFile}\n`);
      if (outcomes.some((o) => !o.ok)) process.exitCode = 1;
    })
    .catch((err) => {
      process.stderr.write(`bench/run: ${(err as Error).message}\n`);
      process.exitCode = 1;
    });
}
export const hasBench = (name: string): boolean => existsSync(join(BENCH_DIR, `${name}.ts`));
