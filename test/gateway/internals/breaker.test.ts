// The circuit breaker's state machine on an injected clock: open on failure, fast refusals
// with the remaining cool-down, one probe when it has passed, doubling up to the cap,
// closing on a successful probe, stale outcomes ignored.
import { describe, expect, it } from 'vitest';
import { createBreaker, isKafkaUnavailable, isStateUnavailable, type BreakerDecision } from '../../../src/gateway/breaker.ts';

const admitted = (d: BreakerDecision) => {
  if (!d.ok) throw new Error(`refused: ${d.reason}`);
  return d.ticket;
};

describe('circuit breaker', () => {
  it('opens on failure, refuses with the remaining cool-down, probes once, doubles, closes on success', () => {
    let t = 1_000;
    const changes: string[] = [];
    const b = createBreaker('kafka', { baseCooldownMs: 100, maxCooldownMs: 350 }, { clock: () => t, onChange: (s) => changes.push(s) });
    expect(b.state()).toBe('closed');
    const a1 = admitted(b.enter());
    const a2 = admitted(b.enter()); // started before the circuit opened
    a1.failure(new Error('broker down'));
    expect(b.state()).toBe('open');
    expect(b.lastError()).toBe('broker down');
    t += 40;
    const r = b.enter();
    expect(r).toEqual({ ok: false, retryAfterMs: 60, reason: 'broker down' });
    a2.success(); // a stale success does not close an open circuit
    expect(b.state()).toBe('open');

    t += 60; // cool-down over: exactly one probe
    expect(b.state()).toBe('half-open');
    const p1 = admitted(b.enter());
    const second = b.enter();
    expect(second.ok).toBe(false);
    p1.failure(new Error('still down'));
    expect(b.state()).toBe('open');
    expect(b.remainingMs()).toBe(200); // doubled
    t += 200;
    admitted(b.enter()).failure(new Error('down'));
    expect(b.remainingMs()).toBe(350); // capped
    t += 350;
    const p3 = admitted(b.enter());
    p3.release(); // no verdict (e.g. every packet a duplicate): the next request probes
    const p4 = admitted(b.enter());
    p4.success();
    p4.failure(new Error('late')); // a ticket reports once
    expect(b.state()).toBe('closed');
    expect(b.lastError()).toBe('');
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'open', 'half-open', 'closed']);

    // Back to the base cool-down after closing.
    admitted(b.enter()).failure(new Error('again'));
    expect(b.remainingMs()).toBe(100);
  });

  it('classifies unavailability by error code', () => {
    expect(isKafkaUnavailable({ code: 'BUS_UNAVAILABLE' })).toBe(true);
    expect(isKafkaUnavailable({ code: 'BUS_TIMEOUT' })).toBe(true);
    expect(isKafkaUnavailable({ code: 'BUS_INVALID' })).toBe(false);
    expect(isKafkaUnavailable(new Error('x'))).toBe(false);
    expect(isStateUnavailable({ code: 'STATE_UNAVAILABLE' })).toBe(true);
    expect(isStateUnavailable(undefined)).toBe(false);
  });
});
