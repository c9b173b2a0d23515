// White box: the micro-batching producer queue, stepped deterministically with a bus whose
// produce calls the test resolves or rejects by hand (piscina task-queue style).
import { describe, expect, it } from 'vitest';
import type { Bus, ProduceRecord } from '../../../src/bus/index.ts';
import { createBatcher, OverloadError } from '../../../src/gateway/batcher.ts';

function steppedBus() {
  const calls: { records: ProduceRecord[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  const bus = {
    produce: (records: ProduceRecord[]) => new Promise<void>((resolve, reject) => calls.push({ records, resolve, reject })),
  } as unknown as Bus;
  return { bus, calls };
}
const recs = (tag: string, n: number): ProduceRecord[] => Array.from({ length: n }, (_, i) => ({ topic: 't', key: tag, value: Buffer.from(`${tag}${i}`) }));
const tick = () => new Promise((r) => setImmediate(r));

describe('produce batcher', () => {
  it('merges concurrent jobs into one call, in order, and settles each only with its call', async () => {
    const { bus, calls } = steppedBus();
    const b = createBatcher({ bus, maxInFlightBytes: 1_000, maxBatchRecords: 100, maxConcurrent: 1, lingerMs: 0 });
    const settled: string[] = [];
    const j1 = b.submit(recs('a', 2), 10).then(() => settled.push('a'));
    const j2 = b.submit(recs('b', 3), 10).then(() => settled.push('b'));
    await tick();
    expect(calls.length).toBe(1);
    expect(calls[0]!.records.map((r) => r.value.toString())).toEqual(['a0', 'a1', 'b0', 'b1', 'b2']);
    // Jobs submitted while a call is in flight wait for the next call.
    const j3 = b.submit(recs('c', 1), 10).then(() => settled.push('c'));
    await tick();
    expect(calls.length).toBe(1);
    expect(settled).toEqual([]);
    expect(b.outstandingBytes).toBe(30);
    calls[0]!.resolve();
    await Promise.all([j1, j2]);
    await tick();
    expect(settled).toEqual(['a', 'b']);
    expect(calls.length).toBe(2);
    expect(calls[1]!.records.map((r) => r.value.toString())).toEqual(['c0']);
    calls[1]!.resolve();
    await j3;
    expect(b.outstandingBytes).toBe(0);
  });

  it('never splits a job; respects maxBatchRecords between jobs', async () => {
    const { bus, calls } = steppedBus();
    const b = createBatcher({ bus, maxInFlightBytes: 1_000, maxBatchRecords: 4, maxConcurrent: 2, lingerMs: 0 });
    const jobs = [b.submit(recs('a', 3), 1), b.submit(recs('b', 3), 1), b.submit(recs('c', 6), 1)];
    await tick();
    expect(calls.map((c) => c.records.length)).toEqual([3, 3]); // two lanes
    calls[0]!.resolve();
    await tick();
    await tick();
    expect(calls.map((c) => c.records.length)).toEqual([3, 3, 6]); // a whole 6-record job beyond the cap
    calls[1]!.resolve();
    calls[2]!.resolve();
    await Promise.all(jobs);
  });

  it('a failed call rejects every job in it; the bound refuses new jobs at once', async () => {
    const { bus, calls } = steppedBus();
    const b = createBatcher({ bus, maxInFlightBytes: 100, maxBatchRecords: 100, maxConcurrent: 1, lingerMs: 0 });
    const j1 = b.submit(recs('a', 1), 60);
    await expect(b.submit(recs('b', 1), 50)).rejects.toBeInstanceOf(OverloadError);
    const j2 = b.submit(recs('c', 1), 40);
    await tick();
    const boom = new Error('broker down');
    calls[0]!.reject(boom);
    await expect(j1).rejects.toBe(boom);
    await expect(j2).rejects.toBe(boom);
    expect(b.outstandingBytes).toBe(0);
    // A single job larger than the bound passes when nothing else is outstanding.
    const big = b.submit(recs('d', 1), 500);
    await tick();
    calls[1]!.resolve();
    await big;
    await b.drain();
  });
});
