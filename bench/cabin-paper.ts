// Proof times on other generators' instances (issue 19; docs/cabin.md §6.1–6.2): the
// paper-style generator (src/cabin/lab/paper-generator.ts) and the correlated one
// (lab/correlated-generator.ts), 20 seeds per size, our exact solver beside plain HiGHS on
// the same instances, and the fast solver at 1 s against the proven optimum and the GA.
// Wall and CPU time of the process (both solvers run on the calling thread); the machine
// is shared, so the CPU column is the comparable one. Prints JSON; --write also writes
// bench/results/<date>-cabin-paper.{json,md}.
//
//   flock /work/bench.lock nice npx tsx bench/cabin-paper.ts [--seeds 20] [--sets paper:100x82,correlated:100x82] [--plain-limit 30000] [--write]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { solveAnytime, solveExact, timeMarginMs, toGap } from '../src/cabin/index.ts';
import { stopExactThread } from '../src/cabin/exact-thread.ts';
import { generateCorrelatedInstance, generatePaperInstance, solveGa } from '../src/cabin/lab/index.ts';
import type { AllocationInstance } from '../src/cabin/index.ts';

const argv = process.argv.slice(2);
const arg = (f: string, d: string): string => { const k = argv.indexOf(f); return k >= 0 && argv[k + 1] ? argv[k + 1]! : d; };
const seeds = Number(arg('--seeds', '20'));
const FAMILIES: Record<string, (o: { blocks: number; centres: number; seed: number }) => AllocationInstance> = {
  paper: generatePaperInstance, correlated: generateCorrelatedInstance,
};
const sets = arg('--sets', 'paper:20x16,paper:60x48,paper:100x82,correlated:60x48,correlated:100x82').split(',').map((x) => {
  const [family, size] = x.split(':') as [string, string];
  if (!FAMILIES[family]) throw new Error(`--sets: unknown family ${family} (have ${Object.keys(FAMILIES).join(', ')})`);
  const [n, w] = size.split('x').map(Number) as [number, number];
  return { family, n, w };
});
const plainLimit = Number(arg('--plain-limit', '30000'));
const exactLimit = Number(arg('--exact-limit', '60000'));
const fastLimit = 1000;
const log = (s: string): void => { process.stderr.write(`${s}\n`); };
const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const r2 = (x: number): number => Math.round(x * 100) / 100;
const pct = (c: number, opt: number): number => Math.round((c / opt - 1) * 1e6) / 1e4;

interface Run { wallMs: number; cpuMs: number; status: string; proof: string; cost: number | null; columns?: number; warmGapPct?: number; phaseMs?: unknown }
interface Row {
  family: string; size: string; seed: number; pairs: number;
  ours: Run; plain: Run;
  fast: { wallMs: number; limitMs: number; withinMargin: boolean; gapPct: number | null; firstPlanGapPct: number | null; firstPlanMs: number | null; phases: string[] };
  gaGapPct: number | null;
}

async function timed(f: () => Promise<{ status: string; proof: string; cost: number; columns?: number; warmStart?: { cost: number }; phaseMs?: unknown }>): Promise<Run> {
  const c0 = cpuMs(), t0 = Date.now();
  const r = await f();
  return {
    wallMs: Date.now() - t0, cpuMs: Math.round(cpuMs() - c0), status: r.status, proof: r.proof, cost: Number.isFinite(r.cost) ? r2(r.cost) : null,
    ...(r.columns !== undefined ? { columns: r.columns } : {}),
    ...(r.warmStart && r.status === 'optimal' ? { warmGapPct: pct(r.warmStart.cost, r.cost) } : {}),
    ...(r.phaseMs ? { phaseMs: r.phaseMs } : {}),
  };
}

// JIT and HiGHS's WebAssembly warmed on an instance outside the sets, so the first row does
// not pay for them
{
  const g = toGap(generatePaperInstance({ blocks: 30, centres: 20, seed: 999 })).gap;
  await solveExact(g, { timeLimitMs: 10_000 });
  await solveExact(g, { timeLimitMs: 10_000, plain: true });
  await solveAnytime(g, { timeLimitMs: 300 });
}
const rows: Row[] = [];
const startLoad = loadavg();
for (const { family, n, w } of sets) {
  for (let seed = 1; seed <= seeds; seed++) {
    const g = toGap(FAMILIES[family]!({ blocks: n, centres: w, seed })).gap;
    let pairs = 0; for (const x of g.weight) if (x !== Infinity) pairs++;
    const ours = await timed(() => solveExact(g, { timeLimitMs: exactLimit, seed: 1 }));
    const plain = await timed(() => solveExact(g, { timeLimitMs: plainLimit, seed: 1, plain: true }));
    const t = Date.now();
    const fa = await solveAnytime(g, { timeLimitMs: fastLimit, seed: 1 });
    const fastWall = Date.now() - t;
    const ga = solveGa(g, { seed: 1 });
    const opt = ours.status === 'optimal' ? ours.cost : plain.status === 'optimal' ? plain.cost : null;
    const row: Row = {
      family, size: `${n}x${w}`, seed, pairs, ours, plain,
      fast: {
        wallMs: fastWall, limitMs: fastLimit, withinMargin: fastWall <= fastLimit + timeMarginMs(fastLimit),
        gapPct: opt && fa.assignment ? pct(fa.cost, opt) : null,
        firstPlanGapPct: opt && fa.firstPlan ? pct(fa.firstPlan.cost, opt) : null,
        firstPlanMs: fa.firstPlan?.atMs ?? null, phases: fa.phases,
      },
      gaGapPct: opt && ga.assignment ? pct(ga.cost, opt) : null,
    };
    rows.push(row);
    log(`${family} ${row.size} s${seed}: ours ${ours.status} ${ours.wallMs} ms (cpu ${ours.cpuMs}), plain ${plain.status} ${plain.wallMs} ms (cpu ${plain.cpuMs}), fast ${row.fast.gapPct} % in ${fastWall} ms, GA ${row.gaGapPct} %`);
  }
}
await stopExactThread();

const quantiles = (xs: number[]): { min: number; median: number; p90: number; max: number } => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]!;
  return { min: s[0]!, median: q(0.5), p90: q(0.9), max: s[s.length - 1]! };
};
const summary = sets.map(({ family, n, w }) => {
  const rs = rows.filter((r) => r.family === family && r.size === `${n}x${w}`);
  return {
    family, size: `${n}x${w}`, instances: rs.length,
    ours: { proven: rs.filter((r) => r.ours.status === 'optimal').length, provenWithin1sWall: rs.filter((r) => r.ours.status === 'optimal' && r.ours.wallMs <= 1000).length, provenWithin1sCpu: rs.filter((r) => r.ours.status === 'optimal' && r.ours.cpuMs <= 1000).length, wallMs: quantiles(rs.map((r) => r.ours.wallMs)), cpuMs: quantiles(rs.map((r) => r.ours.cpuMs)) },
    plain: { proven: rs.filter((r) => r.plain.status === 'optimal').length, wallMs: quantiles(rs.map((r) => r.plain.wallMs)), cpuMs: quantiles(rs.map((r) => r.plain.cpuMs)) },
    cpuRatioPlainOverOursMedian: r2(quantiles(rs.map((r) => r.plain.cpuMs / Math.max(1, r.ours.cpuMs))).median),
    fast: { withinMargin: rs.filter((r) => r.fast.withinMargin).length, gapPct: quantiles(rs.map((r) => r.fast.gapPct ?? Infinity)), notWorseThanGa: rs.filter((r) => r.fast.gapPct !== null && r.gaGapPct !== null && r.fast.gapPct <= r.gaGapPct).length },
    gaGapPct: quantiles(rs.map((r) => r.gaGapPct ?? Infinity)),
  };
});
const machine = { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, date: new Date().toISOString(), loadavgAtStart: startLoad.map(r2), loadavgAtEnd: loadavg().map(r2), seeds, sets: sets.map((x) => `${x.family}:${x.n}x${x.w}`), plainLimitMs: plainLimit, exactLimitMs: exactLimit, fastLimitMs: fastLimit, note: 'shared 2-core machine: wall times move with the load; CPU time of the solving thread is the comparable figure' };
const res = { machine, summary, rows };
process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
if (argv.includes('--write')) {
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${new Date().toISOString().slice(0, 10)}-cabin-paper`);
  writeFileSync(`${base}.json`, `${JSON.stringify(res, null, 2)}\n`);
  const q = (x: { min: number; median: number; p90: number; max: number }): string => `${x.min} / ${x.median} / ${x.p90} / ${x.max}`;
  const md = [
    `# Cabin: proof times on other generators' instances (${machine.date})`, '',
    `${seeds} seeds per size; load ${machine.loadavgAtStart.join(' ')} at the start, ${machine.loadavgAtEnd.join(' ')} at the end (2 cores, shared).`,
    'Times in ms, min / median / p90 / max. "ours" = solveExact (warm start, reduced-cost fixing, core phase, HiGHS proving from the incumbent; in-thread, so CPU is the process CPU); "plain" = HiGHS on the plain model with its defaults.', '',
    '| family | size | ours proven | ours ≤ 1 s wall / CPU | ours wall | ours CPU | plain proven | plain wall | plain CPU | CPU plain/ours (median) | fast 1 s gap % | fast ≤ GA | GA gap % |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...summary.map((s) => `| ${s.family} | ${s.size} | ${s.ours.proven}/${s.instances} | ${s.ours.provenWithin1sWall} / ${s.ours.provenWithin1sCpu} | ${q(s.ours.wallMs)} | ${q(s.ours.cpuMs)} | ${s.plain.proven}/${s.instances} | ${q(s.plain.wallMs)} | ${q(s.plain.cpuMs)} | ${s.cpuRatioPlainOverOursMedian} | ${q(s.fast.gapPct)} | ${s.fast.notWorseThanGa}/${s.instances} | ${q(s.gaGapPct)} |`),
    '',
  ].join('\n');
  writeFileSync(`${base}.md`, `${md}\n`);
  log(`wrote ${base}.json and .md`);
}
