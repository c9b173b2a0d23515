// Fault tests on PRIVATE servers (never the shared ones): Kafka paused mid-run (SIGSTOP, so
// the same cluster and its data come back with SIGCONT and "no acknowledged packet missing"
// can be checked on it), Kafka killed, Redis stopped and restarted on the same port.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createKafkaBus, type Bus } from '../../src/bus/index.ts';
import { createGateway, type Gateway, type IngestResult } from '../../src/gateway/index.ts';
import { startKafka, startRedis, stopPid, type KafkaHandle, type RedisHandle } from '../../src/infra/index.ts';
import type { VehicleState } from '../../src/state/index.ts';
import { segmentTopicSpecs, type Topology } from '../../src/topology/index.ts';
import { infra, pauseProcess, testBus, testState, waitFor } from '../helpers/index.ts';
import { createRedisState } from '../../src/state/index.ts';
import { chunk, expectedLanding, fleet, pkey, privateTopology, readAll, topics, type TestPacket } from './helpers.ts';

const quiet = pino({ level: 'silent' });
const inflightBytes = (metrics: { body: string }) => Number(/^iov_gateway_inflight_bytes (\d+)$/m.exec(metrics.body)?.[1] ?? NaN);

// Both producer modes: Bus.produce on the main thread, and the threaded producer (its own
// Kafka connection in a worker thread, createGateway({ produceWorker })).
for (const mode of ['main thread', 'worker thread'] as const)
describe(`gateway with Kafka paused, then killed (private Kafka, produce on the ${mode})`, () => {
  let dir: string;
  let kafka: KafkaHandle;
  let bus: Bus;
  let state: VehicleState;
  let gw: Gateway;
  let topo: Topology;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iov-gw-fault-'));
    kafka = await startKafka(join(dir, 'kafka'));
    topo = privateTopology();
    bus = createKafkaBus({ brokers: kafka.brokers, clientId: 'gw-fault', requestTimeoutMs: 1_500, connectionTimeoutMs: 1_000, retries: 0 });
    state = testState();
    await bus.ensureTopics(segmentTopicSpecs(topo));
    // Room for one 12-packet request in flight, not two: the second gets OVERLOADED at once.
    // The circuit's cool-down (3 s, not the default 1 s) must outlast the checks made while it
    // is open (a state read, a refused request, /metrics, /readyz) on a loaded box; after it
    // the first request is a probe that would wait on the paused Kafka.
    const produceWorker = mode === 'worker thread' ? { brokers: kafka.brokers, clientId: 'gw-fault-worker', requestTimeoutMs: 1_500, connectionTimeoutMs: 1_000, retries: 0 } : undefined;
    gw = createGateway({
      topology: topo, bus, state, logger: quiet, produceWorker,
      config: { rateLimit: null, maxInFlightBytes: 2_500, readyTimeoutMs: 800, breaker: { baseCooldownMs: 3_000, maxCooldownMs: 3_000 } },
    });
  });
  afterAll(async () => {
    try {
      process.kill(kafka.pid, 'SIGCONT');
    } catch {
      /* gone */
    }
    await gw?.close();
    await bus?.close();
    await state?.close();
    await stopPid(kafka?.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  it('503 + Retry-After while Kafka is paused; after it resumes, retried requests are accepted (not duplicates) and no acknowledged packet is missing', async () => {
    // Two fleets with their requests interleaved, so neighbouring requests carry different
    // vehicles (requests sharing a vehicle would run one after the other, and the second
    // one below would wait for the first instead of meeting the in-flight bound).
    const fleetA = fleet({ vehicles: 6, steps: 40, t0: Date.now() - 300_000, seed: 11, prefix: 'kf' });
    const fleetB = fleet({ vehicles: 6, steps: 40, t0: Date.now() - 300_000, seed: 12, prefix: 'kg' });
    const packets = [...fleetA, ...fleetB];
    const [ra, rb] = [chunk(fleetA, 12), chunk(fleetB, 12)];
    const requests = ra.flatMap((r, i) => [r, rb[i]!]);
    const failed = new Set<string>(); // packets of requests answered 503
    const post = (batch: TestPacket[]) => gw.app.inject({ method: 'POST', url: '/v1/packets', headers: { 'content-type': 'application/json' }, payload: batch });
    let acceptedTotal = 0;
    for (const r of requests.slice(0, 6)) {
      const res = await post(r);
      expect(res.statusCode).toBe(200);
      acceptedTotal += (res.json() as IngestResult).accepted;
    }

    // Kafka stopped for certain, every thread of it, before the next request: kill() alone
    // returns while the mock cluster's broker threads may still answer a produce (it once
    // acknowledged this request: 200 instead of 503; docs/gateway.md, "Kafka paused").
    await pauseProcess(kafka.pid);
    // The second request comes once the first one's records observably wait on Kafka (their
    // bytes hold the in-flight bound), so it meets the bound: OVERLOADED.
    const a = post(requests[6]!);
    await waitFor(async () => inflightBytes(await gw.app.inject({ method: 'GET', url: '/metrics' })) > 0, { intervalMs: 5, what: 'the first request to wait on Kafka' });
    const answers = await Promise.all([a, post(requests[7]!)]);
    const codes = answers.map((res) => {
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      return (res.json() as { code: string }).code;
    });
    expect(codes).toEqual(['UNAVAILABLE', 'OVERLOADED']);
    expect((answers[0]!.json() as { message: string }).message).toMatch(/^Kafka is unavailable, nothing of this request was acknowledged: /);
    for (const p of [...requests[6]!, ...requests[7]!]) failed.add(pkey(p.vehicleId, p.seq));
    // The circuit is open now: the next request is refused at once, before the state store.
    const vehicles = requests[8]!.map((p) => p.vehicleId);
    const stateBefore = await state.get(vehicles);
    const fast = await post(requests[8]!);
    expect(fast.statusCode).toBe(503);
    expect(fast.json()).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/^Kafka is unavailable, nothing of this request was acknowledged: circuit open, next attempt in \d+ ms$/) });
    expect(await state.get(vehicles)).toEqual(stateBefore);
    expect(await gw.metrics.metrics()).toMatch(/^iov_gateway_circuit_fast_fail_total\{dependency="kafka"\} [1-9]/m);
    const ready = await gw.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'unavailable', redis: 'ok', circuits: { kafka: 'open' } });
    expect((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    process.kill(kafka.pid, 'SIGCONT');
    // A well-behaved client retries every refused request after Retry-After, then carries on.
    for (const r of requests.slice(6)) {
      const res = await waitFor(async () => {
        const x = await post(r);
        return x.statusCode === 200 ? x : undefined;
      }, { timeoutMs: 30_000, intervalMs: 1_000, what: 'Kafka to come back' });
      const body = res.json() as IngestResult;
      // Rolled back on failure: the retry is accepted, not mistaken for duplicates.
      expect(body.duplicates).toBe(0);
      acceptedTotal += body.accepted;
    }
    expect(acceptedTotal).toBe(packets.length);

    const exp = expectedLanding(topo, packets);
    const msgs = await readAll(kafka.brokers, topics(topo), packets.length + exp.crossings.size);
    const owned = new Map<string, number>();
    for (const m of msgs) if (!m.packet.crossing) owned.set(pkey(m.packet.vehicleId, m.packet.seq), (owned.get(pkey(m.packet.vehicleId, m.packet.seq)) ?? 0) + 1);
    // Every acknowledged packet is there; a second copy can only come from a request that
    // was refused while its produce was already in Kafka's socket (at-least-once, documented).
    expect([...owned.keys()].sort()).toEqual([...exp.owned.keys()].sort());
    for (const [k, n] of owned) if (n > 1) expect(failed.has(k), `${k} duplicated`).toBe(true);
    const crossed = new Set(msgs.filter((m) => m.packet.crossing).map((m) => pkey(m.packet.vehicleId, m.packet.seq)));
    for (const k of exp.crossings.keys()) expect(crossed.has(k), `crossing copy of ${k}`).toBe(true);
  });

  it('Kafka killed: 503 UNAVAILABLE, the process keeps serving', async () => {
    await stopPid(kafka.pid);
    const res = await gw.app.inject({ method: 'POST', url: '/v1/packets', headers: { 'content-type': 'application/json' }, payload: fleet({ vehicles: 1, steps: 2, t0: Date.now() - 5_000, prefix: 'dead' }) });
    expect(res.statusCode).toBe(503);
    expect((res.json() as { code: string }).code).toBe('UNAVAILABLE');
    expect((await gw.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    expect((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('gateway with Redis stopped and restarted (private Redis)', () => {
  let dir: string;
  let redis: RedisHandle;
  let bus: Bus;
  let state: VehicleState;
  let gw: Gateway;
  let topo: Topology;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iov-gw-redis-'));
    redis = await startRedis(join(dir, 'redis'));
    topo = privateTopology();
    bus = testBus();
    state = createRedisState({ url: redis.url, commandTimeoutMs: 1_000 });
    await bus.ensureTopics(segmentTopicSpecs(topo));
    gw = createGateway({ topology: topo, bus, state, logger: quiet, config: { rateLimit: null, readyTimeoutMs: 800 } });
  });
  afterAll(async () => {
    await gw?.close();
    await bus?.close();
    await state?.close();
    await stopPid(redis?.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  it('503 while Redis is down, nothing produced; recovers by itself when Redis is back on its port', async () => {
    const packets = fleet({ vehicles: 4, steps: 6, t0: Date.now() - 60_000, seed: 5, prefix: 'rd' });
    const [first, second, third] = chunk(packets, 8);
    const post = (batch: TestPacket[]) => gw.app.inject({ method: 'POST', url: '/v1/packets', headers: { 'content-type': 'application/x-ndjson' }, payload: batch.map((p) => JSON.stringify(p)).join('\n') });
    expect((await post(first!)).statusCode).toBe(200);

    await stopPid(redis.pid);
    const down = await post(second!);
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('1');
    const body = down.json() as { code: string; message: string };
    expect(body.code).toBe('UNAVAILABLE');
    expect(body.message).toMatch(/^vehicle state \(Redis\) is unavailable, nothing of this request was acknowledged: /);
    const fast = await post(second!);
    expect(fast.statusCode).toBe(503);
    expect((fast.json() as { message: string }).message).toMatch(/^vehicle state \(Redis\) is unavailable, nothing of this request was acknowledged: circuit open, next attempt in \d+ ms$/);
    const ready = await gw.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'unavailable', kafka: 'ok' });
    expect((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    // Nothing of the refused request reached Kafka.
    const during = await readAll(infra().kafka!.brokers, topics(topo), 8, { timeoutMs: 8_000 });
    expect(during.map((m) => m.packet.vehicleId + m.packet.seq).sort()).toEqual(first!.map((p) => p.vehicleId + p.seq).sort());

    redis = await startRedis(join(dir, 'redis'), redis.port);
    for (const batch of [second!, third!]) {
      const res = await waitFor(async () => {
        const x = await post(batch);
        return x.statusCode === 200 ? x : undefined;
      }, { timeoutMs: 20_000, intervalMs: 300, what: 'Redis to come back' });
      expect((res.json() as IngestResult).accepted).toBe(batch.length);
    }
    expect((await gw.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});
