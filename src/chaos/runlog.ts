// A chaos run's folder as its flight recorder: every child's output, the simulator's
// attempts and samples of each gateway's metrics, one file each, so a failing seed can be
// diagnosed after the fact (the demo keeps the folder when a check fails). Lines are stamped
// with the run's clock ("t+12.3"), the same as the run's events.
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AttemptRecord } from '../sim/index.ts';
import { runClock } from './run.ts';

/** Gateway metrics worth a sample: what a gateway did while clients waited. */
const SAMPLED = /^iov_gateway_(requests_total|packets_accepted_total|duplicates_total|dedup_takeovers_total|circuit_state|circuit_fast_fail_total|inflight_bytes|vehicle_waits_total|kafka_produce_seconds_(count|sum)|state_seconds_(count|sum)|nodejs_eventloop_lag_seconds|process_cpu_seconds_total)(\{[^}]*\})? /;

export interface RunLog {
  /** Append a line to `<name>.log`. */
  line(name: string, text: string): void;
  attempt(a: AttemptRecord): void;
  /** Sample each gateway's /metrics (and this process's event-loop delay) every `everyMs` until stopped. */
  sampleGateways(urls: () => { name: string; url: string }[], everyMs: number): { stop(): void };
  close(): Promise<void>;
}

export function createRunLog(dir: string, t0: number): RunLog {
  const files = new Map<string, WriteStream>();
  const file = (name: string) => {
    let f = files.get(name);
    if (!f) files.set(name, (f = createWriteStream(join(dir, `${name}.log`), { flags: 'a' })));
    return f;
  };
  const line = (name: string, text: string) => void file(name).write(`${runClock(t0)} ${text}\n`);
  return {
    line,
    attempt(a) {
      line('sim', `batch ${a.batch} attempt ${a.attempt} sent ${runClock(t0, a.startedAt)} to ${a.url}: ${a.ms} ms, ${a.failure || `HTTP ${a.status}`}`);
    },
    sampleGateways(urls, everyMs) {
      const lag = monitorEventLoopDelay({ resolution: 20 });
      lag.enable();
      let busy = false;
      const timer = setInterval(() => {
        line('demo', `event loop delay max ${(lag.max / 1e6).toFixed(0)} ms, mean ${(lag.mean / 1e6).toFixed(1)} ms`);
        lag.reset();
        if (busy) return;
        busy = true;
        void Promise.all(urls().map(async ({ name, url }) => {
          const t = Date.now();
          try {
            const res = await fetch(new URL('/metrics', url), { signal: AbortSignal.timeout(everyMs * 2) });
            const text = await res.text();
            const picked = text.split('\n').filter((l) => SAMPLED.test(l)).map((l) => l.replace(/^iov_gateway_/, ''));
            line(`${name}.metrics`, `(${Date.now() - t} ms) ${picked.join(' | ')}`);
          } catch (err) {
            line(`${name}.metrics`, `no answer after ${Date.now() - t} ms: ${(err as Error).message}`);
          }
        })).finally(() => { busy = false; });
      }, everyMs);
      timer.unref();
      return { stop: () => { clearInterval(timer); lag.disable(); } };
    },
    async close() {
      await Promise.all([...files.values()].map((f) => new Promise<void>((r) => f.end(r))));
    },
  };
}
