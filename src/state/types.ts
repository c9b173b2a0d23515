// Vehicle state seam: Redis in local/production mode, in-memory in embedded mode. Both pass
// test/contract/state.contract.ts.

export interface VehicleRecord {
  segment: string;
  /** Event time of the newest packet seen, epoch ms. */
  ts: number;
  lat: number;
  lng: number;
}

export interface Observation {
  vehicleId: string;
  /** Dedup identity within the vehicle: `s<seq>` or `t<ts>` when seq is absent. */
  dedupKey: string;
  ts: number;
  segment: string;
  lat: number;
  lng: number;
}

export interface ObserveResult {
  /**
   * Same (vehicleId, dedupKey) committed within the horizon (or earlier in the same call):
   * acknowledge, do not produce again.
   */
  duplicate: boolean;
  /** The vehicle's state just before this observation (after earlier ones in the same call). */
  prev: VehicleRecord | undefined;
  /** Whether this observation moved the state (false for out-of-order and duplicates). */
  advanced: boolean;
  /**
   * The key held a live reservation that no call committed (an attempt still in flight on
   * another gateway, failed, or cut off by a crash): this call took it over. Not a duplicate.
   */
  tookOver: boolean;
}

/**
 * What to do with one observe() call once its packets' fate is known: taken right after
 * observe(), so the caller may drop the observations and results meanwhile. Call one of the
 * two, once.
 */
export interface Settlement {
  /**
   * Every record of the call was acknowledged: its dedup reservations become binding, so a
   * later observation of the same key is a duplicate. Until then a reservation only marks
   * the key as in flight, and another call may take it over.
   */
  commit(): Promise<void>;
  /**
   * The records could not be written (or their fate is unknown): release the call's dedup
   * reservations that are still its own, and restore the vehicle's state where the state
   * is still what this call wrote (compare-and-set on the writer; see docs/gateway.md).
   */
  rollback(): Promise<void>;
}

export interface ObserveOptions {
  /** How long a dedup key is remembered, ms. */
  dedupHorizonMs: number;
  /** How long a vehicle's state is kept after its last packet, ms (0 = forever). */
  stateTtlMs?: number;
}

export interface VehicleState {
  /**
   * One round trip for the whole list, applied atomically and in order: per observation,
   * check-and-reserve its dedup key, read the prior state, and advance the state when the
   * observation is not older than it (out-of-order packets never move state back).
   */
  observe(obs: Observation[], opts: ObserveOptions): Promise<ObserveResult[]>;
  /**
   * The settlement of the observe() call that returned `results` (one round trip each way).
   * The Redis adapter keeps only the call's request and reply bytes (off the JS heap), so a
   * gateway request waiting for Kafka holds no per-packet objects for it.
   */
  settle(obs: Observation[], results: ObserveResult[]): Settlement;
  get(vehicleIds: string[]): Promise<(VehicleRecord | undefined)[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class StateError extends Error {
  readonly code = 'STATE_UNAVAILABLE';
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateError';
  }
}
