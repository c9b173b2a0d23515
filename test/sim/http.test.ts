// `iov simulate`'s HTTP driver against real gateway apps on loopback ports (memory bus and
// state behind them, so no servers are needed): pacing, spreading over several gateways,
// retries with the same packets after a refused connection or a timeout, and the CLI's
// answer when nothing listens.
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { lossyFront } from '../gateway/helpers.ts';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createMemoryBus } from '../../src/bus/index.ts';
import { createGateway, type Gateway } from '../../src/gateway/index.ts';
import { createFleet, postPackets, runSimulation } from '../../src/sim/index.ts';
import { createMemoryState } from '../../src/state/index.ts';
import { loadTopology, segmentTopic, segmentTopicSpecs } from '../../src/topology/index.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const topology = loadTopology(join(ROOT, 'infra/topology/shanghai.yaml'));
const KEY = 'sim-test-secret-1';

/** A loopback URL on which nothing listens (a port taken and given back). */
async function refusedUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

async function messages(bus: ReturnType<typeof createMemoryBus>): Promise<number> {
  let n = 0;
  for (const s of topology.segments) for (const e of await bus.endOffsets(segmentTopic(s.id))) n += Number(e.offset);
  return n;
}

async function requestsServed(gw: Gateway): Promise<number> {
  const m = await gw.metrics.getSingleMetric('iov_gateway_requests_total')!.get();
  return m.values.reduce((a, v) => a + v.value, 0);
}

describe('simulate over HTTP', () => {
  // Two gateways on one bus and one vehicle state: two replicas behind no sticky routing.
  const bus = createMemoryBus();
  const state = createMemoryState();
  const gws: Gateway[] = [];
  const targets: string[] = [];
  const fronts: Server[] = [];
  beforeAll(async () => {
    await bus.ensureTopics(segmentTopicSpecs(topology));
    for (let i = 0; i < 2; i++) {
      const gw = createGateway({ topology, bus, state, config: { apiKeys: { 'sim-gw': KEY }, rateLimit: null }, logger: pino({ level: 'silent' }) });
      gws.push(gw);
      targets.push(await gw.app.listen({ port: 0, host: '127.0.0.1' }));
    }
  });
  afterAll(async () => {
    for (const f of fronts) f.closeAllConnections(), f.close();
    for (const gw of gws) await gw.close();
    await bus.close();
  });

  it('posts paced batches with the API key, spread over every target; every packet is accounted for', async () => {
    const before = await messages(bus);
    const fleetOptions = { vehicles: 400, seed: 4, fractions: { duplicate: 0.05, malformed: 0.05, outOfOrder: 0.02, late: 0 } };
    // Stopped after 4 fleet ticks, not after a time: the same requests on any box (a 1.5 s
    // run once posted fewer than the two batches the round-robin check needs).
    const r = await runSimulation({ targets, apiKey: KEY, rate: 4000, ticks: 4, batchSize: 200, ...fleetOptions });
    // What it had to post: each tick's packets in batches of at most 200 (an independent
    // fleet of the same seed; a tick's packets do not depend on its start time).
    const fleet = createFleet(fleetOptions);
    const ticks = Array.from({ length: 4 }, () => fleet.tick().length);
    expect(r.fleet.ticks).toBe(4);
    expect(r.sent).toBe(ticks.reduce((a, n) => a + n, 0));
    expect(r.batches).toBe(ticks.reduce((a, n) => a + Math.ceil(n / 200), 0));
    expect(r.failedBatches).toBe(0);
    expect(r.retries).toBe(0);
    expect(r.accepted + r.duplicates + r.rejected).toBe(r.sent);
    expect(r.duplicates).toBeGreaterThan(0);
    expect(r.rejected).toBeGreaterThan(0);
    // Pacing: a batch is never posted before its due time (the packets before it / rate),
    // so the run lasts at least until the last one was due (less a timer's 10 ms rounding).
    const lastBatch = ticks.at(-1)! % 200 || 200;
    expect(r.elapsedS).toBeGreaterThanOrEqual((r.sent - lastBatch) / 4000 - 0.01);
    expect((await messages(bus)) - before).toBe(r.accepted + r.crossings);
    // Round robin: each gateway served half the batches (± 1).
    const served = await Promise.all(gws.map(requestsServed));
    expect(served[0]! + served[1]!).toBe(r.batches);
    expect(Math.abs(served[0]! - served[1]!)).toBeLessThanOrEqual(1);
  });

  it('retries a refused connection on the next target with the same packets', async () => {
    const dead = await refusedUrl();
    const before = await messages(bus);
    // 3 ticks of 50 clean packets: 3 batches, of which 0 and 2 go to the dead target first.
    const r = await runSimulation({ targets: [dead, targets[0]!], apiKey: KEY, vehicles: 50, rate: 1000, ticks: 3, batchSize: 50, seed: 5,
      backoffMs: 1, fractions: { duplicate: 0, malformed: 0, outOfOrder: 0, late: 0 } });
    expect(r.batches).toBe(3);
    expect(r.failedBatches).toBe(0);
    // Batches 0 and 2 went to the dead target first, then once to the live one.
    expect(r.retriedBatches).toBe(2);
    expect(r.retries).toBe(2);
    expect(r.failures).toEqual({ [`${dead}/v1/packets: connection refused`]: 2 });
    expect(r.sent).toBe(150);
    expect(r.accepted).toBe(150);
    expect((await messages(bus)) - before).toBe(r.accepted + r.crossings);
  });

  it('a retry after a lost answer whose attempt landed is a duplicate, produced once', async () => {
    const front = await lossyFront(targets[0]!, 'answer-lost');
    fronts.push(front.server);
    const packets = [0, 1, 2].map((i) => ({ vehicleId: `landed-${i}`, seq: 1, ts: Date.now(), lat: 31.2, lng: 121.4 }));
    const before = await messages(bus);
    const r = await postPackets(packets, { targets: [front.url, targets[1]!], apiKey: KEY, timeoutMs: 60_000, backoffMs: 1 });
    expect(front.spoiled()).toBe(1);
    expect(r).toMatchObject({ status: 200, accepted: 0, duplicates: 3, retries: 1, failed: false });
    expect(r.failures).toEqual([`${front.url}/v1/packets: connection reset`]);
    expect((await messages(bus)) - before).toBe(3);
  });

  it('a retry after a timeout whose first attempt was lost is accepted', async () => {
    const front = await lossyFront(targets[0]!, 'request-lost');
    fronts.push(front.server);
    const packets = [0, 1].map((i) => ({ vehicleId: `lost-${i}`, seq: 1, ts: Date.now(), lat: 31.2, lng: 121.4 }));
    const before = await messages(bus);
    // (the per-attempt timeout also bounds the retry's answer from the live gateway: 300 ms
    // timed that attempt out too on a loaded box; 3 s is the wait the lost attempt costs)
    const r = await postPackets(packets, { targets: [front.url, targets[1]!], apiKey: KEY, timeoutMs: 3_000, backoffMs: 1 });
    expect(r.failures).toEqual([`${front.url}/v1/packets: timed out after 3000 ms`]);
    expect(r).toMatchObject({ status: 200, accepted: 2, duplicates: 0, retries: 1, failed: false });
    expect((await messages(bus)) - before).toBe(2);
  });

  it('refuses bad ticks options before posting anything', async () => {
    await expect(runSimulation({ targets, ticks: 0 })).rejects.toThrow(new RangeError('options.ticks must be a positive integer'));
    await expect(runSimulation({ targets, ticks: 2, durationS: 1 })).rejects.toThrow(new RangeError('options.ticks and options.durationS both given: the run stops after one of them'));
  });

  it('counts a batch refused for a wrong key as rejected and failed, not retried', async () => {
    const r = await postPackets([{ vehicleId: 'v1', ts: Date.now(), lat: 31.2, lng: 121.4 }], { targets, apiKey: 'wrong-key-123' });
    expect(r.status).toBe(403); // a key was presented but is not known
    expect(r).toMatchObject({ accepted: 0, rejected: 1, retries: 0, failed: true });
    expect(r.failures[0]).toMatch(/: HTTP 403 FORBIDDEN: /);
  });
});

describe('postPackets options', () => {
  it('refuses a timeout cap below the first timeout', async () => {
    await expect(postPackets([{}], { targets: ['http://127.0.0.1:1'], timeoutMs: 2_000, maxTimeoutMs: 1_000 }))
      .rejects.toThrow(new RangeError('options.maxTimeoutMs must be at least options.timeoutMs'));
  });
});

describe('iov simulate (CLI)', () => {
  it('says "connection refused" and exits non-zero when nothing listens', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/iov.mjs'), 'simulate', '--target', 'http://127.0.0.1:1', '--duration', '30', '--retries', '2', '--vehicles', '10'],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('iov simulate: ');
    expect(r.stderr).toContain('batches never acknowledged; no gateway answered: http://127.0.0.1:1/v1/packets: connection refused');
    const report = JSON.parse(r.stdout) as { failedBatches: number; stoppedEarly: string; elapsedS: number };
    expect(report.failedBatches).toBeGreaterThan(0);
    expect(report.elapsedS).toBeLessThan(30); // stopped early, not after --duration
  });
});
