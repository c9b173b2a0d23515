// The ingest core (DESIGN.md §3), shared by the HTTP route and the embedded demo:
//   validate -> route (H3 -> segment) -> ONE state round trip for the whole request
//   -> enrich + encode (+ crossing copy) -> micro-batched produce (acks = all) -> result.
// Nothing is acknowledged before Kafka acknowledged it. Then the request's state call is
// committed (its dedup reservations bind); if the produce fails, it is rolled back (compare-
// and-set), so a retry of the same packets is not taken for a duplicate. Requests that share
// a vehicle run one after the other in one process; across gateway processes the Redis
// script decides (docs/gateway.md, "Several gateways").
import type { Logger } from 'pino';
import type { Bus, ProduceRecord } from '../bus/index.ts';
import { latLngToCell } from 'h3-js';
import type { ObserveResult, Settlement, VehicleState } from '../state/index.ts';
import { createSegmentLookup, segmentTopic, type Topology } from '../topology/index.ts';
import { createBatcher, OverloadError } from './batcher.ts';
import { createBreaker, isKafkaUnavailable, isStateUnavailable, noBreaker, type Breaker, type BreakerTicket, type CircuitState } from './breaker.ts';
import type { GatewayConfig } from './config.ts';
import { GatewayError, kindOf, packetError, show, type PacketRejection } from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import { createPacketEncoder } from './encode.ts';
import { compileValidator, type IngestPacket } from './validate.ts';

export interface IngestResult {
  /** Packets produced with their owned copy acknowledged by Kafka (duplicates excluded). */
  accepted: number;
  /** Packets seen before within the dedup horizon: acknowledged, not produced again. */
  duplicates: number;
  rejected: PacketRejection[];
  /** Accepted packets that crossed a segment boundary (also written to the old segment). */
  crossings: number;
  /** Kafka messages written, crossing copies included (= accepted + crossings). */
  produced: number;
}

export interface IngestContext {
  gatewayId?: string;
  /**
   * Filled with each item's outcome (OUTCOME; index = the item's position) when given, of at
   * least items.length: what a caller that merged several messages into one call (MQTT)
   * needs to answer each message. Written afresh by every call.
   */
  outcomes?: Uint8Array;
}

/** Per-item outcomes written into IngestContext.outcomes. */
export const OUTCOME = { REJECTED: 0, ACCEPTED: 1, CROSSING: 2, DUPLICATE: 3 } as const;

/** An NDJSON line that did not parse: rejected alone with MALFORMED_LINE. */
export class MalformedLine {
  constructor(readonly reason: string) {}
}

export interface IngestCore {
  ingest(items: unknown[], ctx?: IngestContext): Promise<IngestResult>;
  /** Bytes queued for or waiting on Kafka. */
  outstandingBytes(): number;
  /** Circuit breakers of the two dependencies (readiness, metrics). */
  breakers: { kafka: Breaker; redis: Breaker };
  drain(): Promise<void>;
}

export interface IngestDeps {
  topology: Topology;
  bus: Bus;
  /** Produce through this instead of bus.produce (the threaded producer), when set. */
  producer?: Pick<Bus, 'produce'>;
  state: VehicleState;
  config: GatewayConfig;
  metrics: GatewayMetrics;
  logger: Logger;
  now: () => number;
  /** Schema id written in every message (the registry's, docs/schemas.md); default the fixed one. */
  schemaId?: number;
}

/** A request after validation and routing. */
interface Screened {
  /** Valid packets in the area, in request order (emptied once encoded). */
  good: IngestPacket[];
  rejected: PacketRejection[];
  /** Gateway clock at arrival (ingestTs). */
  t: number;
  gatewayId: string;
  /** With IngestContext.outcomes: the item index of each good packet, and the outcomes. */
  at?: Int32Array;
  outcomes?: Uint8Array;
}

interface Encoded {
  /** Emptied once handed to the batcher. */
  records: ProduceRecord[];
  bytes: number;
  accepted: number;
  duplicates: number;
  crossings: number;
  /** Packets whose reservation was taken over from a call that never committed. */
  takeovers: number;
  produced: number;
}

const NO_PACKETS: IngestPacket[] = [];
const NO_RECORDS: ProduceRecord[] = [];

/** Maps the per-vehicle turns are spread over (a power of two). */
const TURN_SHARDS = 64;


export function createIngest(deps: IngestDeps): IngestCore {
  const { topology, bus, state, config, metrics, logger, now } = deps;
  // Built once: H3 lookup table, Avro type, validator, topic names.
  const lookup = createSegmentLookup(topology);
  const resolution = topology.h3.resolution;
  const encode = createPacketEncoder(undefined, deps.schemaId);
  const validate = compileValidator(config);
  const topicOf = new Map<string, string>();
  for (const s of topology.segments) topicOf.set(s.id, segmentTopic(s.id));
  // vehicleId -> settles when the latest admitted request carrying that vehicle has finished
  // (acknowledged, refused or rolled back). A request waits for these before its state round
  // trip, so it never reads a state or a dedup reservation that a still-unwritten request
  // made: with a failed produce that would be a missing or spurious crossing copy, or (for a
  // client retry racing its own first attempt) a packet acknowledged as a duplicate of a
  // write that then failed, i.e. lost. Waits only point at earlier requests: no cycles.
  // Split over 64 maps by a cheap hash of the id: one map of every in-flight vehicle (~25 000
  // at 48 requests of 500 in flight) churns 500 deletions and insertions per request, and
  // each of its rehashes reallocated a table of several hundred KB straight into the old
  // generation; small maps rehash within the young generation.
  const turns = Array.from({ length: TURN_SHARDS }, () => new Map<string, Promise<void>>());
  const turnsOf = (id: string) => {
    const n = id.length;
    return turns[(n * 7 + id.charCodeAt(n - 1) * 31 + id.charCodeAt(n > 1 ? n - 2 : 0)) & (TURN_SHARDS - 1)]!;
  };
  const observeOpts = { dedupHorizonMs: config.dedupHorizonMs, stateTtlMs: config.stateTtlMs };
  const batcher = createBatcher({
    bus: deps.producer ?? bus,
    maxInFlightBytes: config.maxInFlightBytes,
    maxBatchRecords: config.maxBatchRecords,
    maxConcurrent: config.maxConcurrentProduces,
    lingerMs: config.lingerMs,
    onBatch(records, seconds, ok) {
      metrics.produceLatency.observe({ result: ok ? 'ok' : 'error' }, seconds);
      metrics.batchRecords.observe(records);
      metrics.inflightBytes.set(batcher.outstandingBytes);
    },
  });

  const STATE_VALUE: Record<CircuitState, number> = { closed: 0, open: 1, 'half-open': 2 };
  const makeBreaker = (dep: 'kafka' | 'redis') => {
    metrics.circuitState.set({ dependency: dep }, 0);
    if (!config.breaker) return noBreaker(dep);
    return createBreaker(dep, config.breaker, {
      onChange(st) {
        metrics.circuitState.set({ dependency: dep }, STATE_VALUE[st]);
        if (st === 'open') logger.warn({ dependency: dep, err: breakers[dep].lastError() }, 'gateway: circuit opened');
        else logger.info({ dependency: dep, state: st }, 'gateway: circuit state');
      },
    });
  };
  const breakers: { kafka: Breaker; redis: Breaker } = { kafka: noBreaker('kafka'), redis: noBreaker('redis') };
  breakers.kafka = makeBreaker('kafka');
  breakers.redis = makeBreaker('redis');
  const WHAT = { kafka: 'Kafka', redis: 'vehicle state (Redis)' } as const;
  // The failure that opened the circuit is in /readyz and the log, not in every refusal.
  const fastFail = (dep: 'kafka' | 'redis', retryAfterMs: number) => {
    metrics.fastFails.inc({ dependency: dep });
    return new GatewayError('UNAVAILABLE', [WHAT[dep], `circuit open, next attempt in ${Math.ceil(retryAfterMs)} ms`], Math.max(1, Math.ceil(retryAfterMs / 1000)));
  };

  const unavailable = (what: string, err: unknown) =>
    new GatewayError('UNAVAILABLE', [what, (err as Error)?.message ?? String(err)], config.retryAfterSec, { cause: err });
  const overloaded = () => new GatewayError('OVERLOADED', [config.maxInFlightBytes], config.retryAfterSec);

  // What a request holds while it waits matters: with ~50 requests of 500 packets in flight
  // for the few hundred ms of their state and Kafka round trips, everything they reference
  // survives the young generation's collections and is copied or promoted, and that was the
  // largest GC cost of the gateway. So the parsed body is dropped once validated (the
  // validator copies what it keeps), the packets and state results once encoded (the
  // commit or rollback comes from state.settle, which keeps only off-heap bytes),
  // and the records once handed to the batcher.
  function ingest(items: unknown[], ctx: IngestContext = {}): Promise<IngestResult> {
    try {
      return start(items, ctx);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  function start(items: unknown[], ctx: IngestContext): Promise<IngestResult> {
    if (!Array.isArray(items)) throw new GatewayError('INVALID_BODY', [kindOf(items)]);
    if (items.length === 0) throw new GatewayError('EMPTY_BODY');
    if (items.length > config.maxPacketsPerRequest) throw new GatewayError('TOO_MANY_PACKETS', [config.maxPacketsPerRequest]);
    // Refuse early while the producer is saturated: no state round trip for a request that
    // could not be produced anyway.
    if (batcher.outstandingBytes >= config.maxInFlightBytes) throw overloaded();
    // Circuit breakers: while a dependency is known to be down, refuse at once, before any
    // state is touched (nothing to roll back). Kafka first: Redis would be wasted work.
    const kb = breakers.kafka.enter();
    if (!kb.ok) throw fastFail('kafka', kb.retryAfterMs);
    const rb = breakers.redis.enter();
    if (!rb.ok) {
      kb.ticket.release();
      throw fastFail('redis', rb.retryAfterMs);
    }
    // No-ops for tickets that already reported; frees a probe slot that saw no verdict.
    const release = () => {
      kb.ticket.release();
      rb.ticket.release();
    };
    let req: Screened;
    try {
      req = screen(items, ctx.gatewayId ?? config.defaultGatewayId, ctx.outcomes);
    } catch (err) {
      release();
      throw err;
    }
    return admitted(req, kb.ticket, rb.ticket).finally(release);
  }

  /** Validation and routing, synchronous: the async part of a request never sees its items. */
  function screen(items: unknown[], gatewayId: string, outcomes: Uint8Array | undefined): Screened {
    const t = now();
    const rejected: PacketRejection[] = [];
    const good: IngestPacket[] = [];
    const at = outcomes ? new Int32Array(items.length) : undefined;
    outcomes?.fill(OUTCOME.REJECTED, 0, items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item instanceof MalformedLine) {
        rejected.push(packetError(i, 'MALFORMED_LINE', item.reason));
        continue;
      }
      const p = validate(item, i, t);
      if ('error' in p) {
        rejected.push(p.error);
        continue;
      }
      const cell = latLngToCell(p.lat, p.lng, resolution);
      const segment = lookup.segmentOfRoutedCell(cell);
      if (segment === undefined || !topicOf.has(segment)) {
        rejected.push(packetError(i, 'OUT_OF_AREA', show(p.lat), show(p.lng), topology.name));
        continue;
      }
      // The packet is its own Observation (vehicleId, dedupKey, ts, segment, lat, lng).
      p.cell = cell;
      p.segment = segment;
      p.ownerSegment = segment;
      if (at) at[good.length] = i;
      good.push(p);
    }
    for (const r of rejected) metrics.packetsRejected.inc({ code: r.code });
    metrics.requestPackets.observe(items.length);
    return { good, rejected, t, gatewayId, at, outcomes };
  }

  async function admitted(req: Screened, kafkaTicket: BreakerTicket, redisTicket: BreakerTicket): Promise<IngestResult> {
    if (req.good.length === 0) return { accepted: 0, duplicates: 0, rejected: req.rejected, crossings: 0, produced: 0 };

    // Take this request's turn for each of its vehicles (synchronously, so arrival order
    // decides), wait for the requests holding them before, give the turns back at the end.
    let finish!: () => void;
    const mine = new Promise<void>((resolve) => (finish = resolve));
    const before = new Set<Promise<void>>();
    const ids: string[] = new Array<string>(req.good.length);
    for (let i = 0; i < req.good.length; i++) {
      const id = req.good[i]!.vehicleId;
      ids[i] = id;
      const m = turnsOf(id);
      const held = m.get(id);
      if (held === mine) continue;
      if (held !== undefined) before.add(held);
      m.set(id, mine);
    }
    try {
      if (before.size > 0) {
        metrics.vehicleWaits.inc();
        await Promise.all(before);
      }
      return await routed(req, kafkaTicket, redisTicket);
    } finally {
      for (const id of ids) {
        const m = turnsOf(id);
        if (m.get(id) === mine) m.delete(id);
      }
      finish();
    }
  }

  async function routed(req: Screened, kafkaTicket: BreakerTicket, redisTicket: BreakerTicket): Promise<IngestResult> {
    let results: ObserveResult[] | undefined;
    const s0 = performance.now();
    try {
      results = await state.observe(req.good, observeOpts);
      metrics.stateLatency.observe({ result: 'ok' }, (performance.now() - s0) / 1000);
      redisTicket.success();
    } catch (err) {
      metrics.stateLatency.observe({ result: 'error' }, (performance.now() - s0) / 1000);
      if (isStateUnavailable(err)) redisTicket.failure(err);
      // The script may have run even though its answer was lost (timeout): its reservations
      // were never committed, so they make no duplicates of the client's retry.
      throw unavailable('vehicle state (Redis)', err);
    }

    const settlement = state.settle(req.good, results);
    const undo = () => settlement.rollback();
    let out: Encoded;
    try {
      out = toRecords(req, results);
    } catch (err) {
      // Nothing was produced: give the reservations back before answering 500.
      await undo().catch((rbErr: unknown) => logger.error({ err: rbErr }, 'gateway: state rollback failed after an encoding error'));
      throw err;
    }
    const packets = req.good.length;
    req.good = NO_PACKETS;
    results = undefined;

    if (out.records.length > 0) {
      try {
        metrics.inflightBytes.set(batcher.outstandingBytes + out.bytes);
        const sent = batcher.submit(out.records, out.bytes);
        out.records = NO_RECORDS;
        await sent;
        kafkaTicket.success();
      } catch (err) {
        if (!(err instanceof OverloadError) && isKafkaUnavailable(err)) kafkaTicket.failure(err);
        try {
          await undo();
        } catch (rbErr) {
          // Reserved dedup keys now outlive a failed write: a retry within the horizon would be
          // acknowledged as a duplicate. Loud, because it is the one way to lose a packet.
          logger.error({ err: rbErr, packets }, 'gateway: state rollback failed after a failed produce');
        }
        if (err instanceof OverloadError) throw overloaded();
        throw unavailable('Kafka', err);
      }
    }
    // Inside the vehicles' turns: the next request of this process carrying one of them
    // sees these reservations as binding.
    await commit(settlement, packets);
    metrics.dedupTakeovers.inc(out.takeovers);
    metrics.packetsAccepted.inc(out.accepted);
    metrics.duplicates.inc(out.duplicates);
    metrics.crossings.inc(out.crossings);
    metrics.produced.inc(out.produced);
    return { accepted: out.accepted, duplicates: out.duplicates, rejected: req.rejected, crossings: out.crossings, produced: out.produced };
  }

  /**
   * Make the request's reservations binding. Its records are durable already, so a failure
   * here does not fail the request: a retry of these packets is then produced once more
   * (taken over), and the segment processor's dedup keeps one (docs/gateway.md).
   */
  async function commit(settlement: Settlement, packets: number): Promise<void> {
    try {
      await settlement.commit();
    } catch (err) {
      metrics.commitFailures.inc();
      logger.warn({ err, packets }, 'gateway: state commit failed after the produce was acknowledged; a retry would be produced again');
    }
  }

  /** Enrich and encode every packet that is not a duplicate (+ its crossing copy). */
  function toRecords(req: Screened, results: ObserveResult[]): Encoded {
    const { good, t, gatewayId, at, outcomes } = req;
    const records: ProduceRecord[] = [];
    let bytes = 0;
    let accepted = 0;
    let duplicates = 0;
    let crossings = 0;
    let takeovers = 0;
    const push = (topic: string, key: string, value: Buffer) => {
      records.push({ topic, key, value });
      bytes += value.length + key.length;
    };
    for (let i = 0; i < good.length; i++) {
      const e = good[i]!;
      const r = results[i]!;
      if (r.duplicate) {
        duplicates++;
        if (outcomes) outcomes[at![i]!] = OUTCOME.DUPLICATE;
        continue;
      }
      if (r.tookOver) takeovers++;
      const segment = e.segment;
      const prevSegment = r.prev?.segment ?? null;
      // Enrich the validator's fresh object in place (no copies on the hot path); cell,
      // segment and ownerSegment were set when it was routed.
      e.prevSegment = prevSegment;
      e.ingestTs = t;
      e.gatewayId = gatewayId;
      // A crossing is decided only by packets that move the state forward: a late packet
      // (older than the state) says nothing about where the vehicle is now, so it goes to
      // its own segment only (docs/gateway.md, "Out-of-order packets").
      const oldTopic = prevSegment !== null && prevSegment !== segment && r.advanced ? topicOf.get(prevSegment) : undefined;
      push(topicOf.get(segment)!, e.vehicleId, encode(e));
      if (oldTopic !== undefined) {
        // The copy left in the old segment: same packet, held by the old topic, owned by the new.
        e.segment = prevSegment!;
        e.crossing = true;
        push(oldTopic, e.vehicleId, encode(e));
        e.segment = segment;
        e.crossing = false;
        crossings++;
      }
      if (outcomes) outcomes[at![i]!] = oldTopic !== undefined ? OUTCOME.CROSSING : OUTCOME.ACCEPTED;
      accepted++;
    }
    return { records, bytes, accepted, duplicates, crossings, takeovers, produced: records.length };
  }

  return { ingest, outstandingBytes: () => batcher.outstandingBytes, drain: () => batcher.drain(), breakers };
}
