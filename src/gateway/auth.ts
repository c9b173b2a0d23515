// API keys and the per-key token bucket.
// Keys are compared in constant time: the presented key and every configured secret are
// hashed to SHA-256 (equal lengths, so timingSafeEqual applies and a key's length does not
// leak) and the presented hash is compared with EVERY configured hash, without early exit.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RateLimitConfig } from './config.ts';

export type AuthResult = { ok: true; gatewayId: string } | { ok: false; code: 'UNAUTHORIZED' | 'FORBIDDEN' };

export interface Authenticator {
  readonly enabled: boolean;
  /** `presented` = the key from the request, undefined when the request carries none. */
  authenticate(presented: string | undefined): AuthResult;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function createAuthenticator(apiKeys: Record<string, string>, defaultGatewayId: string): Authenticator {
  const entries = Object.entries(apiKeys).map(([id, secret]) => ({ id, hash: sha256(secret) }));
  if (entries.length === 0) {
    return { enabled: false, authenticate: () => ({ ok: true, gatewayId: defaultGatewayId }) };
  }
  return {
    enabled: true,
    authenticate(presented) {
      if (presented === undefined || presented === '') return { ok: false, code: 'UNAUTHORIZED' };
      const h = sha256(presented);
      let found: string | undefined;
      for (const e of entries) if (timingSafeEqual(h, e.hash) && found === undefined) found = e.id;
      return found === undefined ? { ok: false, code: 'FORBIDDEN' } : { ok: true, gatewayId: found };
    },
  };
}

/** `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const k = headers['x-api-key'];
  if (typeof k === 'string') return k.trim();
  return undefined;
}

export interface RateLimiter {
  /** Take one token for `key`; returns 0 when allowed, else the seconds to wait (≥ 1). */
  take(key: string, nowMs: number): number;
}

/** Token bucket per key: refills at requestsPerSec, holds at most burst tokens. */
export function createRateLimiter(cfg: RateLimitConfig): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const perMs = cfg.requestsPerSec / 1000;
  return {
    take(key, now) {
      let b = buckets.get(key);
      if (!b) buckets.set(key, (b = { tokens: cfg.burst, at: now }));
      else {
        b.tokens = Math.min(cfg.burst, b.tokens + (now - b.at) * perMs);
        b.at = now;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
    },
  };
}
