// The ingest core (DESIGN.md §3), shared by the HTTP route and the embedded demo:
//   validate -> route (H3 -> segment) -> ONE state round trip for the whole request
//   -> enrich + encode (+ crossing copy) -> micro-batched produce (acks = all) -> result.
// Nothing is acknowledged before Kafka acknowledged it. If the produce fails, the state
// changes of this request are rolled back, so a retry of the same packets is not taken for
// a duplicate. Requests that share a vehicle run one after the other (docs/gateway.md,
// "Concurrent requests for one vehicle").
import type { Logger } from 'pino';
import type { Bus, ProduceRecord } from '../bus/index.ts';
import { latLngToCell } from 'h3-js';
import type { EnrichedPacket, VehiclePacket } from '../schemas/index.ts';
import type { Observation, ObserveResult, VehicleState } from '../state/index.ts';
import { createSegmentLookup, segmentTopic, type Topology } from '../topology/index.ts';
import { createBatcher, OverloadError } from './batcher.ts';
import { createBreaker, isKafkaUnavailable, isStateUnavailable, noBreaker, type Breaker, type BreakerTicket, type CircuitState } from './breaker.ts';
import type { GatewayConfig } from './config.ts';
import { GatewayError, kindOf, packetError, show, type PacketRejection } from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import { createPacketEncoder } from './encode.ts';
import { compileValidator } from './validate.ts';

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
}

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
}

/** A routed packet: the Observation handed to the state store, carrying its packet and cell. */
interface Good extends Observation {
  packet: VehiclePacket;
  cell: string;
}

/** Fine cells remembered with their segment before the cache is cleared (bounded memory). */
const SEGMENT_CACHE_MAX = 200_000;

export function createIngest(deps: IngestDeps): IngestCore {
  const { topology, bus, state, config, metrics, logger, now } = deps;
  // Built once: H3 lookup table, Avro type, validator, topic names.
  const lookup = createSegmentLookup(topology);
  const resolution = topology.h3.resolution;
  // cell -> segment is a pure function of the topology: memoised, so a packet costs one H3
  // call (latLngToCell) instead of two (cellToParent too). Vehicles revisit the same cells.
  const segmentCache = new Map<string, string | undefined>();
  const segmentOf = (cell: string): string | undefined => {
    let seg = segmentCache.get(cell);
    if (seg === undefined && !segmentCache.has(cell)) {
      seg = lookup.segmentOfCell(cell);
      if (segmentCache.size >= SEGMENT_CACHE_MAX) segmentCache.clear();
      segmentCache.set(cell, seg);
    }
    return seg;
  };
  const encode = createPacketEncoder();
  const validate = compileValidator(config);
  const topicOf = new Map<string, string>();
  for (const s of topology.segments) topicOf.set(s.id, segmentTopic(s.id));
  // vehicleId -> settles when the latest admitted request carrying that vehicle has finished
  // (acknowledged, refused or rolled back). A request waits for these before its state round
  // trip, so it never reads a state or a dedup reservation that a still-unwritten request
  // made: with a failed produce that would be a missing or spurious crossing copy, or (for a
  // client retry racing its own first attempt) a packet acknowledged as a duplicate of a
  // write that then failed, i.e. lost. Waits only point at earlier requests: no cycles.
  const vehicleTurn = new Map<string, Promise<void>>();
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

  async function ingest(items: unknown[], ctx: IngestContext = {}): Promise<IngestResult> {
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
    try {
      return await admitted(items, ctx, kb.ticket, rb.ticket);
    } finally {
      // No-ops for tickets that already reported; frees a probe slot that saw no verdict.
      kb.ticket.release();
      rb.ticket.release();
    }
  }

  async function admitted(items: unknown[], ctx: IngestContext, kafkaTicket: BreakerTicket, redisTicket: BreakerTicket): Promise<IngestResult> {
    const t = now();
    const gatewayId = ctx.gatewayId ?? config.defaultGatewayId;

    const rejected: PacketRejection[] = [];
    const good: Good[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item instanceof MalformedLine) {
        rejected.push(packetError(i, 'MALFORMED_LINE', item.reason));
        continue;
      }
      const v = validate(item, i, t);
      if (!v.ok) {
        rejected.push(v.error);
        continue;
      }
      const p = v.packet;
      const cell = latLngToCell(p.lat, p.lng, resolution);
      const segment = segmentOf(cell);
      if (segment === undefined || !topicOf.has(segment)) {
        rejected.push(packetError(i, 'OUT_OF_AREA', show(p.lat), show(p.lng), topology.name));
        continue;
      }
      good.push({ vehicleId: p.vehicleId, dedupKey: p.seq !== null ? `s${p.seq}` : `t${p.ts}`, ts: p.ts, segment, lat: p.lat, lng: p.lng, packet: p, cell });
    }
    for (const r of rejected) metrics.packetsRejected.inc({ code: r.code });
    metrics.requestPackets.observe(items.length);
    if (good.length === 0) return { accepted: 0, duplicates: 0, rejected, crossings: 0, produced: 0 };

    // Take this request's turn for each of its vehicles (synchronously, so arrival order
    // decides), wait for the requests holding them before, give the turns back at the end.
    let finish!: () => void;
    const mine = new Promise<void>((resolve) => (finish = resolve));
    const before = new Set<Promise<void>>();
    for (const g of good) {
      const held = vehicleTurn.get(g.vehicleId);
      if (held === mine) continue;
      if (held !== undefined) before.add(held);
      vehicleTurn.set(g.vehicleId, mine);
    }
    try {
      if (before.size > 0) {
        metrics.vehicleWaits.inc();
        await Promise.all(before);
      }
      return await routed(good, rejected, t, gatewayId, kafkaTicket, redisTicket);
    } finally {
      for (const g of good) if (vehicleTurn.get(g.vehicleId) === mine) vehicleTurn.delete(g.vehicleId);
      finish();
    }
  }

  async function routed(good: Good[], rejected: PacketRejection[], t: number, gatewayId: string, kafkaTicket: BreakerTicket, redisTicket: BreakerTicket): Promise<IngestResult> {
    let results: ObserveResult[];
    const s0 = performance.now();
    try {
      results = await state.observe(good, observeOpts);
      metrics.stateLatency.observe({ result: 'ok' }, (performance.now() - s0) / 1000);
      redisTicket.success();
    } catch (err) {
      metrics.stateLatency.observe({ result: 'error' }, (performance.now() - s0) / 1000);
      if (isStateUnavailable(err)) redisTicket.failure(err);
      // The script may have run even though its answer was lost (timeout): release the dedup
      // keys it may have reserved, or the client's retry would be taken for duplicates and
      // never written. State positions are left alone. Best effort, in the background.
      const release = good.map(() => ({ duplicate: false, advanced: false, prev: undefined }));
      state.rollback(good, release).catch(() => {});
      throw unavailable('vehicle state (Redis)', err);
    }

    const records: ProduceRecord[] = [];
    let bytes = 0;
    let accepted = 0;
    let duplicates = 0;
    let crossings = 0;
    const push = (topic: string, key: string, value: Buffer) => {
      records.push({ topic, key, value });
      bytes += value.length + key.length;
    };
    for (let i = 0; i < good.length; i++) {
      const g = good[i]!;
      const r = results[i]!;
      if (r.duplicate) {
        duplicates++;
        continue;
      }
      const prevSegment = r.prev?.segment ?? null;
      // Enrich the validator's fresh object in place (no copies on the hot path).
      const e = g.packet as EnrichedPacket;
      e.cell = g.cell;
      e.segment = g.segment;
      e.ownerSegment = g.segment;
      e.crossing = false;
      e.prevSegment = prevSegment;
      e.ingestTs = t;
      e.gatewayId = gatewayId;
      // A crossing is decided only by packets that move the state forward: a late packet
      // (older than the state) says nothing about where the vehicle is now, so it goes to
      // its own segment only (docs/gateway.md, "Out-of-order packets").
      const oldTopic = prevSegment !== null && prevSegment !== g.segment && r.advanced ? topicOf.get(prevSegment) : undefined;
      push(topicOf.get(g.segment)!, e.vehicleId, encode(e));
      if (oldTopic !== undefined) {
        // The copy left in the old segment: same packet, held by the old topic, owned by the new.
        e.segment = prevSegment!;
        e.crossing = true;
        push(oldTopic, e.vehicleId, encode(e));
        e.segment = g.segment;
        e.crossing = false;
        crossings++;
      }
      accepted++;
    }

    if (records.length > 0) {
      try {
        metrics.inflightBytes.set(batcher.outstandingBytes + bytes);
        await batcher.submit(records, bytes);
        kafkaTicket.success();
      } catch (err) {
        if (!(err instanceof OverloadError) && isKafkaUnavailable(err)) kafkaTicket.failure(err);
        try {
          await state.rollback(good, results);
        } catch (rbErr) {
          // Reserved dedup keys now outlive a failed write: a retry within the horizon would be
          // acknowledged as a duplicate. Loud, because it is the one way to lose a packet.
          logger.error({ err: rbErr, packets: good.length }, 'gateway: state rollback failed after a failed produce');
        }
        if (err instanceof OverloadError) throw overloaded();
        throw unavailable('Kafka', err);
      }
    }
    metrics.packetsAccepted.inc(accepted);
    metrics.duplicates.inc(duplicates);
    metrics.crossings.inc(crossings);
    metrics.produced.inc(records.length);
    return { accepted, duplicates, rejected, crossings, produced: records.length };
  }

  return { ingest, outstandingBytes: () => batcher.outstandingBytes, drain: () => batcher.drain(), breakers };
}
