// The chaos sweep: the chaos demo (separate segment and gateway processes, seeded SIGKILLs
// and a SIGSTOP past the session timeout, retrying simulator) for many seeds, each checked
// against the batch oracle. A correctness sweep, not a timing: it needs no bench lock. Needs
// the local servers (`iov infra up`, IOV_STATE_DIR). Exits 1 if any seed fails a check or
// ran without the oracle comparison.
//
//   nice npx tsx bench/chaos-sweep.ts [--seeds 1-20 | 3,5,15] [--duration 20] [--processes 3] [--gateways 2] [--vehicles 600] [--out <name>]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runChaosDemo, type ChaosDemoSummary } from '../src/chaos/index.ts';
import { DEFAULT_TOPOLOGY_FILE } from '../src/topology/index.ts';
import { machineInfo, RESULTS_DIR } from './run.ts';

const argv = process.argv.slice(2);
const arg = (f: string, d: string): string => { const k = argv.indexOf(f); return k >= 0 ? argv[k + 1]! : d; };
/** `1-20` or `3,5,15`. */
const seedsArg = arg('--seeds', '1-20');
const seeds = seedsArg.split(',').flatMap((part) => {
  const [lo, hi] = part.split('-').map(Number) as [number, number | undefined];
  return Array.from({ length: (hi ?? lo) - lo + 1 }, (_, i) => lo + i);
});
const config = {
  processes: Number(arg('--processes', '3')), gateways: Number(arg('--gateways', '2')), durationS: Number(arg('--duration', '20')),
  vehicles: Number(arg('--vehicles', '600')), windowS: 5, allowedLatenessS: 5,
};
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

/** The checks a run must have made: without the oracle comparison a passing run proves little. */
const REQUIRED = [/^nothing lost/, /^oracle: federated traffic_flow = batch traffic flow/, /^no double count: each packet stored once/];

function verdict(s: ChaosDemoSummary): { ok: boolean; failed: string[] } {
  const failed = s.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
  for (const r of REQUIRED) if (!s.checks.some((c) => r.test(c.name))) failed.push(`check missing: ${r.source}`);
  return { ok: s.ok && failed.length === 0, failed };
}

mkdirSync(RESULTS_DIR, { recursive: true });
const out = arg('--out', `${new Date().toISOString().slice(0, 10)}-chaos-sweep`);
const runs: Record<string, unknown>[] = [];
/** Written after every seed, so a sweep cut short (the box's quiet window) keeps what it ran. */
const save = (done: boolean) => {
  const passed = runs.filter((r) => r.ok).length;
  const result = { bench: 'chaos-sweep', at: new Date().toISOString(), machine: machineInfo(), config, seeds: seedsArg, complete: done, passed, failed: runs.length - passed, runs };
  writeFileSync(join(RESULTS_DIR, `${out}.json`), `${JSON.stringify(result, null, 2)}\n`);
  return result;
};
for (const seed of seeds) {
  const t0 = Date.now();
  const lines: string[] = [];
  const s = await runChaosDemo({ topologyFile: DEFAULT_TOPOLOGY_FILE, chaos: true, seed, ...config, log: (l) => lines.push(l) });
  const v = verdict(s);
  const oracle = s.checks.find((c) => REQUIRED[1]!.test(c.name));
  runs.push({
    seed, run: s.run, ok: v.ok, wall_s: Math.round((Date.now() - t0) / 1000), loadavg: machineInfo().loadavg,
    accepted: s.sim?.accepted, retries: s.sim?.retries, restarts: s.restarts, oracle: oracle?.detail,
    chaos: s.events.filter((e) => /SIG(KILL|STOP|CONT)/.test(e)), failed: v.failed,
    // Why attempts failed, passing seeds too: under load, timeouts the growing timeout outlasted.
    sim_failures: s.sim?.failures,
    // A failing seed keeps its whole story for the diagnosis.
    ...(v.ok ? {} : { events: s.events, log: lines.filter((l) => !s.events.includes(l)), first_sim_failure: s.sim?.firstFailure }),
  });
  log(`seed ${seed} (run ${s.run}): ${v.ok ? `ok — ${oracle?.detail ?? ''}` : `FAILED ${v.failed.join(' | ').slice(0, 400)}`}`);
  save(false);
}
const result = save(true);
process.stdout.write(`${JSON.stringify(result)}\n`);
if (result.failed > 0) process.exitCode = 1;
