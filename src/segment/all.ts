// Run every segment of a topology in one process: one processor (consumer group + pool) per
// segment, each writing to the ClickHouse of its segment's cloud.
import type { Registry } from 'prom-client';
import type { Bus } from '../bus/index.ts';
import type { Store } from '../store/index.ts';
import type { Topology } from '../topology/index.ts';
import { createSegmentProcessor } from './processor.ts';
import type { LeftOpen, SegmentHealth, SegmentProcessor, SegmentProcessorOptions, SegmentStats } from './types.ts';
import { segmentMetrics } from './metrics.ts';

export interface AllSegmentsOptions extends Omit<SegmentProcessorOptions, 'segmentId' | 'store' | 'topology' | 'bus' | 'topic' | 'dlqTopic' | 'groupId'> {
  bus: Bus;
  /** The Store of a cloud (called once per segment; the caller may share one Store per cloud). */
  storeFor: (cloud: string) => Store;
  /** Only these segments (default: all). */
  segments?: string[];
  /** Per-segment overrides (e.g. workers from a plan). */
  perSegment?: Record<string, Partial<SegmentProcessorOptions>>;
}

export interface AllSegments {
  processors: SegmentProcessor[];
  start(): Promise<void>;
  stop(): Promise<void>;
  drain(opts?: { timeoutMs?: number }): Promise<void>;
  /** Every processor's settle(), in one list. */
  settle(): Promise<LeftOpen[]>;
  stats(): SegmentStats[];
  /** Every processor's health in one: live if all are, ready if all are. */
  health(): SegmentHealth;
  metrics(): Registry;
}

export function runAllSegments(topology: Topology, opts: AllSegmentsOptions): AllSegments {
  const registry = segmentMetrics(opts.registry).registry;
  const { storeFor, segments, perSegment, ...common } = opts;
  const chosen = topology.segments.filter((s) => !segments || segments.includes(s.id));
  const processors = chosen.map((s) => createSegmentProcessor({
    ...common, registry, topology, segmentId: s.id, store: storeFor(s.cloud), ...perSegment?.[s.id],
  }));
  return {
    processors,
    async start() {
      await Promise.all(processors.map((p) => p.start()));
    },
    async stop() {
      await Promise.all(processors.map((p) => p.stop()));
    },
    async drain(o) {
      await Promise.all(processors.map((p) => p.drain(o)));
    },
    async settle() {
      return (await Promise.all(processors.map((p) => p.settle()))).flat();
    },
    stats: () => processors.map((p) => p.stats()),
    health: () => combinedHealth(processors.map((p) => p.health())),
    metrics: () => registry,
  };
}

function combinedHealth(all: SegmentHealth[]): SegmentHealth {
  const worst = all.find((h) => !h.live) ?? all.find((h) => !h.ready) ?? all[0];
  return {
    live: all.every((h) => h.live),
    ready: all.length > 0 && all.every((h) => h.ready),
    status: worst?.status ?? 'idle',
    stopped: all.flatMap((h) => h.stopped),
    owned: all.flatMap((h) => h.owned),
  };
}
