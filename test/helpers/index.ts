// Shared helpers for tests: the real servers the global setup started, random resource
// names, waitFor, and adapters with fast timeouts.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { createKafkaBus, type Bus } from '../../src/bus/index.ts';
import { createRedisState, type VehicleState } from '../../src/state/index.ts';
import { createClickHouseStore, type Store } from '../../src/store/index.ts';
import type { LocalInfraState } from '../../src/topology/index.ts';
import { mulberry32 } from '../../src/sim/index.ts';

export function infra(): LocalInfraState {
  const st = inject('infra');
  if (!st) throw new Error('this test needs the real servers, but the run was started with IOV_TEST_INFRA=none');
  return st;
}

export function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
  throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${(last as Error).message}` : ''}`);
}

/** A process's (or one of its threads') state letter from /proc: T = stopped. */
export function procState(pid: number, thread?: string): string {
  return readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8').replace(/^.*\) /, '')[0]!;
}

/**
 * SIGSTOP `pid` and wait until every thread of it is stopped. kill() returns once the signal
 * is queued; the process stops only when the thread picked to take the signal next runs, and
 * until then its other threads keep working. On a loaded box that window lasts milliseconds:
 * the Kafka mock cluster (one process, a thread per broker) acknowledged a produce sent after
 * kill() had returned (docs/gateway.md, "Kafka paused").
 */
export async function pauseProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  const stopped = () => readdirSync(`/proc/${pid}/task`).every((t) => /^[Tt]$/.test(procState(pid, t)));
  await waitFor(() => stopped(), { timeoutMs: 10_000, intervalMs: 5, what: `every thread of process ${pid} to stop` });
}

export function testBus(brokers = infra().kafka!.brokers): Bus {
  return createKafkaBus({ brokers, clientId: randomName('test'), sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, requestTimeoutMs: 5_000, retries: 2 });
}

export function testState(url = infra().redis!.url): VehicleState {
  return createRedisState({ url, keyPrefix: `${randomName('t')}:` });
}

/** A store on one of the test ClickHouse servers, in a fresh database of its own. */
export function testStore(server = 'cloud-a', database = randomName('t')): Store {
  const ch = infra().clickhouse[server];
  if (!ch) throw new Error(`no test ClickHouse named ${server}`);
  return createClickHouseStore({ cloud: server, endpoint: { url: ch.url, database } });
}

/** Seeded uniform [0, 1) stream (the simulator's mulberry32), so failing data can be replayed. */
export function rng(seed: number): () => number {
  const r = mulberry32(seed);
  return () => r.next();
}
