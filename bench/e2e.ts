// End-to-end bench (issue 7): sustained packets/s from the fleet simulator to queryable rows,
// and event-to-queryable latency, on PRIVATE local servers started here through src/infra
// (Kafka mock cluster, redis-server, one clickhouse-server per cloud). Baseline measured in
// the same run: the same workload on the embedded pipeline (in-memory bus and state, chDB).
//
//   sustained packets/s = packets accepted / (ingest time + drain time), where drain ends when
//                          every processor has stored its whole topic (rows queryable);
//   latency             = probe packets (one every 250 ms): from the start of the ingest call
//                          that carried it until its `packets` row answers a SELECT (polled
//                          every 50 ms, so ±50 ms resolution). The gateway acknowledges only
//                          after Kafka did, so this spans gateway + Kafka + processor + insert.
// Env: IOV_BENCH_VEHICLES (default 2000), IOV_BENCH_SECONDS (default 20).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPipeline, DEFAULT_TOPOLOGY, type PipelineSummary } from '../src/embedded/index.ts';
import { infraDown, infraUp } from '../src/infra/index.ts';
import { loadTopology } from '../src/topology/index.ts';

const VEHICLES = Number(process.env.IOV_BENCH_VEHICLES ?? 2000);
const SECONDS = Number(process.env.IOV_BENCH_SECONDS ?? 20);
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function measure(s: PipelineSummary) {
  const wall = s.timings.ingestS + s.timings.drainS;
  return {
    ok: s.ok,
    failedChecks: s.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
    steps: Object.fromEntries(s.steps.map((x) => [x.name, x.status])),
    acceptedPackets: s.gateway.accepted,
    offeredPackets: s.gateway.offered,
    ingestS: round(s.timings.ingestS, 2),
    drainS: round(s.timings.drainS, 2),
    sustainedPacketsPerSec: Math.round(s.gateway.accepted / wall),
    ingestPacketsPerSec: Math.round(s.gateway.offered / s.timings.ingestS),
    latencyMs: s.probes ? { probes: s.probes.sent, found: s.probes.found, p50: s.probes.p50Ms, p99: s.probes.p99Ms, max: s.probes.maxMs } : null,
    eventMinutes: round((s.eventSpan.toMs - s.eventSpan.fromMs) / 60_000, 1),
    workers: Object.fromEntries(s.segments.map((x) => [x.segment, x.workers])),
  };
}

async function main(): Promise<void> {
  const common = { durationS: SECONDS, vehicles: VEHICLES, seed: 7, maxWorkersPerSegment: 1, ingestConcurrency: 4, probe: { everyMs: 250, pollMs: 50 } } as const;
  process.stderr.write(`e2e: embedded baseline, ${VEHICLES} vehicles, ${SECONDS} s\n`);
  const embedded = measure(await runPipeline({ ...common, mode: 'embedded' }));
  const root = mkdtempSync(join(os.tmpdir(), 'iov-bench-e2e-'));
  let local: ReturnType<typeof measure>;
  try {
    process.stderr.write(`e2e: starting private servers under ${root}\n`);
    await infraUp(loadTopology(DEFAULT_TOPOLOGY), { root });
    process.stderr.write(`e2e: local servers, ${VEHICLES} vehicles, ${SECONDS} s\n`);
    local = measure(await runPipeline({ ...common, mode: 'local', stateDir: root }));
  } finally {
    await infraDown(root).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
  const out = {
    bench: 'e2e',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}`, loadavg: os.loadavg().map((x) => round(x, 2)) },
    params: { vehicles: VEHICLES, seconds: SECONDS, reportIntervalS: 5, windowS: 60, allowedLatenessS: 30, workersPerSegment: 1, probeEveryMs: 250, pollMs: 50, ingest: 'in-process gateway.ingest(), 1000 packets per call, 4 calls in flight' },
    local,
    baseline: { what: 'same workload, embedded pipeline (in-memory bus + state, chDB)', ...embedded },
    ratio: {
      sustainedLocalVsEmbedded: round(local.sustainedPacketsPerSec / embedded.sustainedPacketsPerSec, 3),
      p99LatencyLocalVsEmbedded: local.latencyMs && embedded.latencyMs ? round(local.latencyMs.p99 / embedded.latencyMs.p99, 3) : null,
    },
    target: { sustainedPacketsPerSec: 10_000, p99LatencyMs: 2_000, met: local.sustainedPacketsPerSec >= 10_000 && (local.latencyMs?.p99 ?? Infinity) <= 2_000 },
  };
  const text = JSON.stringify(out);
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${out.date.slice(0, 10)}-e2e.json`), `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`${text}\n`);
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`bench/e2e: ${(err as Error).stack}\n`);
  process.exit(1);
});
