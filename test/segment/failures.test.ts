// Failures retrying cannot fix are loud (issue #16 item 5): on the real ClickHouse, a
// `packets` table that lost a column makes every packets insert fail with ClickHouse code 16
// (NO_SUCH_COLUMN_IN_TABLE). Each partition stops with that code — error log, gauge,
// stats, a failing /readyz, drain() rejecting — without one retry and without one commit.
// Once the table is mended, a restarted processor resumes from nothing committed and ends
// with the oracle's result. The retry table itself is checked against each kind of error.
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createMemoryBus, BusError } from '../../src/bus/index.ts';
import { createSegmentProcessor, segmentHttpHandler } from '../../src/segment/index.ts';
import { isRetriable } from '../../src/segment/retry.ts';
import { StoreError, toStoreError } from '../../src/store/index.ts';
import { segmentGroup, segmentTopic } from '../../src/topology/index.ts';
import { randomName, testStore, waitFor } from '../helpers/index.ts';
import { closedAfterSuite, errorLog, expectFlowEqual, expectPacketsEqual, oracleInput, oracleOf, produceInChunks, simulateFleet, storedFlow } from './fixture.ts';

const WINDOW_S = 10;
const LATENESS_S = 1;

describe('segment processor: failures retrying cannot fix', () => {
  const bus = createMemoryBus({ retention: 'all' });
  const store = testStore('cloud-b');
  const live = closedAfterSuite(bus, store);

  it('classifies errors: ClickHouse codes through the store table, programming errors never retried', () => {
    const server = (code: number) => toStoreError(Object.assign(new Error(`Code: ${code}, e.displayText() = DB::Exception: x`), { code: String(code) }), 'c');
    expect([252, 241, 159, 209, 210, 319].map((c) => isRetriable(server(c)))).toEqual([true, true, true, true, true, true]);
    // NO_SUCH_COLUMN_IN_TABLE, TYPE_MISMATCH, SYNTAX_ERROR, CANNOT_PARSE_TEXT, UNKNOWN_TABLE
    expect([16, 53, 62, 6, 60].map((c) => isRetriable(server(c)))).toEqual([false, false, false, false, false]);
    expect(isRetriable(toStoreError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'c'))).toBe(true);
    expect(isRetriable(new StoreError('STORE_QUERY', 'bad', false))).toBe(false);
    expect(isRetriable(new BusError('BUS_UNAVAILABLE', 'down', true))).toBe(true);
    expect(isRetriable(new TypeError('x is not a function'))).toBe(false);
    expect(isRetriable(new Error('socket hang up'))).toBe(true);
  });

  it('stops each partition with ClickHouse code 16, loudly, and resumes from the commit once mended', async () => {
    const seg = randomName('fail');
    const topic = segmentTopic(seg);
    const { records } = simulateFleet({ segments: [seg], vehicles: 20, steps: 30, windowS: WINDOW_S, seed: 3 });
    await bus.ensureTopics([{ topic, partitions: 2 }]);
    await produceInChunks(bus, records);
    await store.migrate();
    await store.command('ALTER TABLE packets DROP COLUMN heading');

    const { errors, logger } = errorLog();
    const a = createSegmentProcessor({ segmentId: seg, bus, store, workers: 0, windowS: WINDOW_S, allowedLatenessS: LATENESS_S, logger, retry: { initialMs: 10, maxMs: 50 } });
    live.push(a);
    await a.start();
    await waitFor(() => a.stats().stopped.length === 2, { timeoutMs: 20_000, what: 'both partitions stopped' });

    const stats = a.stats();
    expect(stats.status).toBe('running');
    expect(stats.storeRetries).toBe(0);
    expect(stats.rowsWritten).toEqual({ packets: 0, traffic_flow: 0 });
    expect(stats.stopped.map((s) => [s.partition, s.what, s.code, s.serverCode]).sort()).toEqual([
      [0, 'insert packets', 'STORE_QUERY', 16], [1, 'insert packets', 'STORE_QUERY', 16],
    ]);
    expect(stats.stopped[0]!.message).toMatch(/heading/);
    expect(errors.map((e) => [e.obj.partition, e.obj.code, e.obj.serverCode]).sort()).toEqual([[0, 'STORE_QUERY', 16], [1, 'STORE_QUERY', 16]]);
    expect(errors[0]!.msg).toMatch(/^partition \d stopped: insert packets failed with STORE_QUERY \(ClickHouse code 16\), which retrying cannot fix: .*heading/);
    const metrics = await a.metrics().metrics();
    for (const p of [0, 1]) expect(metrics).toContain(`iov_segment_partition_stopped{segment="${seg}",partition="${p}",code="STORE_QUERY",server_code="16"} 1`);
    expect(a.health()).toMatchObject({ live: true, ready: false, status: 'running' });
    await expect(a.drain({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'SEG_PARTITION_STOPPED' });

    // The endpoints, over a real socket.
    const server = createServer(segmentHttpHandler(a));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const healthz = await fetch(`${base}/healthz`);
      expect([healthz.status, await healthz.json()]).toEqual([200, { live: true, status: 'running' }]);
      const readyz = await fetch(`${base}/readyz`);
      expect(readyz.status).toBe(503);
      expect(((await readyz.json()) as { stopped: { code: string }[] }).stopped.map((s) => s.code)).toEqual(['STORE_QUERY', 'STORE_QUERY']);
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
    } finally {
      server.close();
    }
    await a.stop();

    // Nothing was committed, nothing stored: a restart after the fix redoes everything.
    const probe = bus.consumer({ groupId: segmentGroup(seg), topics: [topic] });
    expect(await probe.committed(topic)).toEqual([]);
    await probe.stop();
    await store.command('ALTER TABLE packets ADD COLUMN heading Float32');
    const b = createSegmentProcessor({ segmentId: seg, bus, store, workers: 0, windowS: WINDOW_S, allowedLatenessS: LATENESS_S, retry: { initialMs: 10, maxMs: 50 } });
    live.push(b);
    await b.start();
    await b.drain({ timeoutMs: 30_000 });
    expect(b.health()).toMatchObject({ live: true, ready: true, stopped: [] });
    const oracle = oracleOf(await oracleInput(bus, [seg]), WINDOW_S, LATENESS_S);
    expect(oracle.rows.length).toBeGreaterThan(20);
    expectFlowEqual(await storedFlow([store], WINDOW_S), oracle);
    await expectPacketsEqual([store], oracle);
    await b.stop();
  });
});
