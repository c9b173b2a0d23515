// Prometheus metrics of the query server (prom-client), in a registry of its own so several
// servers in one process never collide. GET /metrics on the query server serves them.
import { Counter, Histogram, Registry } from 'prom-client';
import type { FederatedResult } from './federator.ts';

export interface QueryMetrics {
  registry: Registry;
  /** Answered queries by HTTP status and error code ("" when none). */
  queries: Counter<'status' | 'code'>;
  /** Wall time of a federated query, by plan strategy. */
  seconds: Histogram<'strategy'>;
  /** Each cloud's part of a query, by its status (ok, error, timeout; pruned clouds are not asked). */
  cloudSeconds: Histogram<'cloud' | 'status'>;
  rows: Counter<string>;
  partial: Counter<string>;
  /** Record one answered query. */
  observe(res: FederatedResult): void;
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createQueryMetrics(): QueryMetrics {
  const registry = new Registry();
  const registers = [registry];
  const m = {
    registry,
    queries: new Counter({
      name: 'iov_query_requests_total',
      help: 'Queries answered, by HTTP status and error code ("" when none)',
      labelNames: ['status', 'code'],
      registers,
    }),
    seconds: new Histogram({
      name: 'iov_query_seconds',
      help: 'Wall time of a federated query, by plan strategy',
      labelNames: ['strategy'],
      buckets: BUCKETS,
      registers,
    }),
    cloudSeconds: new Histogram({
      name: 'iov_query_cloud_seconds',
      help: "Time of one cloud's part of a query, by cloud and status",
      labelNames: ['cloud', 'status'],
      buckets: BUCKETS,
      registers,
    }),
    rows: new Counter({ name: 'iov_query_rows_returned_total', help: 'Result rows returned', registers }),
    partial: new Counter({ name: 'iov_query_partial_total', help: 'Queries answered with partial: true (some cloud failed)', registers }),
  };
  return {
    ...m,
    observe(res) {
      m.seconds.observe({ strategy: res.plan.strategy }, res.ms / 1000);
      for (const c of res.clouds) if (c.status !== 'pruned') m.cloudSeconds.observe({ cloud: c.cloud, status: c.status }, c.ms / 1000);
      m.rows.inc(res.rows.length);
      if (res.partial) m.partial.inc();
    },
  };
}
