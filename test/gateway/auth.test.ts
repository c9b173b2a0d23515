// API keys (401/403, constant-time compare), the per-key token bucket (429 + Retry-After),
// option validation and the environment reader.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Bus } from '../../src/bus/index.ts';
import {
  createGateway, gatewayConfigFromEnv, GatewayConfigError, resolveConfig, type Gateway,
} from '../../src/gateway/index.ts';
import type { VehicleState } from '../../src/state/index.ts';
import { segmentTopicSpecs, type Topology } from '../../src/topology/index.ts';
import { infra, testBus, testState } from '../helpers/index.ts';
import { privateTopology, readAll, topics } from './helpers.ts';

describe('gateway auth and rate limit (real Redis + Kafka)', () => {
  let topo: Topology;
  let bus: Bus;
  let state: VehicleState;
  let gw: Gateway;
  let clock = Date.now();
  const packet = (id: string, seq: number) => ({ vehicleId: id, seq, ts: clock - 1000, lat: 31.2, lng: 121.4 });
  const post = (headers: Record<string, string>, id = 'auth-1', seq = 1) =>
    gw.app.inject({ method: 'POST', url: '/v1/packets', headers: { 'content-type': 'application/json', ...headers }, payload: [packet(id, seq)] });

  beforeAll(async () => {
    topo = privateTopology();
    bus = testBus();
    state = testState();
    await bus.ensureTopics(segmentTopicSpecs(topo));
    gw = createGateway({
      topology: topo, bus, state, now: () => clock, logger: pino({ level: 'silent' }),
      config: { apiKeys: { 'gw-a': 'secret-aaaa', 'gw-b': 'secret-bbbb' }, rateLimit: { requestsPerSec: 2, burst: 3 } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await bus?.close();
    await state?.close();
  });

  it('401 without a key, 403 with a wrong one, nothing produced; health endpoints need no key', async () => {
    const none = await post({});
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="iov-gateway"');
    expect(none.json()).toEqual({ statusCode: 401, code: 'UNAUTHORIZED', message: 'missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"' });
    const tries: Record<string, string>[] = [{ authorization: 'Bearer secret-aaab' }, { 'x-api-key': 'secret-aaaa ' + 'x' }, { authorization: 'Basic secret-aaaa' }];
    for (const headers of tries) {
      const res = await post(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(headers.authorization === 'Basic secret-aaaa' ? 401 : 403);
    }
    const wrong = await post({ 'x-api-key': 'nope' });
    expect(wrong.json()).toEqual({ statusCode: 403, code: 'FORBIDDEN', message: 'API key not recognised' });
    expect((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await gw.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready', kafka: 'ok', redis: 'ok', circuits: { kafka: 'closed', redis: 'closed' } });
    expect(await gw.metrics.metrics()).toContain('iov_gateway_requests_total{status="403",code="FORBIDDEN"} 3');
  });

  it('each key stamps its own gatewayId (Bearer or x-api-key)', async () => {
    clock += 10_000; // full buckets
    expect((await post({ authorization: 'Bearer secret-aaaa' }, 'auth-a', 1)).statusCode).toBe(200);
    expect((await post({ 'x-api-key': 'secret-bbbb' }, 'auth-b', 1)).statusCode).toBe(200);
    const msgs = await readAll(infra().kafka!.brokers, topics(topo), 2);
    expect(msgs.map((m) => [m.packet.vehicleId, m.packet.gatewayId]).sort()).toEqual([['auth-a', 'gw-a'], ['auth-b', 'gw-b']]);
  });

  it('token bucket per key: burst, then 429 with Retry-After, refill with time; keys are independent', async () => {
    clock += 10_000;
    const a = { authorization: 'Bearer secret-aaaa' };
    for (let i = 0; i < 3; i++) expect((await post(a, 'rl-a', 10 + i)).statusCode).toBe(200);
    const limited = await post(a, 'rl-a', 20);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json()).toEqual({ statusCode: 429, code: 'RATE_LIMITED', message: 'rate limit of 2 requests/s (burst 3) exceeded for gateway "gw-a"' });
    // The other key still has its whole burst.
    expect((await post({ 'x-api-key': 'secret-bbbb' }, 'rl-b', 1)).statusCode).toBe(200);
    clock += 499; // 0.998 tokens: still limited
    expect((await post(a, 'rl-a', 20)).statusCode).toBe(429);
    clock += 2; // one token
    expect((await post(a, 'rl-a', 20)).statusCode).toBe(200);
    expect((await post(a, 'rl-a', 21)).statusCode).toBe(429);
  });
});

describe('gateway options', () => {
  it.each([
    [{ maxBodyBytes: 0 }, 'config.maxBodyBytes must be a positive integer, got 0'],
    [{ maxPacketsPerRequest: 1.5 }, 'config.maxPacketsPerRequest must be a positive integer, got 1.5'],
    [{ dedupHorizonMs: -1 }, 'config.dedupHorizonMs must be a positive integer, got -1'],
    [{ maxInFlightBytes: Number.NaN }, 'config.maxInFlightBytes must be a positive integer, got NaN'],
    [{ maxConcurrentProduces: 0 }, 'config.maxConcurrentProduces must be a positive integer, got 0'],
    [{ lingerMs: -5 }, 'config.lingerMs must be a non-negative integer, got -5'],
    [{ rateLimit: { requestsPerSec: 0, burst: 1 } }, 'config.rateLimit.requestsPerSec must be a positive number'],
    [{ rateLimit: { requestsPerSec: 1, burst: 0 } }, 'config.rateLimit.burst must be a positive integer, got 0'],
    [{ apiKeys: { 'bad id': 'secret-xxxx' } }, 'config.apiKeys: gateway id "bad id" must be 1-64 characters of [A-Za-z0-9_.-]'],
    [{ apiKeys: { gw: 'short' } }, 'config.apiKeys.gw must be a secret of at least 8 characters'],
    [{ apiKeys: { a: 'same-secret', b: 'same-secret' } }, "config.apiKeys.b reuses another gateway's secret"],
  ])('%j is refused', (partial, message) => {
    expect(() => resolveConfig(partial as never)).toThrow(new GatewayConfigError(message));
  });

  it('reads keys and limits from the environment', () => {
    expect(gatewayConfigFromEnv({ IOV_API_KEYS: 'gw1:secret-one,gw2:secret:two', IOV_GATEWAY_MAX_PACKETS: '500', IOV_GATEWAY_RATE: '50:100' })).toEqual({
      apiKeys: { gw1: 'secret-one', gw2: 'secret:two' }, maxPacketsPerRequest: 500, rateLimit: { requestsPerSec: 50, burst: 100 },
    });
    expect(gatewayConfigFromEnv({ IOV_GATEWAY_RATE: 'off' })).toEqual({ rateLimit: null });
    expect(() => gatewayConfigFromEnv({ IOV_API_KEYS: 'gw1' })).toThrow('IOV_API_KEYS: entry "gw1" must be <gatewayId>:<secret>');
    expect(() => gatewayConfigFromEnv({ IOV_API_KEYS: 'gw1:a,gw1:b' })).toThrow('IOV_API_KEYS: gateway id "gw1" appears twice');
    expect(() => gatewayConfigFromEnv({ IOV_GATEWAY_MAX_BODY_BYTES: '1e6' })).toThrow('IOV_GATEWAY_MAX_BODY_BYTES must be a non-negative integer, got "1e6"');
  });
});
