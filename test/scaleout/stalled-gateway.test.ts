// Regression for chaos sweep seed 15 (docs/scaleout.md §5): a gateway slower than the client's
// attempt timeout (at load ~30 a starved gateway took longer than 4 s, while the restarted one
// was still starting) answered none of the simulator's retries — each attempt timed out the
// same way — so batches whose packets had all landed were given up. Here the gateway process
// is SIGSTOPped (the stall, made exact) for longer than a fixed timeout's whole patience; the
// growing timeout of src/sim/http.ts reaches its answer, and every packet is in the log once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endOffsets, freePort, isLogTick, readLog, runTopology, type Offsets } from '../../src/chaos/index.ts';
import { createSupervisor, READY_LINES, type Supervisor } from '../../src/local/index.ts';
import { openRuntime, type Runtime } from '../../src/runtime/index.ts';
import { createFleet, postPackets, type PostResult } from '../../src/sim/index.ts';
import { DEFAULT_TOPOLOGY_FILE, loadTopology, readLocalState, segmentTopic, stateFile } from '../../src/topology/index.ts';
import { infra, randomName } from '../helpers/index.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
// Longer than a fixed 1 s timeout's whole patience (4 attempts, ≤ 4.6 s) with room for a late timer on a
// loaded box; shorter than the growing timeout's (1 + 2 + 4 + 6 s).
const STALL_MS = 8_000;

describe('a stalled gateway and a retrying client (chaos seed 15)', () => {
  const run = randomName('stall').slice(6);
  const dir = mkdtempSync(join(tmpdir(), 'iov-stall-'));
  let rt: Runtime;
  let gateway: Supervisor;
  let url: string;
  let start: Map<string, Offsets>;
  const apiKey = `stall-${run}`;
  let batchNo = 0;

  beforeAll(async () => {
    const root = infra().root;
    const topo = loadTopology(DEFAULT_TOPOLOGY_FILE);
    const topologyFile = runTopology(DEFAULT_TOPOLOGY_FILE, topo, readLocalState(stateFile(root)), `stall_${run}`, dir, run);
    rt = await openRuntime({ topology: topologyFile, stateDir: root, clientId: `iov-stall-${run}` });
    await rt.ensureTopics();
    const topics = rt.topology.segments.map((s) => segmentTopic(s.id));
    start = new Map(await Promise.all(topics.map(async (t) => [t, await endOffsets(rt.bus(), t)] as const)));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    gateway = createSupervisor({
      specs: [{
        name: 'gateway', ready: READY_LINES.gateway,
        args: ['gateway', '--port', String(port), '--tick-interval', '0', '--topology', topologyFile, '--state-dir', root],
        env: { IOV_API_KEYS: `stall:${apiKey}`, IOV_LOG_LEVEL: 'info' }, // the ready line is an info line
      }],
      onStderr: () => {},
    });
    await gateway.start(120_000);
  }, 180_000);

  afterAll(async () => {
    await gateway?.stop(5_000);
    await rt?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A batch of distinct, valid packets (no injected duplicates or malformed ones). */
  const packets = (n: number) => createFleet({
    vehicles: n, seed: 15 + batchNo, idPrefix: `v${run}-${batchNo}`, startMs: Math.floor(Date.now() / 1000) * 1000,
    fractions: { duplicate: 0, outOfOrder: 0, late: 0, malformed: 0 },
  }).tick();

  /** POST while the gateway is stopped for STALL_MS, then resumed. */
  async function postThroughStall(batch: unknown[], maxTimeoutMs?: number): Promise<PostResult> {
    expect(gateway.signal('gateway', 'SIGSTOP')).toBe(true);
    const resume = sleep(STALL_MS).then(() => gateway.signal('gateway', 'SIGCONT'));
    try {
      return await postPackets(batch, { targets: [url], apiKey, timeoutMs: 1_000, retries: 3, backoffMs: 100, maxBackoffMs: 200, ...(maxTimeoutMs ? { maxTimeoutMs } : {}) }, batchNo++);
    } finally {
      await resume;
    }
  }

  it('with a fixed 1 s timeout every attempt times out: the batch is given up although the gateway works (the failure)', async () => {
    const r = await postThroughStall(packets(20), 1_000);
    expect(r.failed).toBe(true);
    expect(r.failures).toEqual(Array.from({ length: 4 }, () => `${url}/v1/packets: timed out after 1000 ms`));
  }, 60_000);

  it('with the growing timeout a retry gets the answer, and each packet is in the log once', async () => {
    const batch = packets(40);
    const r = await postThroughStall(batch);
    expect(r.failures.slice(0, 2)).toEqual([`${url}/v1/packets: timed out after 1000 ms`, `${url}/v1/packets: timed out after 2000 ms`]);
    expect(r.failed, r.failures.join('\n')).toBe(false);
    // The first attempt landed while the client waited; the answer counts each packet once,
    // as accepted (this attempt wrote it) or as a duplicate (an abandoned attempt did).
    expect(r.accepted + r.duplicates).toBe(batch.length);
    const ids = new Set((batch as { vehicleId: string }[]).map((p) => p.vehicleId));
    const owned: string[] = [];
    for (const s of rt.topology.segments) {
      const topic = segmentTopic(s.id);
      const to = await endOffsets(rt.bus(), topic);
      const log = await readLog(rt.bus(), topic, s.id, start.get(topic)!, to, `iov-stall-read-${run}-${s.id}`);
      for (const e of log) if (!isLogTick(e) && e.ownerSegment === e.segment && ids.has(e.vehicleId)) owned.push(e.key);
    }
    expect(owned.length).toBe(batch.length);
    expect(new Set(owned).size).toBe(batch.length);
  }, 120_000);
});
