// Keeps the error catalogue (src/gateway/errors.ts) and docs/gateway.md in step: every code
// documented with its status, nothing documented that does not exist (fastify
// test/internals/errors.test.js style).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError, PACKET_ERRORS, REQUEST_ERRORS } from '../../src/gateway/index.ts';

const doc = readFileSync(new URL('../../docs/gateway.md', import.meta.url), 'utf8');
const section = doc.slice(doc.indexOf('## Error codes'));
const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| (\d{3}|—) \|/gm)].map((m) => [m[1]!, m[2]!] as const);

describe('gateway error catalogue', () => {
  it('documents every packet code, and only those', () => {
    const documented = rows.filter(([, s]) => s === '—').map(([c]) => c);
    expect(documented.sort()).toEqual(Object.keys(PACKET_ERRORS).sort());
  });

  it('documents every request code with its HTTP status, and only those', () => {
    const documented = Object.fromEntries(rows.filter(([, s]) => s !== '—').map(([c, s]) => [c, Number(s)]));
    expect(documented).toEqual(Object.fromEntries(Object.entries(REQUEST_ERRORS).map(([c, e]) => [c, e.status])));
  });

  it('codes are unique across both tables and shaped UPPER_SNAKE', () => {
    const all = [...Object.keys(PACKET_ERRORS), ...Object.keys(REQUEST_ERRORS)];
    expect(new Set(all).size).toBe(all.length);
    for (const c of all) expect(c).toMatch(/^[A-Z][A-Z_]+$/);
  });

  it('GatewayError fills its template and carries status, code and retry hint', () => {
    const e = new GatewayError('RATE_LIMITED', [5, 10, 'gw1'], 2);
    expect([e.code, e.statusCode, e.message, e.retryAfterSec, e.retriable]).toEqual(['RATE_LIMITED', 429, 'rate limit of 5 requests/s (burst 10) exceeded for gateway "gw1"', 2, true]);
    expect(new GatewayError('FORBIDDEN').retriable).toBe(false);
  });
});
