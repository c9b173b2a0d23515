// Circuit breaker for one dependency (Kafka or Redis). After a failure classified as
// unavailability it opens for a cool-down (base, doubling per failed probe up to max):
// while open, requests are refused at once (503 UNAVAILABLE, Retry-After = remaining
// cool-down) instead of each waiting for the dependency's timeout. When the cool-down has
// passed, ONE request is let through as the probe (half-open); its success closes the
// circuit, its failure re-opens it with the doubled cool-down. Outcomes of requests that
// started before the circuit opened are ignored while it is open (they say nothing new).
//
// The breaker is checked before the state round trip, so a refused request touches no state
// and needs no rollback.

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface BreakerConfig {
  /** First cool-down after the circuit opens, ms. */
  baseCooldownMs: number;
  /** Cool-down cap, ms (doubling stops there). */
  maxCooldownMs: number;
}

/** A pass through the breaker: report how the dependency answered, or release it unused. */
export interface BreakerTicket {
  /** The dependency answered. */
  success(): void;
  /** The dependency failed with an error classified as unavailability. */
  failure(err: unknown): void;
  /** The request ended without an answer from the dependency that says anything (not used, other error). */
  release(): void;
}

export type BreakerDecision = { ok: true; ticket: BreakerTicket } | { ok: false; retryAfterMs: number; reason: string };

export interface Breaker {
  readonly name: string;
  /** Ask to use the dependency now. */
  enter(): BreakerDecision;
  state(): CircuitState;
  /** ms until the next probe is allowed (0 when closed or when a probe may go now). */
  remainingMs(): number;
  /** Message of the failure that opened the circuit ('' when closed). */
  lastError(): string;
}

const NOOP_TICKET: BreakerTicket = { success() {}, failure() {}, release() {} };

export function createBreaker(name: string, cfg: BreakerConfig, opts: { clock?: () => number; onChange?: (s: CircuitState) => void } = {}): Breaker {
  const clock = opts.clock ?? (() => performance.now());
  let st: CircuitState = 'closed';
  let cooldown = cfg.baseCooldownMs;
  let openUntil = 0;
  let probing = false;
  let last = '';

  const set = (s: CircuitState) => {
    if (s === st) return;
    st = s;
    opts.onChange?.(s);
  };
  const open = (err: unknown) => {
    last = (err as Error)?.message ?? String(err);
    openUntil = clock() + cooldown;
    set('open');
  };

  // Requests admitted while closed: a failure opens the circuit (first time only).
  const closedTicket: BreakerTicket = {
    success() {},
    failure(err) {
      if (st === 'closed') {
        cooldown = cfg.baseCooldownMs;
        open(err);
      }
    },
    release() {},
  };

  const probeTicket = (): BreakerTicket => {
    let done = false;
    const end = () => {
      const was = done;
      done = true;
      probing = false;
      return !was;
    };
    return {
      success() {
        if (!end()) return;
        cooldown = cfg.baseCooldownMs;
        last = '';
        set('closed');
      },
      failure(err) {
        if (!end()) return;
        cooldown = Math.min(cfg.maxCooldownMs, cooldown * 2);
        open(err);
      },
      release() {
        // No verdict: stay half-open, the next request probes.
        end();
      },
    };
  };

  return {
    name,
    enter() {
      if (st === 'closed') return { ok: true, ticket: closedTicket };
      const now = clock();
      if (st === 'open' && now < openUntil) return { ok: false, retryAfterMs: openUntil - now, reason: last };
      // Cool-down over: one probe at a time.
      set('half-open');
      if (probing) return { ok: false, retryAfterMs: Math.min(cooldown, cfg.baseCooldownMs), reason: `${last} (a probe request is in flight)` };
      probing = true;
      return { ok: true, ticket: probeTicket() };
    },
    state() {
      if (st === 'open' && clock() >= openUntil) return 'half-open';
      return st;
    },
    remainingMs() {
      return st === 'open' ? Math.max(0, openUntil - clock()) : 0;
    },
    lastError() {
      return last;
    },
  };
}

/** A breaker that never opens (breaker disabled). */
export function noBreaker(name: string): Breaker {
  return {
    name,
    enter: () => ({ ok: true, ticket: NOOP_TICKET }),
    state: () => 'closed',
    remainingMs: () => 0,
    lastError: () => '',
  };
}

/** Kafka errors that mean "not reachable now" (not a refused or invalid record). */
export function isKafkaUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'BUS_UNAVAILABLE' || code === 'BUS_TIMEOUT';
}

/** State errors that mean "not reachable now": every StateError is. */
export function isStateUnavailable(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 'STATE_UNAVAILABLE';
}
