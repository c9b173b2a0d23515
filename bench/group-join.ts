// Consumer-group join loop: the bus contract's "two members of one group" (or N members)
// run again and again on a loaded box, counting the runs where every member got partitions.
// It proves the fix of the unassigned-member failure (docs/scaleout.md §1).
//
//   npx tsx bench/group-join.ts [--runs 50] [--members 2] [--load 2] [--together]
//
// --load k   k busy-loop processes beside the loop (at the loop's own priority), as a
//            fully loaded CI run has. Run it under `flock /work/bench.lock nice …`.
// --together members start at once (N processes of a segment) instead of one after another.
// Kafka: the local infrastructure of IOV_STATE_DIR when it runs, else a private mock cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaBus } from '../src/bus/index.ts';
import { startKafka, stopPid } from '../src/infra/index.ts';
import { readLocalState, stateFile } from '../src/topology/index.ts';
import { machineInfo, RESULTS_DIR } from './run.ts';

const argv = process.argv.slice(2);
const arg = (f: string, d: number): number => { const k = argv.indexOf(f); return k >= 0 ? Number(argv[k + 1]) : d; };
const RUNS = arg('--runs', 50);
const MEMBERS = arg('--members', 2);
const LOAD = arg('--load', 2);
const TOGETHER = argv.includes('--together');
const PARTITIONS = 4;
const DEADLINE_MS = 40_000; // the contract test's wait
const log = (s: string) => process.stderr.write(`${s}\n`);
const rnd = (s: string) => `${s}_${Math.random().toString(16).slice(2, 10)}`;
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)] ?? 0; };

async function brokers(): Promise<{ brokers: string[]; cleanup: () => Promise<void> }> {
  const st = readLocalState(stateFile());
  if (st?.kafka) return { brokers: st.kafka.brokers, cleanup: async () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'iov-bench-join-'));
  const k = await startKafka(join(dir, 'kafka'));
  return { brokers: k.brokers, cleanup: async () => { await stopPid(k.pid); rmSync(dir, { recursive: true, force: true }); } };
}

const srv = await brokers();
const load: ChildProcess[] = Array.from({ length: LOAD }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
const bus = createKafkaBus({ brokers: srv.brokers, clientId: rnd('bench-join') });
const runs: { ok: boolean; ms: number; partitions: number[][]; failures: string[] }[] = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const topic = rnd('bench.join');
    const groupId = rnd('g');
    await bus.ensureTopics([{ topic, partitions: PARTITIONS }]);
    const members = Array.from({ length: MEMBERS }, () => bus.consumer({ groupId, topics: [topic] }));
    const failures: string[] = [];
    for (const m of members) m.onFailure((e) => failures.push(e.message));
    const parts = () => members.map((m) => m.assignment().find((a) => a.topic === topic)?.partitions ?? []);
    const t0 = Date.now();
    if (TOGETHER) await Promise.all(members.map((m) => m.run(async () => {})));
    else for (const m of members) await m.run(async () => {});
    let ok = false;
    while (Date.now() - t0 < DEADLINE_MS) {
      const p = parts();
      if (p.every((x) => x.length > 0) && p.flat().length === PARTITIONS) { ok = true; break; }
      await new Promise((r) => setTimeout(r, 50));
    }
    runs.push({ ok, ms: Date.now() - t0, partitions: parts(), failures });
    log(`run ${i + 1}/${RUNS}: ${ok ? 'ok' : 'FAILED'} in ${Date.now() - t0} ms ${JSON.stringify(parts())}${failures.length ? ` ${failures.join('; ')}` : ''}`);
    await Promise.all(members.map((m) => m.stop()));
  }
} finally {
  for (const c of load) c.kill('SIGKILL');
  await bus.close();
  await srv.cleanup();
}
const okMs = runs.filter((r) => r.ok).map((r) => r.ms);
const result = {
  bench: 'group-join', at: new Date().toISOString(), machine: machineInfo(),
  config: { runs: RUNS, members: MEMBERS, partitions: PARTITIONS, load_processes: LOAD, start: TOGETHER ? 'together' : 'one after another', deadline_ms: DEADLINE_MS },
  passed: runs.filter((r) => r.ok).length, failed: runs.filter((r) => !r.ok).length,
  all_assigned_ms: { median: median(okMs), max: Math.max(0, ...okMs) },
  failures: runs.filter((r) => !r.ok),
};
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(join(RESULTS_DIR, `${result.at.slice(0, 10)}-group-join-${MEMBERS}m${TOGETHER ? '-together' : ''}.json`), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result)}\n`);
