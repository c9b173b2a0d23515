// Federated query latency vs the same SQL on one ClickHouse holding the union.
// Starts 4 PRIVATE clickhouse-servers (cloud-a/b/c + union) under a temp folder, generates
// traffic_flow-like rows inside ClickHouse (INSERT … SELECT … FROM system.numbers, through
// the admin path — not through the federator), runs each query alternately federated and on
// the union, and prints medians, ratios and targets as JSON (also written to
// bench/results/<date>-federation.json). Stops the servers at the end.
//   npx tsx bench/federation.ts [--rows 10000000] [--runs 7]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createFederator } from '../src/federation/index.ts';
import { startClickHouse, stopPid, type ClickHouseHandle } from '../src/infra/index.ts';
import { createClickHouseStore, type Store } from '../src/store/index.ts';
import { loadTopology } from '../src/topology/index.ts';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const ROWS = arg('rows', 10_000_000);
const RUNS = arg('runs', 9);
const DB = 'bench';

const topo = loadTopology(new URL('../infra/topology/shanghai.yaml', import.meta.url).pathname);
const segs = topo.segments.map((s, i) => ({ id: s.id, cloud: s.cloud, index: i }));

// Rows per segment; keys (segment, cell, window_start, part) are unique, so
// ReplacingMergeTree merges never collapse rows.
function genSql(seg: { id: string; index: number }, n: number): string {
  const cellBase = 600000000000000000n + BigInt(seg.index) * 1000000n;
  return `INSERT INTO traffic_flow (window_start, window_s, segment, cell, vehicles, packets, speed_sum, speed_count, inv_speed_sum, min_speed, max_speed, part)
SELECT toDateTime(1709280000 + intDiv(number, 2000) * 60), 60, '${seg.id}', ${cellBase} + (number % 500),
  toUInt32(number % 7 + 1), toUInt32(number % 13 + 1), (number % 1000) * 0.37 + ${seg.index}, toUInt32(number % 11),
  (number % 17) * 0.01, toFloat32(number % 50), toFloat32(50 + number % 70), toUInt32(intDiv(number % 2000, 500))
FROM system.numbers LIMIT ${n}`;
}

const QUERIES = [
  { name: 'global aggregates', kind: 'aggregate', sql: 'SELECT count(), sum(packets), avg(speed_sum), max(max_speed), min(min_speed) FROM traffic_flow' },
  { name: 'hourly buckets', kind: 'aggregate', sql: 'SELECT toStartOfHour(window_start) AS h, sum(packets) AS p, sum(speed_sum) / sum(speed_count) AS speed FROM traffic_flow GROUP BY h ORDER BY h' },
  { name: 'top cells (1500 groups, ORDER BY + LIMIT after merge)', kind: 'aggregate', sql: 'SELECT segment, cell, sum(vehicles) AS v, avg(speed_sum) AS s FROM traffic_flow GROUP BY segment, cell ORDER BY v DESC, cell LIMIT 10' },
  { name: 'filtered five-minute buckets', kind: 'aggregate', sql: "SELECT toStartOfFiveMinute(window_start) AS t, countIf(speed_count = 0) AS idle, sum(packets) FROM traffic_flow WHERE window_start BETWEEN '2024-03-01 10:00:00' AND '2024-03-01 14:00:00' AND packets > 3 GROUP BY t ORDER BY t" },
  { name: 'pruned single segment', kind: 'pruned', sql: "SELECT toStartOfHour(window_start) AS h, sum(packets) AS p, max(max_speed) FROM traffic_flow WHERE segment = 'central' GROUP BY h ORDER BY h" },
];

// Integers exactly, floats within 1e-9 relative (float sums depend on summation order).
function sameRows(a: Record<string, unknown>[], b: Record<string, unknown>[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((r, i) => {
    const x = Object.values(r);
    const y = Object.values(b[i]!);
    return x.length === y.length && x.every((v, j) => {
      const w = y[j];
      if (String(v) === String(w)) return true;
      const p = Number(v);
      const q = Number(w);
      return Number.isFinite(p) && Number.isFinite(q) && Math.abs(p - q) <= 1e-9 * Math.max(Math.abs(p), Math.abs(q));
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const time = async (f: () => Promise<unknown>) => {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
};

async function main(): Promise<void> {
  const root = mkdtempSync(join(os.tmpdir(), 'iov-bench-fed-'));
  const servers: ClickHouseHandle[] = [];
  const stores: Store[] = [];
  try {
    for (const name of ['cloud-a', 'cloud-b', 'cloud-c', 'union']) servers.push(await startClickHouse(name, join(root, name)));
    const store = (name: string, url: string) => createClickHouseStore({ cloud: name, endpoint: { url, database: DB }, requestTimeoutMs: 600_000 });
    const clouds = servers.slice(0, 3).map((s) => store(s.name, s.url));
    const union = store('union', servers[3]!.url);
    stores.push(...clouds, union);
    await Promise.all(stores.map((s) => s.migrate()));

    const perSeg = Math.ceil(ROWS / segs.length);
    const tGen = performance.now();
    await Promise.all(segs.map((seg) => clouds.find((c) => c.cloud === seg.cloud)!.command(genSql(seg, perSeg))));
    for (const seg of segs) await union.command(genSql(seg, perSeg));
    const genMs = performance.now() - tGen;
    const counts = await Promise.all(stores.map(async (s) => Number((await s.query<{ n: string }>('SELECT count() AS n FROM traffic_flow'))[0]!.n)));

    const fed = createFederator({ topology: topo, stores: clouds, limits: { timeoutMs: 120_000 } });
    const central = clouds.find((c) => c.cloud === 'cloud-b')!;
    const results = [];
    for (const q of QUERIES) {
      // Sanity: the federated answer equals the union's.
      const [f, u] = await Promise.all([fed.query(q.sql), union.query(q.sql)]);
      const same = sameRows(f.rows, u);
      const fedT: number[] = [];
      const uniT: number[] = [];
      const dirT: number[] = [];
      for (let i = 0; i < RUNS + 1; i++) {
        const a = await time(() => fed.query(q.sql));
        const b = await time(() => union.query(q.sql));
        const c = q.kind === 'pruned' ? await time(() => central.query(q.sql)) : 0;
        if (i === 0) continue; // warm-up
        fedT.push(a);
        uniT.push(b);
        if (q.kind === 'pruned') dirT.push(c);
      }
      const fm = median(fedT);
      const um = median(uniT);
      const r: Record<string, unknown> = {
        name: q.name, sql: q.sql, strategy: f.plan.strategy, clouds: f.clouds.filter((c) => c.status !== 'pruned').map((c) => c.cloud),
        sameRowsAsUnion: same, federatedMedianMs: +fm.toFixed(1), unionMedianMs: +um.toFixed(1), ratioVsUnion: +(fm / um).toFixed(2),
      };
      if (q.kind === 'aggregate') {
        r.target = 'federated <= 1.5 x union';
        r.met = fm <= 1.5 * um;
      } else {
        const dm = median(dirT);
        r.directCloudMedianMs = +dm.toFixed(1);
        r.overheadVsDirectMs = +(fm - dm).toFixed(1);
        r.target = 'federated <= direct cloud + 10 ms';
        r.met = fm <= dm + 10;
      }
      results.push(r);
    }
    await fed.close();
    const out = {
      bench: 'federation',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), platform: `${os.platform()} ${os.release()}`, node: process.version },
      params: { rows: perSeg * segs.length, rowsPerCloud: perSeg, runs: RUNS, clickhouse: '18.16 (Debian), 4 private servers, max_threads=2 each' },
      generationMs: Math.round(genMs),
      rowCounts: Object.fromEntries(stores.map((s, i) => [s.cloud, counts[i]])),
      note: 'Three cloud servers and the union server share the same 2 cores: the federated run uses all three servers at once, so it competes with itself for CPU; the union baseline has the cores to itself while it runs.',
      results,
    };
    const json = JSON.stringify(out, null, 2);
    process.stdout.write(`${json}\n`);
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(new URL(`./results/${out.date.slice(0, 10)}-federation.json`, import.meta.url), `${json}\n`);
  } finally {
    await Promise.all(stores.map((s) => s.close().catch(() => {})));
    for (const s of servers) await stopPid(s.pid);
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
