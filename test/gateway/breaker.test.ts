// The circuit breaker through the HTTP surface (fastify inject), on the in-memory bus and
// state behind a switch that makes them fail like an unreachable Kafka / Redis (after a
// delay, with the adapters' own error types). The private-server fault tests
// (faults.test.ts) check the same against a paused Kafka and a stopped Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BusError, createMemoryBus, type Bus, type ProduceRecord } from '../../src/bus/index.ts';
import { createGateway, type Gateway, type IngestResult } from '../../src/gateway/index.ts';
import { enrichedPacketCodec } from '../../src/schemas/index.ts';
import { createMemoryState, StateError, type VehicleState } from '../../src/state/index.ts';
import { waitFor } from '../helpers/index.ts';
import { chunk, fleet, pkey, privateTopology, type TestPacket } from './helpers.ts';

interface Switch {
  down: boolean;
  calls: number;
}

function flakyBus(inner: Bus, sw: Switch, acked: ProduceRecord[]): Bus {
  return {
    ...inner,
    async produce(records) {
      sw.calls++;
      if (sw.down) {
        await new Promise((r) => setTimeout(r, 50));
        throw new BusError('BUS_TIMEOUT', 'produce timed out (test outage)', true);
      }
      await inner.produce(records);
      acked.push(...records);
    },
    async partitionCount(topic) {
      if (sw.down) throw new BusError('BUS_UNAVAILABLE', 'metadata: broker down (test outage)', true);
      return inner.partitionCount(topic);
    },
  };
}

function flakyState(inner: VehicleState, sw: Switch): VehicleState {
  const gate = async () => {
    sw.calls++;
    if (sw.down) {
      await new Promise((r) => setTimeout(r, 50));
      throw new StateError('redis observe: Command timed out (test outage)');
    }
  };
  return {
    ...inner,
    async observe(obs, opts) {
      await gate();
      return inner.observe(obs, opts);
    },
    settle(obs, res) {
      const inner2 = inner.settle(obs, res);
      return {
        async commit() {
          await gate();
          return inner2.commit();
        },
        async rollback() {
          await gate();
          return inner2.rollback();
        },
      };
    },
    async ping() {
      if (sw.down) throw new StateError('redis ping: down (test outage)');
    },
  };
}

const metric = async (gw: Gateway, name: string, labels: string) => {
  const text = await gw.metrics.metrics();
  const m = new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

describe('gateway circuit breaker (fastify inject, switchable outages)', () => {
  const kafka: Switch = { down: false, calls: 0 };
  const redis: Switch = { down: false, calls: 0 };
  const acked: ProduceRecord[] = [];
  const inner = createMemoryState();
  let bus: Bus;
  let gw: Gateway;
  const post = (batch: TestPacket[]) => gw.app.inject({ method: 'POST', url: '/v1/packets', headers: { 'content-type': 'application/json' }, payload: batch });

  beforeAll(() => {
    bus = createMemoryBus();
    gw = createGateway({
      topology: privateTopology(),
      bus: flakyBus(bus, kafka, acked),
      state: flakyState(inner, redis),
      logger: pino({ level: 'silent' }),
      config: { rateLimit: null, breaker: { baseCooldownMs: 300, maxCooldownMs: 1_200 } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await bus?.close();
  });

  it('Kafka: one request waits for the failure, the next ones are refused at once without touching state; recovery loses nothing and retries are not duplicates', async () => {
    const packets = fleet({ vehicles: 5, steps: 24, t0: Date.now() - 200_000, seed: 3, prefix: 'cb' });
    const requests = chunk(packets, 10);
    let accepted = 0;
    for (const r of requests.slice(0, 3)) {
      const res = await post(r);
      expect(res.statusCode).toBe(200);
      accepted += (res.json() as IngestResult).accepted;
    }

    kafka.down = true;
    const first = await post(requests[3]!);
    expect(first.statusCode).toBe(503);
    expect((first.json() as { message: string }).message).toMatch(/^Kafka is unavailable, nothing of this request was acknowledged: produce timed out/);
    expect(await metric(gw, 'iov_gateway_circuit_state', 'dependency="kafka"')).toBe(1);

    // Open: refused before the state store and the producer are called.
    const [kCalls, rCalls] = [kafka.calls, redis.calls];
    const before = await inner.get(requests[4]!.map((p) => p.vehicleId));
    const fast = await post(requests[4]!);
    expect(fast.statusCode).toBe(503);
    const body = fast.json() as { code: string; message: string };
    expect(body.code).toBe('UNAVAILABLE');
    expect(body.message).toMatch(/^Kafka is unavailable, nothing of this request was acknowledged: circuit open, next attempt in \d+ ms$/);
    expect(fast.headers['retry-after']).toBe('1');
    expect([kafka.calls, redis.calls]).toEqual([kCalls, rCalls]);
    expect(await inner.get(requests[4]!.map((p) => p.vehicleId))).toEqual(before);
    expect(await metric(gw, 'iov_gateway_circuit_fast_fail_total', 'dependency="kafka"')).toBe(1);

    // Readiness reflects the open circuit without probing.
    const ready = await gw.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'unavailable', redis: 'ok', circuits: { kafka: 'open', redis: 'closed' } });
    expect((ready.json() as { kafka: string }).kafka).toMatch(/^circuit open \(\d+ ms left\) after: produce timed out/);

    // Cool-down over, Kafka still down: the probe fails and the cool-down doubles.
    await waitFor(async () => ((await gw.app.inject({ method: 'GET', url: '/readyz' })).json() as { circuits: { kafka: string } }).circuits.kafka === 'half-open', { timeoutMs: 5_000, intervalMs: 50, what: 'half-open' });
    const probe = await post(requests[4]!);
    expect(probe.statusCode).toBe(503);
    expect((probe.json() as { message: string }).message).toMatch(/produce timed out/);
    const again = await post(requests[4]!);
    expect((again.json() as { message: string }).message).toMatch(/circuit open, next attempt/);
    expect(await metric(gw, 'iov_gateway_circuit_fast_fail_total', 'dependency="kafka"')).toBe(2);

    kafka.down = false;
    // A client retrying after Retry-After gets through once the probe succeeded.
    for (const r of requests.slice(3)) {
      const res = await waitFor(async () => {
        const x = await post(r);
        return x.statusCode === 200 ? x : undefined;
      }, { timeoutMs: 10_000, intervalMs: 100, what: 'the circuit to close' });
      const b = res.json() as IngestResult;
      expect(b.duplicates).toBe(0); // rolled back or never reserved: not duplicates
      accepted += b.accepted;
    }
    expect(accepted).toBe(packets.length);
    expect(await metric(gw, 'iov_gateway_circuit_state', 'dependency="kafka"')).toBe(0);
    expect((await gw.app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'ready', circuits: { kafka: 'closed' } });

    // Every packet acknowledged is in the bus exactly once as its owned copy.
    const codec = enrichedPacketCodec();
    const owned = acked.map((r) => codec.decode(r.value)).filter((p) => !p.crossing).map((p) => pkey(p.vehicleId, p.seq));
    expect(owned.sort()).toEqual(packets.map((p) => pkey(p.vehicleId, p.seq)).sort());
  });

  it('Redis: refused at once while open, recovers when Redis answers again', async () => {
    const packets = fleet({ vehicles: 3, steps: 8, t0: Date.now() - 100_000, seed: 4, prefix: 'cr' });
    const [a, b, c] = chunk(packets, 8);
    expect((await post(a!)).statusCode).toBe(200);
    redis.down = true;
    const down = await post(b!);
    expect(down.statusCode).toBe(503);
    expect((down.json() as { message: string }).message).toMatch(/^vehicle state \(Redis\) is unavailable, nothing of this request was acknowledged: redis observe/);
    const [kCalls, rCalls] = [kafka.calls, redis.calls];
    const fast = await post(b!);
    expect((fast.json() as { message: string }).message).toMatch(/^vehicle state \(Redis\) is unavailable, nothing of this request was acknowledged: circuit open, next attempt in \d+ ms$/);
    expect([kafka.calls, redis.calls]).toEqual([kCalls, rCalls]);
    expect(await metric(gw, 'iov_gateway_circuit_fast_fail_total', 'dependency="redis"')).toBe(1);
    expect((await gw.app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'unavailable', kafka: 'ok', circuits: { redis: 'open' } });
    redis.down = false;
    for (const batch of [b!, c!]) {
      const res = await waitFor(async () => {
        const x = await post(batch);
        return x.statusCode === 200 ? x : undefined;
      }, { timeoutMs: 10_000, intervalMs: 100, what: 'Redis circuit to close' });
      expect(res.json()).toMatchObject({ accepted: batch.length, duplicates: 0 });
    }
  });

  it('breaker off: every request tries the dependency', async () => {
    const sw: Switch = { down: true, calls: 0 };
    const g = createGateway({ topology: privateTopology(), bus: flakyBus(createMemoryBus(), sw, []), state: createMemoryState(), logger: pino({ level: 'silent' }), config: { rateLimit: null, breaker: null } });
    const batch = fleet({ vehicles: 1, steps: 2, t0: Date.now() - 10_000, prefix: 'off' });
    for (let i = 0; i < 3; i++) expect((await g.ingest(batch).catch((e: { code: string }) => e.code))).toBe('UNAVAILABLE');
    expect(sw.calls).toBe(3);
    await g.close();
  });
});
