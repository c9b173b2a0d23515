// The chaos sweep: the chaos demo (separate segment and gateway processes, seeded SIGKILLs
// and a SIGSTOP past the session timeout, retrying simulator) for many seeds, each checked
// against the batch oracle. Needs the local servers (`iov infra up`, IOV_STATE_DIR).
//
//   flock /work/bench.lock nice npx tsx bench/chaos-sweep.ts [--seeds 1-20] [--duration 20] [--processes 3] [--gateways 2]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runChaosDemo } from '../src/chaos/index.ts';
import { DEFAULT_TOPOLOGY_FILE } from '../src/topology/index.ts';
import { machineInfo, RESULTS_DIR } from './run.ts';

const argv = process.argv.slice(2);
const arg = (f: string, d: string): string => { const k = argv.indexOf(f); return k >= 0 ? argv[k + 1]! : d; };
const [lo, hi] = arg('--seeds', '1-20').split('-').map(Number) as [number, number];
const seeds = Array.from({ length: (hi ?? lo) - lo + 1 }, (_, i) => lo + i);
const log = (s: string) => process.stderr.write(`${s}\n`);
const runs = [];
for (const seed of seeds) {
  const t0 = Date.now();
  const s = await runChaosDemo({
    topologyFile: DEFAULT_TOPOLOGY_FILE, processes: Number(arg('--processes', '3')), gateways: Number(arg('--gateways', '2')), chaos: true, seed,
    durationS: Number(arg('--duration', '20')), vehicles: 600, windowS: 5, allowedLatenessS: 5, log: () => {},
  });
  const failed = s.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
  runs.push({ seed, ok: s.ok, wall_s: Math.round((Date.now() - t0) / 1000), events: s.events.filter((e) => /SIG(KILL|STOP|CONT)/.test(e)), failed });
  log(`seed ${seed}: ${s.ok ? 'ok' : `FAILED ${failed.join(' | ').slice(0, 300)}`}`);
}
const result = { bench: 'chaos-sweep', at: new Date().toISOString(), machine: machineInfo(), passed: runs.filter((r) => r.ok).length, failed: runs.filter((r) => !r.ok).length, runs };
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(join(RESULTS_DIR, `${result.at.slice(0, 10)}-chaos-sweep.json`), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result)}\n`);
