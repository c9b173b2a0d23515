// `iov simulate`: drive a gateway over HTTP (local/production mode). Ticks of the fleet are
// paced against the wall clock so the target sees `rate` packets per second, posted in JSON
// array batches with the API key, a bounded number of requests in flight. A 429/503 is
// retried after its Retry-After (the gateway acknowledged nothing of that request), so the
// report's counts are what the gateway really acknowledged.
import { createFleet, type FleetOptions, type FleetStats } from './fleet.ts';

export interface PostOptions {
  target: string;
  apiKey?: string;
  /** Per-request timeout, ms (default 10 000). */
  timeoutMs?: number;
  /** Retries of 429/503/network errors before giving up on a batch (default 5). */
  retries?: number;
}

export interface PostResult {
  status: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  crossings: number;
  /** Attempts beyond the first. */
  retries: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** POST one JSON array to `<target>/v1/packets`; retries 429/503 and network errors. */
export async function postPackets(packets: unknown[], opts: PostOptions): Promise<PostResult> {
  const url = new URL('/v1/packets', opts.target).toString();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  const body = JSON.stringify(packets);
  const maxRetries = opts.retries ?? 5;
  let attempt = 0;
  for (;;) {
    let status = 0;
    let retryAfterS = 0.2 * 2 ** attempt;
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
      status = res.status;
      const text = await res.text();
      if (status < 300 || (status >= 400 && status < 500 && status !== 429)) {
        const j = (text ? JSON.parse(text) : {}) as { accepted?: number; duplicates?: number; rejected?: unknown[] | number; crossings?: number };
        const rejected = Array.isArray(j.rejected) ? j.rejected.length : typeof j.rejected === 'number' ? j.rejected : status >= 400 ? packets.length : 0;
        return { status, accepted: j.accepted ?? 0, duplicates: j.duplicates ?? 0, rejected, crossings: j.crossings ?? 0, retries: attempt };
      }
      const ra = Number(res.headers.get('retry-after'));
      if (Number.isFinite(ra) && ra > 0) retryAfterS = ra;
    } catch {
      // network error or timeout: retry
    }
    if (attempt >= maxRetries) return { status, accepted: 0, duplicates: 0, rejected: 0, crossings: 0, retries: attempt };
    attempt++;
    await sleep(Math.min(10_000, retryAfterS * 1000));
  }
}

export interface SimulationOptions extends FleetOptions, PostOptions {
  /** Packets per second of wall time (default: vehicles / intervalS, i.e. real time). */
  rate?: number;
  /** Wall-clock seconds to run (default 60). */
  durationS?: number;
  /** Packets per request (default 500). */
  batchSize?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  onProgress?: (r: SimulationReport) => void;
}

export interface SimulationReport {
  elapsedS: number;
  sent: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  crossings: number;
  /** Batches the gateway never acknowledged (gave up after retries). */
  failedBatches: number;
  retries: number;
  fleet: FleetStats;
}

export async function runSimulation(opts: SimulationOptions): Promise<SimulationReport> {
  // Event time follows the wall clock by default (the gateway checks ts against its clock).
  const fleet = createFleet({ ...opts, startMs: opts.startMs ?? Math.floor(Date.now() / 1000) * 1000 });
  const perTick = fleet.options.vehicles;
  const rate = opts.rate ?? perTick / fleet.options.intervalS;
  if (!(rate > 0)) throw new RangeError('options.rate must be a positive number');
  const batchSize = opts.batchSize ?? 500;
  const concurrency = opts.concurrency ?? 4;
  const durationMs = (opts.durationS ?? 60) * 1000;
  const t0 = Date.now();
  const report: SimulationReport = { elapsedS: 0, sent: 0, accepted: 0, duplicates: 0, rejected: 0, crossings: 0, failedBatches: 0, retries: 0, fleet: fleet.stats };
  const inflight = new Set<Promise<void>>();
  const send = async (batch: unknown[]) => {
    const r = await postPackets(batch, opts);
    report.sent += batch.length;
    report.accepted += r.accepted;
    report.duplicates += r.duplicates;
    report.rejected += r.rejected;
    report.crossings += r.crossings;
    report.retries += r.retries;
    if (r.status === 0 || r.status >= 500 || r.status === 429) report.failedBatches++;
  };
  let lastProgress = t0;
  let queued = 0;
  while (Date.now() - t0 < durationMs) {
    const packets = fleet.tick();
    for (let i = 0; i < packets.length; i += batchSize) {
      // Pace: the k-th packet is due at k / rate seconds after the start.
      const dueMs = t0 + (queued / rate) * 1000;
      const wait = dueMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (Date.now() - t0 >= durationMs) break;
      while (inflight.size >= concurrency) await Promise.race(inflight);
      const batch = packets.slice(i, i + batchSize);
      queued += batch.length;
      const p = send(batch).finally(() => inflight.delete(p));
      inflight.add(p);
      if (opts.onProgress && Date.now() - lastProgress >= 1000) {
        lastProgress = Date.now();
        report.elapsedS = (Date.now() - t0) / 1000;
        opts.onProgress(report);
      }
    }
  }
  await Promise.all(inflight);
  report.elapsedS = (Date.now() - t0) / 1000;
  return report;
}
