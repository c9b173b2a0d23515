// The gateway's errors carry status, code and retry hint; test/errors.test.ts keeps the
// catalogue and docs/gateway.md in step.
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/gateway/index.ts';

describe('gateway error catalogue', () => {
  it('GatewayError fills its template and carries status, code and retry hint', () => {
    const e = new GatewayError('RATE_LIMITED', [5, 10, 'gw1'], 2);
    expect([e.code, e.statusCode, e.message, e.retryAfterSec, e.retriable]).toEqual(['RATE_LIMITED', 429, 'rate limit of 5 requests/s (burst 10) exceeded for gateway "gw1"', 2, true]);
    expect(new GatewayError('FORBIDDEN').retriable).toBe(false);
  });
});
