// `iov simulate`'s HTTP driver against a real gateway app on a loopback port (memory bus and
// state behind it, so no servers are needed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createMemoryBus } from '../../src/bus/index.ts';
import { createGateway, ensureSegmentTopics, type Gateway } from '../../src/gateway/index.ts';
import { postPackets, runSimulation } from '../../src/sim/index.ts';
import { createMemoryState } from '../../src/state/index.ts';
import { loadTopology, segmentTopic } from '../../src/topology/index.ts';

const topology = loadTopology(new URL('../../infra/topology/shanghai.yaml', import.meta.url).pathname);
const KEY = 'sim-test-secret-1';

describe('simulate over HTTP', () => {
  const bus = createMemoryBus();
  let gw: Gateway;
  let target: string;
  beforeAll(async () => {
    await ensureSegmentTopics(bus, topology);
    gw = createGateway({ topology, bus, state: createMemoryState(), config: { apiKeys: { 'sim-gw': KEY }, rateLimit: null }, logger: pino({ level: 'silent' }) });
    target = await gw.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await gw.close();
    await bus.close();
  });

  it('posts paced batches with the API key; every packet is accounted for', async () => {
    const r = await runSimulation({ target, apiKey: KEY, vehicles: 400, rate: 4000, durationS: 1.5, batchSize: 200, seed: 4,
      fractions: { duplicate: 0.05, malformed: 0.05, outOfOrder: 0.02, late: 0 } });
    expect(r.failedBatches).toBe(0);
    expect(r.sent).toBeGreaterThan(2000);
    expect(r.accepted + r.duplicates + r.rejected).toBe(r.sent);
    expect(r.duplicates).toBeGreaterThan(0);
    expect(r.rejected).toBeGreaterThan(0);
    // Pacing: about rate × duration, never far above.
    expect(r.sent).toBeLessThanOrEqual(4000 * 1.5 + 200);
    let messages = 0;
    for (const s of topology.segments) for (const e of await bus.endOffsets(segmentTopic(s.id))) messages += Number(e.offset);
    expect(messages).toBe(r.accepted + r.crossings);
  });

  it('counts a batch refused for a wrong key as rejected, not accepted', async () => {
    const r = await postPackets([{ vehicleId: 'v1', ts: Date.now(), lat: 31.2, lng: 121.4 }], { target, apiKey: 'wrong-key-123' });
    expect(r.status).toBe(403); // a key was presented but is not known
    expect(r.accepted).toBe(0);
    expect(r.rejected).toBe(1);
  });
});
