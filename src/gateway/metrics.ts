// Prometheus metrics of one gateway, in a Registry of its own (not the global one) so that
// several gateways in one process (tests, the embedded demo) never collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'status' | 'code'>;
  packetsAccepted: Counter<string>;
  packetsRejected: Counter<'code'>;
  duplicates: Counter<string>;
  crossings: Counter<string>;
  produced: Counter<string>;
  produceLatency: Histogram<'result'>;
  stateLatency: Histogram<'result'>;
  batchRecords: Histogram<string>;
  requestPackets: Histogram<string>;
  inflightBytes: Gauge<string>;
  /** 0 closed, 1 open, 2 half-open, per dependency (kafka, redis). */
  circuitState: Gauge<'dependency'>;
  fastFails: Counter<'dependency'>;
  /** Requests that waited for an earlier in-flight request carrying one of their vehicles. */
  vehicleWaits: Counter<string>;
  /** Packets produced after taking over a reservation no call had committed (a retry racing or outliving its first attempt). */
  dedupTakeovers: Counter<string>;
  /** Requests whose state commit failed after Kafka acknowledged them. */
  commitFailures: Counter<string>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'iov_gateway_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({ name: 'iov_gateway_requests_total', help: 'Ingest requests by HTTP status and error code ("" when none)', labelNames: ['status', 'code'], registers }),
    packetsAccepted: new Counter({ name: 'iov_gateway_packets_accepted_total', help: 'Packets accepted and produced (owned copy acknowledged by Kafka)', registers }),
    packetsRejected: new Counter({ name: 'iov_gateway_packets_rejected_total', help: 'Packets rejected, by error code', labelNames: ['code'], registers }),
    duplicates: new Counter({ name: 'iov_gateway_duplicates_total', help: 'Packets acknowledged as duplicates within the dedup horizon (not produced)', registers }),
    crossings: new Counter({ name: 'iov_gateway_crossings_total', help: 'Boundary crossings (packets also written to the previous segment)', registers }),
    produced: new Counter({ name: 'iov_gateway_messages_produced_total', help: 'Kafka messages acknowledged, crossing copies included', registers }),
    produceLatency: new Histogram({
      name: 'iov_gateway_kafka_produce_seconds',
      help: 'Duration of one produce call (acks = all), by result',
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    stateLatency: new Histogram({
      name: 'iov_gateway_state_seconds',
      help: 'Duration of the one vehicle-state round trip of a request (Redis), by result',
      labelNames: ['result'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    batchRecords: new Histogram({
      name: 'iov_gateway_kafka_batch_records',
      help: 'Records per produce call (several requests are merged into one call)',
      buckets: [1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 20000],
      registers,
    }),
    requestPackets: new Histogram({
      name: 'iov_gateway_request_packets',
      help: 'Packets per ingest request',
      buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000],
      registers,
    }),
    inflightBytes: new Gauge({ name: 'iov_gateway_inflight_bytes', help: 'Encoded bytes queued for or waiting on Kafka', registers }),
    circuitState: new Gauge({ name: 'iov_gateway_circuit_state', help: 'Circuit breaker state per dependency: 0 closed, 1 open, 2 half-open', labelNames: ['dependency'], registers }),
    fastFails: new Counter({ name: 'iov_gateway_circuit_fast_fail_total', help: 'Requests refused at once (503 UNAVAILABLE) because the dependency\'s circuit was open', labelNames: ['dependency'], registers }),
    dedupTakeovers: new Counter({ name: 'iov_gateway_dedup_takeovers_total', help: 'Packets produced after taking over a dedup reservation that its call never committed (a client retry racing or outliving its first attempt, possibly on another gateway)', registers }),
    commitFailures: new Counter({ name: 'iov_gateway_state_commit_failures_total', help: 'Requests acknowledged by Kafka whose dedup reservations could not be committed (a retry of them is produced again)', registers }),
    vehicleWaits: new Counter({ name: 'iov_gateway_vehicle_waits_total', help: 'Requests that waited for an earlier in-flight request carrying one of their vehicles (requests for one vehicle run one after the other)', registers }),
  };
}
