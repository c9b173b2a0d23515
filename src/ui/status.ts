// The pipeline panel's facts (and `iov status`'s), gathered from what already exists:
// - each process's /metrics (gateway: iov_gateway_*, segment processes: iov_segment_*), read
//   through MetricsTargets; rates are counter differences between two collections; the
//   watermark per segment is its slowest partition's iov_segment_watermark_seconds;
// - the federator (last closed window per segment; each cloud's ClickHouse health is its
//   status in that query's per-cloud report);
// - the local servers' health (`iov infra status`), when the caller passes it.
// Anything that cannot be read is reported as down, with the reason.
import type { Federator, FederatedResult } from '../federation/index.ts';
import type { Topology } from '../topology/index.ts';
import { parsePrometheusText, type MetricsTarget, type Sample } from './prom.ts';
import type { CloudHealth, GatewayStatus, PipelineStatus, SegmentStatus, ServiceHealth, TargetStatus } from './types.ts';

export interface StatusOptions {
  topology: Topology;
  federator: Federator;
  targets: MetricsTarget[];
  /** Health of the local servers (Redis, Kafka, ClickHouse), e.g. from `infraStatus`. */
  services?: () => Promise<ServiceHealth[]>;
  now?: () => number;
}

export interface StatusCollector {
  collect(): Promise<PipelineStatus>;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

function kindOf(samples: Sample[]): TargetStatus['kind'] {
  if (samples.some((s) => s.name.startsWith('iov_gateway_'))) return 'gateway';
  if (samples.some((s) => s.name.startsWith('iov_segment_'))) return 'segment';
  if (samples.some((s) => s.name.startsWith('iov_query_'))) return 'query';
  return 'other';
}

export function createStatusCollector(opts: StatusOptions): StatusCollector {
  const now = opts.now ?? Date.now;
  // Counter values of the previous collection, by "target|series", for rates.
  let previous: { at: number; values: Map<string, number> } | undefined;

  async function scrape(): Promise<{ target: MetricsTarget; samples: Sample[]; error?: string }[]> {
    return Promise.all(
      opts.targets.map(async (target) => {
        try {
          return { target, samples: parsePrometheusText(await target.read()) };
        } catch (err) {
          return { target, samples: [], error: (err as Error).message };
        }
      }),
    );
  }

  async function fromFederator(): Promise<{ windows: FederatedResult | Error }> {
    const windows = await opts.federator
      .query('SELECT segment, max(toUnixTimestamp(window_start)) AS last FROM traffic_flow GROUP BY segment', { partial: true, timeoutMs: 5_000 })
      .catch((e: Error) => e);
    return { windows };
  }

  return {
    async collect() {
      const [scraped, fed, services] = await Promise.all([
        scrape(),
        fromFederator(),
        opts.services ? opts.services() : Promise.resolve([]),
      ]);
      const at = now();
      const values = new Map<string, number>();
      const rate = (key: string, v: number): number | null => {
        values.set(key, v);
        const before = previous?.values.get(key);
        if (!previous || before === undefined || at <= previous.at) return null;
        return Math.max(0, v - before) / ((at - previous.at) / 1000);
      };

      const targets: TargetStatus[] = scraped.map((s) => ({
        name: s.target.name,
        kind: kindOf(s.samples),
        up: !s.error,
        ...(s.error ? { error: s.error } : {}),
      }));

      const gateways: GatewayStatus[] = scraped
        .filter((s) => kindOf(s.samples) === 'gateway')
        .map((s) => {
          const of = (name: string) => s.samples.filter((x) => x.name === name);
          const accepted = sum(of('iov_gateway_packets_accepted_total').map((x) => x.value));
          const rejectedByCode: Record<string, number> = {};
          for (const x of of('iov_gateway_packets_rejected_total'))
            rejectedByCode[x.labels.code ?? ''] = (rejectedByCode[x.labels.code ?? ''] ?? 0) + x.value;
          const rejected = sum(Object.values(rejectedByCode));
          return {
            target: s.target.name,
            accepted,
            rejected,
            rejectedByCode,
            acceptedPerS: rate(`${s.target.name}|accepted`, accepted),
            rejectedPerS: rate(`${s.target.name}|rejected`, rejected),
            crossings: sum(of('iov_gateway_crossings_total').map((x) => x.value)),
          };
        });

      const bySegment = (result: FederatedResult | Error, column: string): Map<string, number> => {
        const m = new Map<string, number>();
        if (!(result instanceof Error)) for (const r of result.rows) m.set(String(r.segment), Number(r[column]));
        return m;
      };
      const lastWindow = bySegment(fed.windows, 'last');

      const segments: SegmentStatus[] = opts.topology.segments.map((seg) => {
        const mine = scraped
          .map((s) => s.samples.filter((x) => x.name.startsWith('iov_segment_') && x.labels.segment === seg.id))
          .filter((xs) => xs.length > 0);
        const all = mine.flat();
        const of = (name: string) => all.filter((x) => x.name === name);
        const consumed = sum(
          of('iov_segment_packets_total')
            .filter((x) => x.labels.kind !== 'replayed')
            .map((x) => x.value),
        );
        const lag = of('iov_segment_lag');
        const watermarks = of('iov_segment_watermark_seconds')
          .map((x) => x.value)
          .filter((v) => Number.isFinite(v));
        return {
          segment: seg.id,
          cloud: seg.cloud,
          processes: mine.length,
          packetsPerS: mine.length ? rate(`segment|${seg.id}|consumed`, consumed) : null,
          lag: lag.length ? sum(lag.map((x) => x.value)) : null,
          watermark: watermarks.length ? Math.min(...watermarks) : null,
          lastWindow: lastWindow.get(seg.id) ?? null,
        };
      });
      previous = { at, values };

      const clouds: CloudHealth[] =
        fed.windows instanceof Error
          ? [{ cloud: '*', status: 'error', ms: 0, error: fed.windows.message }]
          : fed.windows.clouds.map((c) => ({ cloud: c.cloud, status: c.status, ms: c.ms, ...(c.error ? { error: c.error } : {}) }));

      const down: string[] = [
        ...targets.filter((t) => !t.up).map((t) => `metrics ${t.name}: ${t.error}`),
        ...clouds.filter((c) => c.status !== 'ok' && c.status !== 'pruned').map((c) => `ClickHouse ${c.cloud}: ${c.error ?? c.status}`),
        ...services.filter((s) => !s.ok).map((s) => `${s.name}: ${s.detail}`),
      ];
      if (targets.some((t) => t.kind === 'segment')) {
        for (const s of segments) if (s.processes === 0) down.push(`segment ${s.segment}: no process exports its metrics`);
      }
      return { at, segments, gateways, targets, clouds, services, down };
    },
  };
}
