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
  /** Same (vehicleId, dedupKey) seen within the horizon: acknowledge, do not produce again. */
  duplicate: boolean;
  /** The vehicle's state just before this observation (after earlier ones in the same call). */
  prev: VehicleRecord | undefined;
  /** Whether this observation moved the state (false for out-of-order and duplicates). */
  advanced: boolean;
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
   * Undo an observe() whose packets could not be written (Kafka refused): releases the dedup
   * reservations and restores prior state where the state still is what this call set.
   * One round trip.
   */
  rollback(obs: Observation[], results: ObserveResult[]): Promise<void>;
  /**
   * rollback(obs, results) as a function to call later (at most once), taken right after
   * observe(): the caller may drop obs and results meanwhile. The Redis adapter keeps only
   * the call's request and reply bytes (off the JS heap), so a gateway request waiting for
   * Kafka holds no per-packet objects for its rollback.
   */
  undoer(obs: Observation[], results: ObserveResult[]): () => Promise<void>;
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
