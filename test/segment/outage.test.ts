// ClickHouse outage: a PRIVATE clickhouse-server (never a shared one) is stopped mid-run and
// started again on the same ports and data. The processor pauses, retries with backoff,
// skips nothing, catches up, and the stored result equals the oracle.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startClickHouse, stopPid, type ClickHouseHandle } from '../../src/infra/index.ts';
import { createSegmentProcessor, type SegmentProcessor } from '../../src/segment/index.ts';
import { createClickHouseStore } from '../../src/store/index.ts';
import { segmentTopic } from '../../src/topology/index.ts';
import { randomName, testBus, waitFor } from '../helpers/index.ts';
import { expectFlowEqual, expectPacketsEqual, oracleInput, oracleOf, produceInChunks, simulateFleet, storedFlow } from './fixture.ts';

const WINDOW_S = 10;
const LATENESS_S = 0.5;

describe('segment processor during a ClickHouse outage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iov-seg-outage-'));
  const bus = testBus();
  let ch: ClickHouseHandle | undefined;
  let proc: SegmentProcessor | undefined;
  afterAll(async () => {
    await proc?.stop().catch(() => {});
    await bus.close();
    await stopPid(ch?.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  it('pauses while ClickHouse is down, then catches up to the oracle', async () => {
    ch = await startClickHouse('seg-outage', dir);
    const store = createClickHouseStore({ cloud: 'private', endpoint: { url: ch.url, database: 'iov' }, requestTimeoutMs: 3_000 });
    const seg = randomName('outage');
    const { records } = simulateFleet({ segments: [seg], vehicles: 30, steps: 60, windowS: WINDOW_S, seed: 5 });
    await bus.ensureTopics([{ topic: segmentTopic(seg), partitions: 4 }]);
    const half = Math.floor(records.length / 2);
    await produceInChunks(bus, records.slice(0, half));

    proc = createSegmentProcessor({
      segmentId: seg, bus, store, workers: 1, windowS: WINDOW_S, allowedLatenessS: LATENESS_S,
      maxBytesPerPartition: 8192, retry: { initialMs: 50, maxMs: 500 },
    });
    await proc.start();
    await waitFor(() => proc!.stats().windowsFlushed > 0, { timeoutMs: 30_000, what: 'first flushed window' });

    await stopPid(ch.pid);
    await produceInChunks(bus, records.slice(half));
    await waitFor(() => proc!.stats().storeRetries >= 3, { timeoutMs: 30_000, what: 'retries against the stopped server' });
    const during = proc.stats();
    expect(during.status).toBe('running');
    // Consumption paused: not everything produced has been committed.
    const ends = (await bus.endOffsets(segmentTopic(seg))).reduce((s, e) => s + Number(e.offset), 0);
    expect(Object.values(during.positions).reduce((s, x) => s + x, 0)).toBeLessThan(ends);

    ch = await startClickHouse('seg-outage', dir, { http: ch.httpPort, tcp: ch.tcpPort });
    await proc.drain({ timeoutMs: 45_000 });

    const oracle = oracleOf(await oracleInput(bus, [seg]), WINDOW_S, LATENESS_S);
    expect(oracle.rows.length).toBeGreaterThan(50);
    expectFlowEqual(await storedFlow([store], WINDOW_S), oracle);
    await expectPacketsEqual([store], oracle);
    expect(proc.stats().storeRetries).toBeGreaterThanOrEqual(3);
    await proc.stop();
    await store.close();
  });
});
