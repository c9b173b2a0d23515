// One segment processor as its own OS process, for the multi-process fencing tests
// (test/segment/fencing.test.ts starts it under tsx). Configuration in the IOV_MEMBER
// environment variable (JSON, see MemberConfig). It prints one JSON line per event on
// stdout — started, stats (every 200 ms), drained, exit — and takes commands on stdin:
// "drain" (drain, then report) and "stop". Exits 0 after a stop, 3 when the processor
// crashed (e.g. fenced), with its last stats in the exit line.
import { writeSync } from 'node:fs';
import { createKafkaBus } from '../../src/bus/index.ts';
import { createRedisFence } from '../../src/fence/index.ts';
import { createSegmentProcessor, type SegmentFaults } from '../../src/segment/index.ts';
import { createClickHouseStore, type Store } from '../../src/store/index.ts';

export interface MemberConfig {
  segment: string;
  brokers: string[];
  redisUrl: string;
  fencePrefix: string;
  clickhouseUrl: string;
  database: string;
  windowS: number;
  allowedLatenessS: number;
  leaseTtlMs: number;
  writeDeadlineMs: number;
  /** Stop this process (SIGSTOP to itself) at this fault point once it has done this many batches. */
  pauseAt?: { point: 'afterDecode' | 'afterPackets' | 'afterInsertBeforeCommit'; afterBatches: number };
}

const cfg = JSON.parse(process.env.IOV_MEMBER ?? '') as MemberConfig;
const say = (event: string, extra: object = {}) => process.stdout.write(`${JSON.stringify({ event, ...extra })}\n`);

const bus = createKafkaBus({ brokers: cfg.brokers, clientId: `member-${process.pid}`, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, requestTimeoutMs: 5_000, retries: 2 });
const chStore = createClickHouseStore({ cloud: 'test', endpoint: { url: cfg.clickhouseUrl, database: cfg.database } });
// Inserts this process CALLED after it was resumed and that succeeded: the fencing test
// expects none (an insert called before the pause may still complete after it: it was
// started, and landed, before the lease could move; the duplicate checks cover it).
let insertsAfterResume = 0;
const afterResume = async (p: Promise<void>, calledAfterResume: boolean) => {
  await p;
  if (calledAfterResume) insertsAfterResume++;
};
const store: Store = {
  ...chStore,
  insert: (table, rows, o) => afterResume(chStore.insert(table, rows, o), paused),
  insertEncoded: (table, format, body, columns, o) => afterResume(chStore.insertEncoded!(table, format, body, columns, o), paused),
};
const fence = createRedisFence({ url: cfg.redisUrl, keyPrefix: cfg.fencePrefix });
const faults: SegmentFaults = {};
let paused = false;
if (cfg.pauseAt) {
  const { point, afterBatches } = cfg.pauseAt;
  faults[point] = () => {
    if (paused || proc.stats().batches < afterBatches) return;
    paused = true;
    // Synchronously, so the line is out before the process stops.
    writeSync(1, `${JSON.stringify({ event: 'pausing', stats: proc.stats() })}\n`);
    // A real pause of the whole process (as a GC stall or VM freeze), right at this point.
    process.kill(process.pid, 'SIGSTOP');
  };
}
const proc = createSegmentProcessor({
  segmentId: cfg.segment, bus, store, fence, workers: 0, windowS: cfg.windowS, allowedLatenessS: cfg.allowedLatenessS,
  leaseTtlMs: cfg.leaseTtlMs, writeDeadlineMs: cfg.writeDeadlineMs, maxBytesPerPartition: 2048, maxQueuedBatches: 2,
  retry: { initialMs: 20, maxMs: 200 }, faults,
});

async function exit(code: number): Promise<never> {
  clearInterval(ticker);
  const stats = proc.stats();
  await proc.stop().catch(() => {});
  await Promise.allSettled([bus.close(), store.close(), fence.close()]);
  say('exit', { code, stats, insertsAfterResume });
  process.exit(code);
}

await proc.start();
say('started');
const ticker = setInterval(() => {
  const stats = proc.stats();
  say('stats', { stats });
  if (stats.status === 'crashed') void exit(3);
}, 200);

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  input += chunk;
  for (let i = input.indexOf('\n'); i >= 0; i = input.indexOf('\n')) {
    const cmd = input.slice(0, i).trim();
    input = input.slice(i + 1);
    if (cmd === 'drain') proc.drain({ timeoutMs: 60_000 }).then(() => say('drained', { stats: proc.stats() }), (err: Error) => say('drain-failed', { message: err.message }));
    if (cmd === 'stop') void exit(0);
  }
});
