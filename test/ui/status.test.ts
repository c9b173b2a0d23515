// The pipeline panel's facts: from a real gateway's and the segment metrics' registries (in
// process and over HTTP), the federator (last windows, cloud health) — and what is down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { pino } from 'pino';
import { createMemoryBus } from '../../src/bus/index.ts';
import { createGateway, type Gateway } from '../../src/gateway/index.ts';
import { segmentMetrics } from '../../src/segment/index.ts';
import { createMemoryState } from '../../src/state/index.ts';
import {
  createStatusCollector,
  createUiServer,
  formatStatus,
  parsePrometheusText,
  registryTarget,
  urlTarget,
  type PipelineStatus,
} from '../../src/ui/index.ts';
import { infra } from '../helpers/index.ts';
import { T0, flowFixture, type FlowFixture } from './fixtures.ts';

let fx: FlowFixture;
let gateway: Gateway;
let gatewayUrl: string;
const seg = segmentMetrics();

beforeAll(async () => {
  fx = await flowFixture();
  await fx.writeWindow(T0, [
    { cell: fx.cellsOf('north', 1)[0]!, packets: 5, kmh: 30 },
    { cell: fx.cellsOf('south', 1)[0]!, packets: 3, kmh: 30 },
  ]);
  await fx.writeWindow(T0 + 120, [{ cell: fx.cellsOf('north', 1)[0]!, packets: 5, kmh: 30 }]);
  gateway = createGateway({
    topology: fx.topology,
    bus: createMemoryBus({ partitions: 4 }),
    state: createMemoryState(),
    config: { rateLimit: null },
    logger: pino({ level: 'silent' }),
  });
  gatewayUrl = `${await gateway.app.listen({ port: 0, host: '127.0.0.1' })}/metrics`;
});
afterAll(async () => {
  await gateway?.close();
  await fx?.close();
});

const ts = Date.now();
const packet = (vehicleId: string, seq: number, lat: number) => ({
  vehicleId,
  seq,
  ts: ts + seq * 1000,
  lat,
  lng: 121.45,
  speedKmh: 40,
  heading: 0,
});

describe('status', () => {
  it('parses the exposition format with labels and escapes', () => {
    expect(parsePrometheusText('# HELP x y\nx_total{code="A",m="q\\"uote"} 3\nup 1 1700000000\nh_bucket{le="+Inf"} +Inf\n')).toEqual([
      { name: 'x_total', labels: { code: 'A', m: 'q"uote' }, value: 3 },
      { name: 'up', labels: {}, value: 1 },
      { name: 'h_bucket', labels: { le: '+Inf' }, value: Infinity },
    ]);
  });

  it('per gateway: accepted, rejected by code, crossings and rates; per segment: processes, lag, rate, watermark, last window; per cloud: health', async () => {
    let now = 1_000_000;
    const status = createStatusCollector({
      topology: fx.topology,
      federator: fx.federator,
      now: () => now,
      targets: [urlTarget(gatewayUrl), registryTarget('segments', seg.registry)],
    });
    await gateway.ingest([packet('v1', 1, 31.4), packet('v1', 2, 31.2), { vehicleId: 'v2' }]);
    seg.packets.inc({ segment: 'north', kind: 'owned' }, 100);
    seg.lag.set({ segment: 'north', partition: '0' }, 7);
    seg.lag.set({ segment: 'north', partition: '1' }, 5);
    // The watermark per segment is its slowest partition's.
    seg.watermark.set({ segment: 'north', partition: '0' }, T0 + 180);
    seg.watermark.set({ segment: 'north', partition: '1' }, T0 + 125);
    const first = await status.collect();
    expect(first.gateways[0]).toMatchObject({
      target: gatewayUrl,
      accepted: 2,
      rejected: 1,
      rejectedByCode: { MISSING_FIELD: 1 },
      crossings: 1,
      acceptedPerS: null,
    });
    expect(first.segments.find((s) => s.segment === 'north')).toMatchObject({
      cloud: 'cloud-a',
      processes: 1,
      lag: 12,
      packetsPerS: null,
      watermark: T0 + 125,
      lastWindow: T0 + 120,
    });
    expect(first.segments.find((s) => s.segment === 'south')).toMatchObject({ processes: 0, lag: null, watermark: null, lastWindow: T0 });
    const row = (seg: string) => formatStatus(first).split('\n').find((l) => l.startsWith(`${seg} `));
    expect(row('north')).toMatch(/ 2026-01-01 08:02:05Z +2026-01-01 08:02:00Z$/);
    expect(row('south')).toMatch(/ - +2026-01-01 08:00:00Z$/);
    expect(first.clouds.map((c) => [c.cloud, c.status])).toEqual([
      ['cloud-a', 'ok'],
      ['cloud-b', 'ok'],
      ['cloud-c', 'ok'],
    ]);
    // No process exports central's or south's metrics: said so.
    expect(first.down).toEqual(['segment central: no process exports its metrics', 'segment south: no process exports its metrics']);

    now += 2_000;
    await gateway.ingest([packet('v3', 1, 31.4), packet('v3', 2, 31.41)]);
    seg.packets.inc({ segment: 'north', kind: 'owned' }, 50);
    seg.packets.inc({ segment: 'north', kind: 'replayed' }, 1000);
    const second = await status.collect();
    expect(second.gateways[0]!.acceptedPerS).toBe(1);
    expect(second.gateways[0]!.rejectedPerS).toBe(0);
    expect(second.segments[0]!.packetsPerS).toBe(25);
  });

  it('a target that does not answer and a cloud that is gone are down, with the reason', async () => {
    const status = createStatusCollector({
      topology: fx.topology,
      federator: fx.federator,
      targets: [urlTarget('http://127.0.0.1:1/metrics')],
    });
    const s = await status.collect();
    expect(s.targets).toMatchObject([{ name: 'http://127.0.0.1:1/metrics', up: false }]);
    expect(s.down).toHaveLength(1);
    expect(s.down[0]).toMatch(/^metrics http:\/\/127\.0\.0\.1:1\/metrics: /);
    expect(formatStatus(s)).toContain('DOWN:\n  metrics http://127.0.0.1:1/metrics');

    const broken = {
      ...fx.stores[1]!,
      cloud: 'cloud-b',
      query: async () => {
        throw new Error('ClickHouse unreachable (ECONNREFUSED)');
      },
    };
    const { createFederator } = await import('../../src/federation/index.ts');
    const fed = createFederator({ topology: fx.topology, stores: [fx.stores[0]!, broken, fx.stores[2]!] });
    const down = await createStatusCollector({ topology: fx.topology, federator: fed, targets: [] }).collect();
    expect(down.clouds.find((c) => c.cloud === 'cloud-b')).toMatchObject({ status: 'error' });
    expect(down.down).toEqual(['ClickHouse cloud-b: cloud-b: ClickHouse unreachable (ECONNREFUSED)']);
    expect(down.segments.find((x) => x.segment === 'north')!.lastWindow).toBe(T0 + 120);
  });

  it("/api/status answers the collector's facts", async () => {
    const app = createUiServer({
      topology: fx.topology,
      federator: fx.federator,
      status: createStatusCollector({ topology: fx.topology, federator: fx.federator, targets: [registryTarget('gw', gateway.metrics)] }),
    });
    const body = (await app.inject({ method: 'GET', url: '/api/status' })).json() as PipelineStatus;
    await app.close();
    expect(body.gateways[0]!.target).toBe('gw');
    expect(body.down).toEqual([]);
  });

  it('iov status prints the facts and exits 1 when something is down, 0 when not', async () => {
    const db = fx.stores[0]!.database;
    // Asynchronously: the gateway it scrapes is served by this process.
    const run = (...extra: string[]) =>
      new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['bin/iov.mjs', 'status', '--interval', '0', '--state-dir', infra().root, '--database', db, '--scrape', gatewayUrl, ...extra],
          {
            encoding: 'utf8',
            timeout: 60_000,
            cwd: new URL('../..', import.meta.url).pathname,
          },
          (err, stdout, stderr) => resolve({ status: err ? Number((err as { code?: number }).code) : 0, stdout, stderr }),
        );
      });
    const up = await run();
    expect(up.stderr).toBe('');
    expect(up.stdout).toMatch(/^segment +cloud +processes/);
    expect(up.stdout).toContain('everything is up');
    expect(up.stdout).toMatch(/north +cloud-a +0 .* 2026-01-01 08:02:00Z/);
    expect(up.status).toBe(0);
    const down = await run('--scrape', 'http://127.0.0.1:1/metrics', '--json');
    expect(down.status).toBe(1);
    expect((JSON.parse(down.stdout) as PipelineStatus).down[0]).toMatch(/^metrics http:\/\/127\.0\.0\.1:1\/metrics/);
  }, 120_000);
});
