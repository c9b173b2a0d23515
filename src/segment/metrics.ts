// Prometheus metrics of the segment processors (prom-client). One set per registry, shared by
// every processor registered on it and told apart by the `segment` label.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface SegmentMetrics {
  registry: Registry;
  packets: Counter<'segment' | 'kind'>;
  poison: Counter<'segment'>;
  rows: Counter<'segment' | 'table'>;
  windows: Counter<'segment'>;
  lag: Gauge<'segment' | 'partition'>;
  batchSeconds: Histogram<'segment'>;
  storeRetries: Counter<'segment'>;
  workerFailures: Counter<'segment'>;
  poolUtilization: Gauge<'segment'>;
  openWindows: Gauge<'segment' | 'partition'>;
  watermark: Gauge<'segment' | 'partition'>;
  leaseWaitSeconds: Histogram<'segment'>;
  partitionStopped: Gauge<'segment' | 'partition' | 'code' | 'server_code'>;
}

const bySregistry = new WeakMap<Registry, SegmentMetrics>();

export function segmentMetrics(registry: Registry = new Registry()): SegmentMetrics {
  const known = bySregistry.get(registry);
  if (known) return known;
  const registers = [registry];
  const m: SegmentMetrics = {
    registry,
    packets: new Counter({ name: 'iov_segment_packets_total', help: 'Packets consumed, by kind: owned, late (owned, after its window closed), foreign (crossing copies), replayed (skipped after a restart), duplicate (an earlier copy of the same packet was counted: a client retry)', labelNames: ['segment', 'kind'], registers }),
    poison: new Counter({ name: 'iov_segment_poison_total', help: 'Undecodable messages sent to the dead-letter topic', labelNames: ['segment'], registers }),
    rows: new Counter({ name: 'iov_segment_rows_written_total', help: 'Rows inserted into ClickHouse', labelNames: ['segment', 'table'], registers }),
    windows: new Counter({ name: 'iov_segment_windows_flushed_total', help: 'Partition windows flushed to traffic_flow', labelNames: ['segment'], registers }),
    lag: new Gauge({ name: 'iov_segment_lag', help: 'Messages behind the log end, per partition', labelNames: ['segment', 'partition'], registers }),
    batchSeconds: new Histogram({ name: 'iov_segment_batch_seconds', help: 'Time from a batch arriving to its effects being committed', labelNames: ['segment'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers }),
    storeRetries: new Counter({ name: 'iov_segment_store_retries_total', help: 'ClickHouse writes retried after an error', labelNames: ['segment'], registers }),
    workerFailures: new Counter({ name: 'iov_segment_worker_failures_total', help: 'Worker tasks that threw or whose thread died (retried)', labelNames: ['segment'], registers }),
    poolUtilization: new Gauge({ name: 'iov_segment_pool_utilization', help: 'Piscina pool utilisation (0-1)', labelNames: ['segment'], registers }),
    openWindows: new Gauge({ name: 'iov_segment_open_windows', help: 'Windows open per partition', labelNames: ['segment', 'partition'], registers }),
    watermark: new Gauge({ name: 'iov_segment_watermark_seconds', help: 'Event-time watermark per owned partition (epoch seconds): the highest packet or tick time read, as of the last commit', labelNames: ['segment', 'partition'], registers }),
    leaseWaitSeconds: new Histogram({ name: 'iov_segment_lease_wait_seconds', help: 'Time a newly assigned partition waited for its lease (the previous holder releasing it or its lease expiring)', labelNames: ['segment'], buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30], registers }),
    partitionStopped: new Gauge({ name: 'iov_segment_partition_stopped', help: '1 while a partition is stopped by a failure retrying cannot fix, labelled with its code', labelNames: ['segment', 'partition', 'code', 'server_code'], registers }),
  };
  bySregistry.set(registry, m);
  return m;
}
