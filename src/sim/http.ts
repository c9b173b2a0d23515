// `iov simulate`: drive one or more gateways over HTTP (local/production mode). Ticks of the
// fleet are paced against the wall clock so the targets see `rate` packets per second,
// posted in JSON array batches with the API key, a bounded number of requests in flight,
// spread round robin over the gateway URLs (no sticky routing: a vehicle's packets reach
// every gateway). A request that timed out, got a 408/429/5xx or a connection error is sent
// again, with the same packets (so the same dedup keys), to the next gateway, after a
// backoff (or the server's Retry-After), a bounded number of times (docs/embedded.md,
// "Retries"). The report says what was retried and, for batches given up, what failed.
import http from 'node:http';
import https from 'node:https';
import { createFleet, type FleetOptions, type FleetStats } from './fleet.ts';

export interface PostOptions {
  /** Gateway base URLs (at least one): attempt k of batch b goes to targets[(b + k) % n]. */
  targets: readonly string[];
  apiKey?: string;
  /** Timeout of the first attempt, ms (default 10 000); each retry waits twice as long as the attempt before, up to maxTimeoutMs. */
  timeoutMs?: number;
  /**
   * Cap of the growing per-attempt timeout, ms (default 6 × timeoutMs). A gateway slower than
   * the first timeout (starved of CPU, its retries queued behind the attempts the client gave
   * up on) answers none of the attempts of a fixed timeout however many there are; a growing
   * one reaches its answer (docs/scaleout.md §5, seed 15).
   */
  maxTimeoutMs?: number;
  /** Attempts after the first before giving up on a batch (default 5). */
  retries?: number;
  /** Backoff before retry k (from 0): min(maxBackoffMs, backoffMs * 2^k), with full jitter (default 200 / 5 000 ms). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Stops retrying (the attempt in progress finishes): the run is being cut short. */
  signal?: AbortSignal;
  /** Told of every attempt when it ends (a run's timeline, e.g. the chaos demo's run folder). */
  onAttempt?: (a: AttemptRecord) => void;
}

/** One attempt of one batch, as `onAttempt` sees it. */
export interface AttemptRecord {
  batch: number;
  attempt: number;
  url: string;
  /** Epoch ms when the request was sent, and how long until its answer or failure. */
  startedAt: number;
  ms: number;
  /** HTTP status, 0 when there was no answer. */
  status: number;
  /** The failure in words, '' when the answer was taken. */
  failure: string;
}

export interface PostResult {
  /** HTTP status of the last attempt, 0 when it got no answer. */
  status: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  crossings: number;
  /** Attempts beyond the first. */
  retries: number;
  /** Every failed attempt's reason, in order ("<url>: connection refused", "<url>: HTTP 503 UNAVAILABLE: …"). */
  failures: string[];
  /** True when the batch ended without an answer it could take (gave up, or a non-retriable status). */
  failed: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// Socket-level error codes in words.
const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connect timed out',
};

class AttemptTimeout extends Error {}

/** What a failed attempt means, in words: "connection refused", "timed out after 10000 ms", … */
export function describeNetworkError(err: unknown, timeoutMs: number): string {
  if (err instanceof AttemptTimeout) return `timed out after ${timeoutMs} ms`;
  const e = err as { code?: string; message?: string; errors?: { code?: string }[] };
  // Node's happy-eyeballs connect fails with an AggregateError holding one error per address.
  const code = e?.code ?? e?.errors?.[0]?.code;
  if (code !== undefined) return NETWORK_REASONS[code] ?? `${code}${e.message ? ` (${e.message})` : ''}`;
  return e?.message ?? String(err);
}

// node:http rather than fetch(): fetch refuses the ports on the Fetch standard's "bad port"
// list (1, 25, 6000, …) without connecting, so `--target http://127.0.0.1:1` would not say
// what a user needs to hear ("connection refused"). Keep-alive agents, one per scheme.
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

interface HttpAnswer {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

function post(url: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, agent: agents[url.protocol as 'http:' | 'https:'] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const ra = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, retryAfter: Array.isArray(ra) ? ra[0] : ra, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const timer = setTimeout(() => req.destroy(new AttemptTimeout()), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

/** Statuses after which the same request may be sent again: the gateway acknowledged nothing of it. */
const retriable = (status: number) => status === 408 || status === 429 || status >= 500;

interface Answer {
  accepted?: number;
  duplicates?: number;
  rejected?: unknown[] | number;
  crossings?: number;
  code?: string;
  message?: string;
}

/**
 * POST one JSON array to `<target>/v1/packets`, batch number `batch` choosing the first
 * target; retries timeouts, 408/429/5xx and connection errors on the next target.
 */
export async function postPackets(packets: readonly unknown[], opts: PostOptions, batch = 0): Promise<PostResult> {
  if (opts.targets.length === 0) throw new RangeError('options.targets must hold at least one URL');
  const urls = opts.targets.map((t) => new URL('/v1/packets', t));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  const body = JSON.stringify(packets);
  const maxRetries = opts.retries ?? 5;
  const firstTimeoutMs = opts.timeoutMs ?? 10_000;
  const maxTimeoutMs = opts.maxTimeoutMs ?? 6 * firstTimeoutMs;
  if (!(maxTimeoutMs >= firstTimeoutMs)) throw new RangeError('options.maxTimeoutMs must be at least options.timeoutMs');
  const base = opts.backoffMs ?? 200;
  const cap = opts.maxBackoffMs ?? 5_000;
  const failures: string[] = [];
  for (let attempt = 0; ; attempt++) {
    const url = urls[(batch + attempt) % urls.length]!;
    const timeoutMs = Math.min(maxTimeoutMs, firstTimeoutMs * 2 ** attempt);
    const where = url.toString();
    let status = 0;
    let retryAfterMs: number | undefined;
    const startedAt = Date.now();
    const told = failures.length;
    const tell = () => opts.onAttempt?.({ batch, attempt, url: where, startedAt, ms: Date.now() - startedAt, status, failure: failures.length > told ? failures[failures.length - 1]! : '' });
    try {
      const res = await post(url, headers, body, timeoutMs);
      status = res.status;
      const text = res.text;
      let j: Answer = {};
      try {
        j = (text ? JSON.parse(text) : {}) as Answer;
      } catch {
        // not JSON (a proxy's error page): the status says enough
      }
      if (!retriable(status)) {
        const ok = status < 300 || status === 422;
        if (!ok) failures.push(`${where}: HTTP ${status}${j.code ? ` ${j.code}` : ''}${j.message ? `: ${j.message}` : ''}`);
        const rejected = Array.isArray(j.rejected) ? j.rejected.length : typeof j.rejected === 'number' ? j.rejected : ok ? 0 : packets.length;
        tell();
        return { status, accepted: j.accepted ?? 0, duplicates: j.duplicates ?? 0, rejected, crossings: j.crossings ?? 0, retries: attempt, failures, failed: !ok };
      }
      failures.push(`${where}: HTTP ${status}${j.code ? ` ${j.code}` : ''}${j.message ? `: ${j.message}` : ''}`);
      const ra = Number(res.retryAfter);
      if (Number.isFinite(ra) && ra > 0) retryAfterMs = ra * 1000;
    } catch (err) {
      failures.push(`${where}: ${describeNetworkError(err, timeoutMs)}`);
    }
    tell();
    if (attempt >= maxRetries || opts.signal?.aborted) {
      return { status, accepted: 0, duplicates: 0, rejected: 0, crossings: 0, retries: attempt, failures, failed: true };
    }
    await sleep(Math.min(cap, retryAfterMs ?? Math.random() * Math.min(cap, base * 2 ** attempt)));
  }
}

export interface SimulationOptions extends FleetOptions, Omit<PostOptions, 'signal'> {
  /** Packets per second of wall time (default: vehicles / intervalS, i.e. real time). */
  rate?: number;
  /** Wall-clock seconds to run (default 60). */
  durationS?: number;
  /**
   * Stop after this many fleet ticks (each vehicle reports once per tick) instead of after
   * `durationS`: the same requests whatever the machine's speed or load (tests).
   */
  ticks?: number;
  /** Packets per request (default 500). */
  batchSize?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  onProgress?: (r: SimulationReport) => void;
  /** How a batch is delivered (default: postPackets to `targets`); e.g. over MQTT (sim/mqtt.ts). */
  send?: (batch: unknown[], n: number) => Promise<PostResult>;
}

export interface SimulationReport {
  elapsedS: number;
  sent: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  crossings: number;
  /** Requests posted (first attempts). */
  batches: number;
  /** Batches never acknowledged: given up after their retries, or refused for good (4xx). */
  failedBatches: number;
  /** Attempts beyond the first, over all batches. */
  retries: number;
  /** Batches that needed more than one attempt. */
  retriedBatches: number;
  /** Duplicates reported for batches that were retried: their earlier attempt had landed. */
  retriedDuplicates: number;
  /** Failed attempts by reason ("http://…/v1/packets: connection refused" → count). */
  failures: Record<string, number>;
  /** Why the first failed batch failed (its last attempt's reason). */
  firstFailure?: string;
  /** Set when the run stopped early: no target ever answered. */
  stoppedEarly?: string;
  fleet: FleetStats;
}

/** Paces the fleet against the wall clock and posts it to `targets`. */
export async function runSimulation(opts: SimulationOptions): Promise<SimulationReport> {
  if (opts.targets.length === 0 && !opts.send) throw new RangeError('options.targets must hold at least one URL');
  // Event time follows the wall clock by default (the gateway checks ts against its clock).
  const fleet = createFleet({ ...opts, startMs: opts.startMs ?? Math.floor(Date.now() / 1000) * 1000 });
  const perTick = fleet.options.vehicles;
  const rate = opts.rate ?? perTick / fleet.options.intervalS;
  if (!(rate > 0)) throw new RangeError('options.rate must be a positive number');
  const batchSize = opts.batchSize ?? 500;
  const concurrency = opts.concurrency ?? 4;
  if (opts.ticks !== undefined && !(Number.isInteger(opts.ticks) && opts.ticks > 0)) throw new RangeError('options.ticks must be a positive integer');
  if (opts.ticks !== undefined && opts.durationS !== undefined) throw new RangeError('options.ticks and options.durationS both given: the run stops after one of them');
  const durationMs = (opts.durationS ?? 60) * 1000;
  const t0 = Date.now();
  // Whether the run goes on: by ticks of the fleet, or by the wall clock.
  const ticks = opts.ticks;
  const timeUp = ticks !== undefined ? () => false : () => Date.now() - t0 >= durationMs;
  const goesOn = ticks !== undefined ? () => fleet.stats.ticks < ticks : () => !timeUp();
  const report: SimulationReport = {
    elapsedS: 0, sent: 0, accepted: 0, duplicates: 0, rejected: 0, crossings: 0, batches: 0, failedBatches: 0,
    retries: 0, retriedBatches: 0, retriedDuplicates: 0, failures: {}, fleet: fleet.stats,
  };
  // Cut short when a batch was given up before any target ever answered: nothing listens.
  const stop = new AbortController();
  let answered = false;
  const post = { ...opts, signal: stop.signal };
  const inflight = new Set<Promise<void>>();
  const send = async (batch: unknown[], n: number) => {
    const r = await (opts.send ? opts.send(batch, n) : postPackets(batch, post, n));
    report.sent += batch.length;
    report.accepted += r.accepted;
    report.duplicates += r.duplicates;
    report.rejected += r.rejected;
    report.crossings += r.crossings;
    report.retries += r.retries;
    if (r.retries > 0) {
      report.retriedBatches++;
      report.retriedDuplicates += r.duplicates;
    }
    for (const f of r.failures) report.failures[f] = (report.failures[f] ?? 0) + 1;
    if (r.status !== 0) answered = true;
    if (r.failed) {
      report.failedBatches++;
      report.firstFailure ??= r.failures[r.failures.length - 1];
      if (!answered && !stop.signal.aborted) {
        report.stoppedEarly = `no gateway answered: ${report.firstFailure}`;
        stop.abort();
      }
    }
  };
  let lastProgress = t0;
  let queued = 0;
  while (goesOn() && !stop.signal.aborted) {
    const packets = fleet.tick();
    for (let i = 0; i < packets.length; i += batchSize) {
      // Pace: the k-th packet is due at k / rate seconds after the start.
      const dueMs = t0 + (queued / rate) * 1000;
      const wait = dueMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (timeUp() || stop.signal.aborted) break;
      while (inflight.size >= concurrency) await Promise.race(inflight);
      if (stop.signal.aborted) break;
      const batch = packets.slice(i, i + batchSize);
      queued += batch.length;
      const p = send(batch, report.batches++).finally(() => inflight.delete(p));
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
