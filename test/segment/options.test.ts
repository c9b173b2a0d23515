// Fail-fast option checks (piscina test/option-validation habit), the error catalogue in step
// with docs/segment.md, and the small pure helpers of the processor. No servers.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/index.ts';
import type { PacketRow } from '../../src/flow/index.ts';
import { createSegmentProcessor, monthRuns, parseCommitMeta, SegmentError } from '../../src/segment/index.ts';
import type { Store } from '../../src/store/index.ts';
import type { Topology } from '../../src/topology/index.ts';

const bus = {} as Bus;
const store = {} as Store;

describe('createSegmentProcessor options', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['segmentId', { segmentId: 'a b' }, 'options.segmentId must be 1-64 characters of [A-Za-z0-9_.-]'],
    ['windowS', { windowS: 0 }, 'options.windowS must be a positive integer'],
    ['windowS', { windowS: 1.5 }, 'options.windowS must be a positive integer'],
    ['maxQueuedBatches', { maxQueuedBatches: -1 }, 'options.maxQueuedBatches must be a positive integer'],
    ['stepIntervalMs', { stepIntervalMs: -1 }, 'options.stepIntervalMs must be an integer from 0 to 60000'],
    ['stepIntervalMs', { stepIntervalMs: 2.5 }, 'options.stepIntervalMs must be an integer from 0 to 60000'],
    ['workers', { workers: -1 }, 'options.workers must be an integer from 0 to 64'],
    ['allowedLatenessS', { allowedLatenessS: Infinity }, 'options.allowedLatenessS must be a finite number ≥ 0'],
    ['bus', { bus: undefined }, 'options.bus is required'],
    ['store', { store: undefined }, 'options.store is required'],
  ];
  for (const [name, over, message] of cases) {
    it(`rejects a bad ${name}`, () => {
      const err = (() => {
        try {
          createSegmentProcessor({ segmentId: 'north', bus, store, ...over } as never);
        } catch (e) {
          return e as SegmentError;
        }
        throw new Error('no error');
      })();
      expect({ code: err.code, message: err.message }).toEqual({ code: 'SEG_INVALID_OPTION', message });
    });
  }

  it('rejects a segment the topology does not have', () => {
    const topology = { name: 'shanghai', segments: [{ id: 'north' }] } as unknown as Topology;
    expect(() => createSegmentProcessor({ segmentId: 'east', bus, store, topology })).toThrow(
      expect.objectContaining({ code: 'SEG_UNKNOWN_SEGMENT', message: 'segment "east" is not in topology "shanghai"' }),
    );
  });
});

describe('iov segment', () => {
  const run = (args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, ['bin/iov.mjs', 'segment', ...args], { cwd: new URL('../../', import.meta.url).pathname, timeout: 30_000 }, (err, _out, stderr) => {
      resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stderr });
    });
  });

  it('needs exactly one of --id and --all', async () => {
    expect(await run([])).toEqual({ code: 1, stderr: 'iov: [BAD_OPTION] give exactly one of --id <segment> or --all\n' });
  });

  it('rejects a bad --workers and an unknown segment', async () => {
    expect((await run(['--all', '--workers', 'x'])).stderr).toBe('iov: [BAD_OPTION] --workers must be an integer from 0 to 64, got x\n');
    expect((await run(['--id', 'nowhere'])).stderr).toBe('iov: [SEG_UNKNOWN_SEGMENT] segment "nowhere" is not in topology "shanghai"\n');
  });
});

describe('processor helpers', () => {
  it('parses only its own commit metadata', () => {
    expect(parseCommitMeta('{"v":1,"wm":123,"e":7}')).toEqual({ v: 1, wm: 123, e: 7 });
    expect(parseCommitMeta('{"v":1,"wm":null,"e":0}')).toEqual({ v: 1, wm: null, e: 0 });
    expect(parseCommitMeta('wm=3')).toBeUndefined();
    expect(parseCommitMeta(null)).toBeUndefined();
  });

  it('cuts packet rows into single-month runs in offset order', () => {
    const row = (ts: number, o: number) => ({ ts_ms: ts, kafka_offset: String(o) }) as PacketRow;
    const jan = Date.UTC(2024, 0, 31, 23, 59, 59);
    const feb = Date.UTC(2024, 1, 1, 0, 0, 1);
    const runs = monthRuns([row(jan, 1), row(jan, 2), row(feb, 3), row(jan, 4), row(feb, 5), row(feb, 6)], 100);
    expect(runs.map((r) => r.map((x) => x.kafka_offset))).toEqual([['1', '2'], ['3'], ['4'], ['5', '6']]);
    expect(monthRuns([row(jan, 1), row(jan, 2), row(jan, 3)], 2).map((r) => r.length)).toEqual([2, 1]);
  });
});

describe('error catalogue', () => {
  it('fills message templates', () => {
    const e = new SegmentError('SEG_POISON', [2, 17, 'iov.seg.n.dlq', 'bad']);
    expect([e.code, e.message, e.statusCode, e.retriable]).toEqual(['SEG_POISON', 'undecodable message at partition 2 offset 17 sent to iov.seg.n.dlq: bad', 422, false]);
  });
});
