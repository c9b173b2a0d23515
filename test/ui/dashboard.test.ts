// The Grafana dashboard and the Prometheus scrape config in infra/deploy/: every metric the
// dashboard names is exported by a component (read from the registries of a real gateway,
// the segment processors' metrics and a query server's GET /metrics), and every component
// whose metrics it plots has a scrape job.
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMemoryBus } from '../../src/bus/index.ts';
import { createFederator, createQueryServer } from '../../src/federation/index.ts';
import { createGateway } from '../../src/gateway/index.ts';
import { segmentMetrics } from '../../src/segment/index.ts';
import { createMemoryState } from '../../src/state/index.ts';
import { createClickHouseStore } from '../../src/store/index.ts';
import { loadTopology, storageClouds } from '../../src/topology/index.ts';

const deploy = (f: string) => readFileSync(new URL(`../../infra/deploy/${f}`, import.meta.url), 'utf8');

interface Panel {
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

function dashboardMetrics(): Map<string, string[]> {
  const dash = JSON.parse(deploy('grafana-dashboard.json')) as { panels: Panel[] };
  const byMetric = new Map<string, string[]>();
  const walk = (ps: Panel[]) => {
    for (const p of ps) {
      for (const t of p.targets ?? []) {
        for (const m of t.expr.matchAll(/\biov_[a-z0-9_]+/g)) byMetric.set(m[0], [...(byMetric.get(m[0]) ?? []), p.title]);
      }
      walk(p.panels ?? []);
    }
  };
  walk(dash.panels);
  return byMetric;
}

/** Series names each component exports: `# TYPE` names, histograms with their _bucket/_sum/_count. */
async function exported(): Promise<Set<string>> {
  const topology = loadTopology(new URL('../../infra/topology/shanghai.yaml', import.meta.url).pathname);
  const gateway = createGateway({
    topology,
    bus: createMemoryBus({ partitions: 4 }),
    state: createMemoryState(),
    logger: pino({ level: 'silent' }),
  });
  // The stores are never asked: /metrics does not query.
  const stores = storageClouds(topology).map((cloud) =>
    createClickHouseStore({ cloud, endpoint: { url: 'http://127.0.0.1:9', database: 'unused' } }),
  );
  const query = createQueryServer({ federator: createFederator({ topology, stores, closeStores: true }) });
  try {
    const texts = [
      await gateway.metrics.metrics(),
      await segmentMetrics().registry.metrics(),
      (await query.inject({ method: 'GET', url: '/metrics' })).body,
    ];
    const names = new Set<string>();
    for (const text of texts) {
      for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
        names.add(m[1]!);
        if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m[1]}${s}`);
      }
    }
    return names;
  } finally {
    await query.close();
    await gateway.close();
  }
}

describe('operator dashboards', () => {
  it('every metric the Grafana dashboard names is exported', async () => {
    const named = dashboardMetrics();
    expect(named.size).toBeGreaterThan(20);
    const have = await exported();
    const missing = [...named].filter(([m]) => !have.has(m)).map(([m, panels]) => `${m} (${panels.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('the dashboard plots the gateway, the segment processors and the query server, each with a scrape job', () => {
    const prefixes = new Set([...dashboardMetrics().keys()].map((m) => m.split('_')[1]));
    expect([...prefixes].sort()).toEqual(['gateway', 'query', 'segment']);
    const prom = parse(deploy('prometheus.yml')) as {
      scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[];
    };
    expect(prom.scrape_configs.map((j) => [j.job_name, j.metrics_path])).toEqual([
      ['iov-gateway', '/metrics'],
      ['iov-segment', '/metrics'],
      ['iov-query', '/metrics'],
    ]);
    // The targets are compose.yaml's services on the ports they serve /metrics on.
    const compose = deploy('compose.yaml');
    for (const job of prom.scrape_configs) {
      for (const target of job.static_configs.flatMap((c) => c.targets)) {
        const [service, port] = target.split(':');
        expect(compose, target).toMatch(new RegExp(`\\n  ${service}:\\n(?:    .*\\n)*?    command: \\[.*"${port}"\\]`));
      }
    }
  });

  it('the query server counts its queries and errors in /metrics', async () => {
    const topology = loadTopology(new URL('../../infra/topology/shanghai.yaml', import.meta.url).pathname);
    const stores = storageClouds(topology).map((cloud) =>
      createClickHouseStore({ cloud, endpoint: { url: 'http://127.0.0.1:9', database: 'unused' } }),
    );
    const app = createQueryServer({ federator: createFederator({ topology, stores, closeStores: true }) });
    try {
      // Every cloud pruned (no such segment): answered without asking a store.
      const ok = await app.inject({
        method: 'POST',
        url: '/v1/query',
        payload: { sql: "SELECT count() AS n FROM packets WHERE segment = 'nowhere'" },
      });
      expect(ok.statusCode).toBe(200);
      const bad = await app.inject({ method: 'POST', url: '/v1/query', payload: { sql: 'DROP TABLE packets' } });
      expect(bad.statusCode).toBe(403);
      expect(bad.json().error.code).toBe('NOT_READ_ONLY');
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(text).toContain('iov_query_requests_total{status="200",code=""} 1');
      expect(text).toContain('iov_query_requests_total{status="403",code="NOT_READ_ONLY"} 1');
      expect(text).toContain('iov_query_seconds_count{strategy="none"} 1');
      expect(text).toContain('iov_query_rows_returned_total 1');
    } finally {
      await app.close();
    }
  });
});
