// A member that could not renew its partition's lease for a whole ttl (here: its process did
// not run — the main thread blocked, as in a long GC stall — while a worker thread watched the
// lease key expire in Redis). When it runs again, the lease's grant counter decides
// (docs/segment.md, Fencing, point 17): still its epoch (nobody was granted the lease) → it
// takes the lease again and goes on, and the result equals the batch oracle with nothing
// stored twice; moved (another member was granted it meanwhile) → SEG_FENCED, writing nothing
// more, as before. Real Redis and ClickHouse (plain MergeTree tables, so a row stored twice
// would stay visible); the in-memory bus keeps the group simple (one member).
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/bus/index.ts';
import { createRedisFence } from '../../src/fence/index.ts';
import type { Logger, SegmentProcessor } from '../../src/segment/index.ts';
import { infra, randomName, waitFor } from '../helpers/index.ts';
import type { LeaseWatch } from './lease-watch.ts';
import { expectFlowEqual, expectPacketsEqual, oracleInput, oracleOf, plainTables, produceInChunks, segmentSuite, simulateFleet, storedFlow, storedPackets, type SegmentSuite } from './fixture.ts';

const WINDOW_S = 10;
const LATENESS_S = 1;
// Short enough for a quick test, long enough that a renewal round trip on the loaded box
// (well under a second) never leaves less than the write deadline.
const TTL_MS = 3_000;
const WRITE_DEADLINE_MS = 1_000;

/**
 * Block this thread (the processor cannot run: no renewal, no write) until the worker saw the
 * partition's lease expire in Redis and, with `take`, took it as another member.
 */
async function freezePastLease(keyPrefix: string, resource: string, take: boolean): Promise<void> {
  const flag = new SharedArrayBuffer(4);
  const watch: LeaseWatch = { url: infra().redis!.url, keyPrefix, resource, take, flag };
  const worker = new Worker(new URL('./lease-watch.mjs', import.meta.url), { workerData: watch });
  const errors: string[] = [];
  const [ready] = await once(worker, 'message') as [string];
  expect(ready).toBe('ready');
  worker.on('message', (m: string) => errors.push(m));
  worker.postMessage('go');
  // The worker wakes this thread only after it saw the lease key gone from Redis.
  expect(Atomics.wait(new Int32Array(flag), 0, 0, 30_000)).toBe('ok');
  await once(worker, 'exit');
  expect(errors).toEqual([]);
  expect(Atomics.load(new Int32Array(flag), 0)).toBe(1);
}

/** The lease's latest epoch, read through a fence of its own. */
async function epochOf(keyPrefix: string, resource: string): Promise<number> {
  const fence = createRedisFence({ url: infra().redis!.url, keyPrefix });
  try {
    return await fence.epoch(resource);
  } finally {
    await fence.close();
  }
}

interface Run {
  p: SegmentProcessor;
  seg: string;
  topic: string;
  keyPrefix: string;
  resource: string;
  warnings: string[];
  records: ReturnType<typeof simulateFleet>['records'];
}

/** A fenced processor on a one-partition segment, having processed the first half of a stream. */
async function firstHalf(suite: SegmentSuite, seed: number): Promise<Run> {
  const { seg, topic, groupId } = await suite.segment('lease', 1);
  const keyPrefix = `${randomName('t')}:`;
  const fence = createRedisFence({ url: infra().redis!.url, keyPrefix });
  const warnings: string[] = [];
  const logger: Logger = { info() {}, warn: (_o, msg) => warnings.push(String(msg)), error() {} };
  const p = suite.processor({
    segmentId: seg, groupId, fence, leaseTtlMs: TTL_MS, writeDeadlineMs: WRITE_DEADLINE_MS, allowedLatenessS: LATENESS_S, logger,
    retry: { initialMs: 20, maxMs: 200 },
  });
  const { records } = simulateFleet({ segments: [seg], vehicles: 20, steps: 40, windowS: WINDOW_S, seed, lateShare: 0.03 });
  const half = Math.floor(records.length / 2);
  await produceInChunks(suite.bus, records.slice(0, half));
  await p.start();
  await waitFor(() => p.stats().positions[0] === half, { timeoutMs: 30_000, what: 'the first half processed' });
  const resource = `seg:${seg}:${topic}:0`;
  expect(await epochOf(keyPrefix, resource)).toBe(1);
  return { p, seg, topic, keyPrefix, resource, warnings, records };
}

describe('segment processor: a lease that lapsed while the member could not run', () => {
  const kept = segmentSuite(createMemoryBus({ retention: 'all' }), 'cloud-a', WINDOW_S);
  const moved = segmentSuite(createMemoryBus({ retention: 'all' }), 'cloud-b', WINDOW_S);

  it('nobody was granted it meanwhile: the member takes it again under the same epoch and goes on; the result equals the oracle', async () => {
    await plainTables(kept.store);
    const run = await firstHalf(kept, 31);
    await freezePastLease(run.keyPrefix, run.resource, false);
    // Running again: the renewal (or the next write's check) finds the lease lapsed and the
    // grant counter still at its epoch.
    const half = Math.floor(run.records.length / 2);
    await produceInChunks(kept.bus, run.records.slice(half));
    await waitFor(() => run.p.stats().positions[0] === run.records.length, { timeoutMs: 30_000, what: 'the second half processed' });
    await run.p.drain({ timeoutMs: 30_000 });
    expect(run.p.stats()).toMatchObject({ status: 'running', stopped: [] });
    expect(run.warnings).toContain('partition lease renewed after its validity here had run out: nobody was granted it meanwhile');
    expect(await epochOf(run.keyPrefix, run.resource)).toBe(1);

    const oracle = oracleOf(await oracleInput(kept.bus, [run.seg]), WINDOW_S, LATENESS_S);
    expect(oracle.rows.length).toBeGreaterThan(20);
    expectFlowEqual(await storedFlow([kept.store], WINDOW_S), oracle);
    await expectPacketsEqual([kept.store], oracle);
  }, 120_000);

  it('another member was granted it meanwhile: SEG_FENCED, and nothing more is written', async () => {
    await plainTables(moved.store);
    const run = await firstHalf(moved, 32);
    const before = { rows: run.p.stats().rowsWritten, stored: await storedPackets(moved.store, run.seg) };
    await freezePastLease(run.keyPrefix, run.resource, true);
    const half = Math.floor(run.records.length / 2);
    await produceInChunks(moved.bus, run.records.slice(half));
    await waitFor(() => run.p.stats().status === 'crashed', { timeoutMs: 30_000, what: 'the member to stop' });
    expect(run.p.stats().crashed).toBe('partition 0: lease (epoch 1) lost: the lease expired or another member took it; this member writes nothing more');
    expect(run.p.stats().rowsWritten).toEqual(before.rows);
    expect(await storedPackets(moved.store, run.seg)).toBe(before.stored);
    expect(run.warnings).not.toContain('partition lease renewed after its validity here had run out: nobody was granted it meanwhile');
  }, 120_000);
});
