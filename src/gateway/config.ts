// Gateway options: defaults, fail-fast validation (piscina option-validation style) and the
// environment reader. Every limit that protects the process is configurable.
import type { BreakerConfig } from './breaker.ts';

export interface RateLimitConfig {
  /** Sustained requests per second per API key (token refill rate). */
  requestsPerSec: number;
  /** Bucket size: requests a key may send at once after being idle. */
  burst: number;
}

export interface GatewayConfig {
  /** gatewayId -> secret. Empty = authentication disabled (loopback/embedded only; see docs). */
  apiKeys: Record<string, string>;
  /** Gateway id stamped on packets when auth is off and the caller names none. */
  defaultGatewayId: string;
  maxBodyBytes: number;
  maxPacketsPerRequest: number;
  /** Duplicate (vehicleId + seq, or + ts) window, ms. */
  dedupHorizonMs: number;
  /** Vehicle state kept this long after its last packet, ms (0 = forever). */
  stateTtlMs: number;
  /** Packets whose ts is further ahead of the gateway clock are rejected (TS_IN_FUTURE). */
  maxFutureSkewMs: number;
  /** Packets whose ts is further behind the gateway clock are rejected (TS_TOO_OLD). */
  maxAgeMs: number;
  /** null = no rate limit. */
  rateLimit: RateLimitConfig | null;
  /** Bound on encoded bytes queued for or waiting on Kafka; beyond it requests get 503 OVERLOADED. */
  maxInFlightBytes: number;
  /** Records per produce call at most (a request is never split across calls). */
  maxBatchRecords: number;
  /** Produce calls in flight at once. 1 keeps every vehicle's packets in request order. */
  maxConcurrentProduces: number;
  /** Wait this long for more requests before producing (0 = next turn of the event loop). */
  lingerMs: number;
  /** Retry-After (s) on 503 answers. */
  retryAfterSec: number;
  /** Timeout of each readiness probe (Kafka metadata, Redis PING), ms. */
  readyTimeoutMs: number;
  /** Extra fields per packet at most, and characters per extra value at most. */
  maxExtraFields: number;
  maxExtraValueChars: number;
  /**
   * Circuit breaker per dependency (Kafka, Redis): open for baseCooldownMs after an
   * unavailability failure, doubling per failed probe up to maxCooldownMs; null = off.
   */
  breaker: BreakerConfig | null;
}

export const DEFAULT_CONFIG: GatewayConfig = {
  apiKeys: {},
  defaultGatewayId: 'anonymous',
  maxBodyBytes: 4 * 1024 * 1024,
  maxPacketsPerRequest: 10_000,
  dedupHorizonMs: 10 * 60_000,
  stateTtlMs: 24 * 3_600_000,
  maxFutureSkewMs: 5 * 60_000,
  maxAgeMs: 7 * 24 * 3_600_000,
  rateLimit: { requestsPerSec: 200, burst: 400 },
  maxInFlightBytes: 64 * 1024 * 1024,
  maxBatchRecords: 5_000,
  maxConcurrentProduces: 1,
  lingerMs: 0,
  retryAfterSec: 1,
  readyTimeoutMs: 1_500,
  maxExtraFields: 32,
  maxExtraValueChars: 256,
  breaker: { baseCooldownMs: 1_000, maxCooldownMs: 10_000 },
};

export class GatewayConfigError extends Error {
  readonly code = 'GATEWAY_CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'GatewayConfigError';
  }
}

const GATEWAY_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;

function posInt(v: unknown, name: string, allowZero = false): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (allowZero ? 0 : 1)) {
    throw new GatewayConfigError(`config.${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(v)}`);
  }
}

/** Merge over the defaults and check every option; throws GatewayConfigError naming the bad one. */
export function resolveConfig(partial: Partial<GatewayConfig> = {}): GatewayConfig {
  const c: GatewayConfig = { ...DEFAULT_CONFIG, ...partial };
  if (partial.rateLimit === undefined) c.rateLimit = DEFAULT_CONFIG.rateLimit;
  if (partial.breaker === undefined) c.breaker = DEFAULT_CONFIG.breaker;
  if (c.apiKeys === null || typeof c.apiKeys !== 'object') throw new GatewayConfigError('config.apiKeys must be an object of gatewayId -> secret');
  const secrets = new Set<string>();
  for (const [id, secret] of Object.entries(c.apiKeys)) {
    if (!GATEWAY_ID_RE.test(id)) throw new GatewayConfigError(`config.apiKeys: gateway id ${JSON.stringify(id)} must be 1-64 characters of [A-Za-z0-9_.-]`);
    if (typeof secret !== 'string' || secret.length < 8) throw new GatewayConfigError(`config.apiKeys.${id} must be a secret of at least 8 characters`);
    if (secrets.has(secret)) throw new GatewayConfigError(`config.apiKeys.${id} reuses another gateway's secret`);
    secrets.add(secret);
  }
  if (!GATEWAY_ID_RE.test(c.defaultGatewayId)) throw new GatewayConfigError('config.defaultGatewayId must be 1-64 characters of [A-Za-z0-9_.-]');
  posInt(c.maxBodyBytes, 'maxBodyBytes');
  posInt(c.maxPacketsPerRequest, 'maxPacketsPerRequest');
  posInt(c.dedupHorizonMs, 'dedupHorizonMs');
  posInt(c.stateTtlMs, 'stateTtlMs', true);
  posInt(c.maxFutureSkewMs, 'maxFutureSkewMs', true);
  posInt(c.maxAgeMs, 'maxAgeMs');
  posInt(c.maxInFlightBytes, 'maxInFlightBytes');
  posInt(c.maxBatchRecords, 'maxBatchRecords');
  posInt(c.maxConcurrentProduces, 'maxConcurrentProduces');
  posInt(c.lingerMs, 'lingerMs', true);
  posInt(c.retryAfterSec, 'retryAfterSec');
  posInt(c.readyTimeoutMs, 'readyTimeoutMs');
  posInt(c.maxExtraFields, 'maxExtraFields', true);
  posInt(c.maxExtraValueChars, 'maxExtraValueChars');
  if (c.rateLimit !== null) {
    const r = c.rateLimit;
    if (typeof r !== 'object' || typeof r.requestsPerSec !== 'number' || !(r.requestsPerSec > 0) || !Number.isFinite(r.requestsPerSec)) {
      throw new GatewayConfigError('config.rateLimit.requestsPerSec must be a positive number');
    }
    posInt(r.burst, 'rateLimit.burst');
  }
  if (c.breaker !== null) {
    if (typeof c.breaker !== 'object') throw new GatewayConfigError('config.breaker must be { baseCooldownMs, maxCooldownMs } or null');
    posInt(c.breaker.baseCooldownMs, 'breaker.baseCooldownMs');
    posInt(c.breaker.maxCooldownMs, 'breaker.maxCooldownMs');
    if (c.breaker.maxCooldownMs < c.breaker.baseCooldownMs) throw new GatewayConfigError('config.breaker.maxCooldownMs must be >= breaker.baseCooldownMs');
  }
  return c;
}

/** "gw1:secret1,gw2:secret2" -> { gw1: 'secret1', gw2: 'secret2' }. */
export function parseApiKeys(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf(':');
    if (i <= 0 || i === part.length - 1) throw new GatewayConfigError(`IOV_API_KEYS: entry ${JSON.stringify(part.replace(/:.*/, ':…'))} must be <gatewayId>:<secret>`);
    const id = part.slice(0, i);
    if (Object.hasOwn(out, id)) throw new GatewayConfigError(`IOV_API_KEYS: gateway id "${id}" appears twice`);
    out[id] = part.slice(i + 1);
  }
  return out;
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new GatewayConfigError(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

/**
 * Options from the environment (all optional):
 *   IOV_API_KEYS="gw1:secret1,gw2:secret2"
 *   IOV_GATEWAY_MAX_BODY_BYTES, IOV_GATEWAY_MAX_PACKETS, IOV_GATEWAY_DEDUP_HORIZON_MS,
 *   IOV_GATEWAY_MAX_INFLIGHT_BYTES, IOV_GATEWAY_RATE="<requests/s>:<burst>" or "off",
 *   IOV_GATEWAY_BREAKER="<baseCooldownMs>:<maxCooldownMs>" or "off".
 */
export function gatewayConfigFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<GatewayConfig> {
  const out: Partial<GatewayConfig> = {};
  if (env.IOV_API_KEYS) out.apiKeys = parseApiKeys(env.IOV_API_KEYS);
  const map: [string, keyof GatewayConfig][] = [
    ['IOV_GATEWAY_MAX_BODY_BYTES', 'maxBodyBytes'],
    ['IOV_GATEWAY_MAX_PACKETS', 'maxPacketsPerRequest'],
    ['IOV_GATEWAY_DEDUP_HORIZON_MS', 'dedupHorizonMs'],
    ['IOV_GATEWAY_MAX_INFLIGHT_BYTES', 'maxInFlightBytes'],
  ];
  for (const [name, key] of map) {
    const v = envInt(env, name);
    if (v !== undefined) (out as Record<string, unknown>)[key] = v;
  }
  const br = env.IOV_GATEWAY_BREAKER;
  if (br) {
    if (br === 'off') out.breaker = null;
    else {
      const m = /^(\d+):(\d+)$/.exec(br);
      if (!m) throw new GatewayConfigError(`IOV_GATEWAY_BREAKER must be "<baseCooldownMs>:<maxCooldownMs>" or "off", got ${JSON.stringify(br)}`);
      out.breaker = { baseCooldownMs: Number(m[1]), maxCooldownMs: Number(m[2]) };
    }
  }
  const rate = env.IOV_GATEWAY_RATE;
  if (rate) {
    if (rate === 'off') out.rateLimit = null;
    else {
      const m = /^(\d+(?:\.\d+)?):(\d+)$/.exec(rate);
      if (!m) throw new GatewayConfigError(`IOV_GATEWAY_RATE must be "<requests/s>:<burst>" or "off", got ${JSON.stringify(rate)}`);
      out.rateLimit = { requestsPerSec: Number(m[1]), burst: Number(m[2]) };
    }
  }
  return out;
}
