// runPipeline: the whole pipeline in one process (DESIGN.md §7, issue 7) —
//   topology → cabin plan → gateway ingest() → segment processors (one per segment, pools
//   sized by the plan) → stores (one per cloud) → federated queries → checks.
// Embedded by default (in-memory bus and vehicle state, chDB with one database per cloud);
// `mode: 'local'` uses the servers `iov infra up` started, in a namespace of its own (topics,
// consumer groups, Redis keys and databases per run), so runs on the same servers never meet.
// Everything is assembled by the composition root (src/runtime). The returned summary
// carries the end-of-run checks; `iov demo` exits 0 only when every one holds.
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import { existsSync } from 'node:fs';
import type { BusConsumer } from '../bus/index.ts';
import { allocate, centresFromFolder, DEFAULT_DEMAND, instanceFromTopology, loadDemand, planFromResult } from '../cabin/index.ts';
import type { Federator } from '../federation/index.ts';
import { DEFAULT_ALLOWED_LATENESS_S, DEFAULT_WINDOW_S } from '../flow/index.ts';
import type { SegmentProcessor, SegmentStats } from '../segment/index.ts';
import { DEFAULT_TOPOLOGY_FILE, openRuntime, REPO_ROOT } from '../runtime/index.ts';
import { connectMqttPublisher, createFleet, type Fractions } from '../sim/index.ts';
import type { Gateway, IngestResult } from '../gateway/index.ts';
import { quoteString, type Store } from '../store/index.ts';
import { loadTopology, replicasFor, segmentGroup, segmentTopic, type ReplicaPlan, type Topology } from '../topology/index.ts';
import { runChecks, type Check, type FlowTotals } from './checks.ts';
import { faultyStore, tapBus, type Faults } from './tap.ts';

export { REPO_ROOT };

export interface PipelineOptions {
  /** 'embedded' (default): no servers. 'local': the servers of `iov infra up`. */
  mode?: 'embedded' | 'local';
  topologyFile?: string;
  /** The state folder of `iov infra up` (local mode; default IOV_STATE_DIR, else .iov). */
  stateDir?: string;
  /** Wall-clock seconds of simulated traffic (default 60). */
  durationS?: number;
  /**
   * Stop after this many fleet ticks (each `intervalS` of event time) instead of after
   * `durationS`: the same traffic whatever the machine's speed or load (tests; `--ticks`).
   */
  ticks?: number;
  /** Fleet size (default 2 000: a short run then covers several 60-s windows; see docs/demo.md). */
  vehicles?: number;
  seed?: number;
  /** Reporting interval per vehicle, seconds of event time (default 5). */
  intervalS?: number;
  /** Tumbling window, seconds (default 60). */
  windowS?: number;
  /** Allowed lateness, seconds (default DEFAULT_ALLOWED_LATENESS_S, the segment processors' own). */
  allowedLatenessS?: number;
  fractions?: Partial<Fractions>;
  /** Late packets are held back this long, event-time seconds (default 180: past the lateness). */
  lateByS?: number;
  /** Packets per gateway ingest() call (one telematics gateway request; default 1000). */
  requestSize?: number;
  /**
   * Gateway requests in flight at once (default 1). More overlap the state round trips of
   * several requests (as several telematics gateways would); the checks still hold because
   * they follow the order the bus actually received.
   */
  ingestConcurrency?: number;
  /** Called as each step completes (the CLI prints them live). */
  onStep?: (s: Step) => void;
  /** Pause ingest while the consumers lag more than this many messages in total (default 150 000). */
  maxLag?: number;
  /** Upper bound on workers per segment, whatever the plan says (default 2: the box has 2 cores; 0 = no pool). */
  maxWorkersPerSegment?: number;
  /** Workers per segment when no cabin plan is available (default: min(maxReplicas, 2)). */
  fallbackWorkers?: number;
  /** Cabin solver for the replica plan (default 'exact'). */
  solver?: 'exact' | 'fast' | 'ga';
  /**
   * Local mode only: the fleet is published over MQTT (QoS 1, one message per request) to the
   * local mosquitto, and the in-process gateway takes it from there through the MQTT ingest
   * path of `iov gateway --mqtt` (docs/mqtt.md) instead of being called directly.
   */
  mqtt?: boolean;
  /** Break an invariant on purpose (tests): the checks must then fail. */
  faults?: Faults;
  /** Progress callback, about once per `progressEveryMs` (default 1000). */
  onProgress?: (p: Progress) => void;
  progressEveryMs?: number;
  /** Seconds to wait at the end for the consumers to catch up (default 60). */
  settleTimeoutS?: number;
  /**
   * Latency probes (bench/e2e.ts): every `everyMs`, one extra packet of a fresh vehicle rides
   * in the next request; its store is polled every `pollMs` (default 50) until its row is
   * queryable. Latency = queryable − the start of the ingest call that carried it.
   */
  probe?: { everyMs: number; pollMs?: number };
  /** Called once the stores, the gateway and the processors run (`iov demo --ui` serves the map from it). */
  onLive?: (run: LiveRun) => Promise<void> | void;
  /** Awaited with the final summary before the run's resources close (`iov demo --ui` keeps the map up until Ctrl-C). */
  holdOpen?: (summary: PipelineSummary) => Promise<void>;
}

export interface LiveRun {
  topology: Topology;
  stores: Store[];
  /** The in-process components' metrics: the gateway's and each segment processor's. */
  metrics: { name: string; registry: Registry }[];
}

export interface ProbeStats {
  sent: number;
  found: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface SegmentProgress {
  segment: string;
  lag: number;
  stats: SegmentStats;
}

export interface Progress {
  elapsedS: number;
  phase: 'ingest' | 'settle' | 'drain';
  /** Packets offered to the gateway per wall second since the last progress. */
  packetsPerS: number;
  offered: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  crossings: number;
  /** Event time the fleet has reached, epoch ms. */
  eventTime: number;
  segments: SegmentProgress[];
  /** Windows stored (sum of the processors' counters). */
  windowsFlushed: number;
}

export type StepStatus = 'ok' | 'fallback' | 'unavailable' | 'failed';

export interface Step {
  name: string;
  status: StepStatus;
  detail: string;
}

export interface QueryResult {
  title: string;
  sql: string;
  columns: string[];
  rows: Record<string, unknown>[];
  clouds: { cloud: string; status: string; ms: number; rows: number }[];
  ms: number;
  error?: string;
}

export interface PipelineSummary {
  ok: boolean;
  mode: 'embedded' | 'local';
  steps: Step[];
  params: { vehicles: number; durationS: number | undefined; ticks: number | undefined; seed: number; intervalS: number; windowS: number; allowedLatenessS: number; topology: string };
  wallS: number;
  eventSpan: { fromMs: number; toMs: number };
  fleet: Record<string, unknown>;
  gateway: { offered: number; accepted: number; duplicates: number; rejected: number; rejectedByCode: Record<string, number>; crossings: number; produced: number };
  /** How the fleet reached the gateway: direct ingest() calls, or MQTT messages through the broker (`messages`: the gateway's MQTT counter of written messages). */
  ingest: { path: 'in-process' } | { path: 'mqtt'; url: string; topic: string; messages: number };
  /** Per segment: owned packets produced, stored packets and flow rows. */
  segments: { segment: string; cloud: string; workers: number; ownedProduced: number; packetsStored: number; flowRows: number; flowPackets: number; processor: SegmentStats }[];
  oracle: FlowTotals | undefined;
  checks: Check[];
  queries: QueryResult[];
  plan: ReplicaPlan | undefined;
  stores: { cloud: string; database: string }[];
  faultsFired: string[];
  /** Wall seconds spent ingesting and draining. */
  timings: { ingestS: number; drainS: number };
  probes?: ProbeStats;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const silentLogger = { info() {}, warn() {}, error() {} };

function checkOptions(o: PipelineOptions): void {
  const posInt = (v: unknown, name: string) => {
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1)) throw new RangeError(`options.${name} must be a positive integer`);
  };
  const pos = (v: unknown, name: string) => {
    if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new RangeError(`options.${name} must be a positive number`);
  };
  if (o.mode !== undefined && o.mode !== 'embedded' && o.mode !== 'local') throw new RangeError("options.mode must be 'embedded' or 'local'");
  pos(o.durationS, 'durationS');
  posInt(o.ticks, 'ticks');
  if (o.ticks !== undefined && o.durationS !== undefined) throw new RangeError('options.ticks and options.durationS both given: the run stops after one of them');
  posInt(o.vehicles, 'vehicles');
  pos(o.intervalS, 'intervalS');
  posInt(o.windowS, 'windowS');
  posInt(o.requestSize, 'requestSize');
  posInt(o.ingestConcurrency, 'ingestConcurrency');
  posInt(o.maxLag, 'maxLag');
  if (o.maxWorkersPerSegment !== undefined && !(Number.isInteger(o.maxWorkersPerSegment) && o.maxWorkersPerSegment >= 0)) {
    throw new RangeError('options.maxWorkersPerSegment must be a non-negative integer');
  }
  posInt(o.fallbackWorkers, 'fallbackWorkers');
  if (o.mqtt && o.mode !== 'local') throw new RangeError("options.mqtt needs mode 'local' (the embedded mode has no broker)");
  if (o.mqtt && o.probe) throw new RangeError('options.probe rides on direct ingest() calls: not with options.mqtt');
  if (o.allowedLatenessS !== undefined && !(o.allowedLatenessS >= 0)) throw new RangeError('options.allowedLatenessS must be a non-negative number');
}

export async function runPipeline(opts: PipelineOptions = {}): Promise<PipelineSummary> {
  checkOptions(opts);
  const t0 = Date.now();
  const mode = opts.mode ?? 'embedded';
  const ticks = opts.ticks;
  const durationS = opts.durationS ?? 60;
  const vehicles = opts.vehicles ?? 2_000;
  const seed = opts.seed ?? 1;
  const intervalS = opts.intervalS ?? 5;
  const windowS = opts.windowS ?? DEFAULT_WINDOW_S;
  const allowedLatenessS = opts.allowedLatenessS ?? DEFAULT_ALLOWED_LATENESS_S;
  const requestSize = opts.requestSize ?? 1000;
  const ingestConcurrency = opts.ingestConcurrency ?? 1;
  const maxLag = opts.maxLag ?? 150_000;
  const maxWorkers = opts.maxWorkersPerSegment ?? 2;
  const faults = opts.faults ?? {};
  const topologyFile = opts.topologyFile ?? DEFAULT_TOPOLOGY_FILE;
  const steps: Step[] = [];
  const step = (name: string, status: StepStatus, detail: string) => {
    const st = { name, status, detail };
    steps.push(st);
    opts.onStep?.(st);
  };
  const cleanups: (() => Promise<void>)[] = [];
  const fired: string[] = [];

  const topology: Topology = loadTopology(topologyFile);
  step('topology', 'ok', `${topology.name}: ${topology.segments.length} segments (${topology.segments.map((s) => `${s.id}@${s.cloud}`).join(', ')}), H3 res ${topology.h3.resolution}`);

  try {
    // ---- cabin plan -------------------------------------------------------------------
    const plan = await makePlan(topology, opts.solver ?? 'exact', step);
    const workersOf = (segment: string): number => {
      const seg = topology.segments.find((s) => s.id === segment)!;
      const want = replicasFor(plan, segment, opts.fallbackWorkers ?? Math.min(seg.maxReplicas, 2));
      // 0 = decode and aggregate on the main thread (no pool).
      return maxWorkers === 0 ? 0 : Math.max(1, Math.min(want, maxWorkers, seg.maxReplicas));
    };

    // ---- bus, vehicle state, stores ------------------------------------------------------
    const fleet = createFleet({ vehicles, seed, intervalS, fractions: opts.fractions ?? {}, lateByS: opts.lateByS ?? 180 });
    // The gateway's clock is the fleet's virtual clock: event time runs faster than the wall
    // clock in the demo, and ts bounds and dedup horizons must follow it (docs/embedded.md).
    const clock = () => fleet.now() + fleet.options.intervalS * 1000;
    const runId = randomBytes(3).toString('hex');
    const rt = await openRuntime({
      mode, topology, stateDir: opts.stateDir, plan, clock, clientId: `iov-demo-${runId}`,
      ...(mode === 'local' ? { namespace: `demo-${runId}.`, kafka: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 } } : {}),
    });
    cleanups.push(() => rt.close());
    if (mode === 'local' && !rt.local) throw new Error(`--local: no local infrastructure state at ${rt.paths.infra} (run: iov infra up)`);
    const broker = opts.mqtt ? rt.local?.mqtt : undefined;
    if (opts.mqtt && !broker) throw new Error(`--mqtt: no mosquitto recorded in ${rt.paths.infra} (run: iov infra up)`);
    const bus = rt.bus();
    const state = rt.vehicleState();
    // Local: a fresh database per run, so the checks see this run's rows only.
    const stores = await rt.stores(mode === 'local' ? { database: (base) => `${base}_demo_${runId}` } : {});
    step('infrastructure', 'ok', mode === 'embedded'
      ? 'embedded: in-memory bus and vehicle state, chDB (one database per cloud)'
      : `local: Kafka ${rt.kafkaOptions().brokers.join(',')}, Redis, ClickHouse per cloud (topics demo-${runId}.*, databases *_demo_${runId})`);
    await Promise.all(stores.map((s) => s.migrate()));
    const storeOf = new Map(stores.map((s) => [s.cloud, s]));

    const topics = topology.segments.map((s) => segmentTopic(s.id));
    await rt.ensureTopics();
    const tap = await tapBus(bus, topics, faults);

    // ---- gateway --------------------------------------------------------------------------
    const { createGateway } = await import('../gateway/index.ts');
    const { pino } = await import('pino');
    // The tapped bus (it records every produced copy for the checks), so the gateway is made
    // here from the runtime's parts rather than by rt.gateway().
    const gateway = createGateway({
      topology,
      bus: tap.bus,
      state,
      config: { rateLimit: null, maxPacketsPerRequest: Math.max(10_000, requestSize) },
      logger: pino({ level: 'silent' }),
      now: clock,
    });
    cleanups.unshift(() => gateway.close());
    const g = { offered: 0, accepted: 0, duplicates: 0, rejected: 0, rejectedByCode: {} as Record<string, number>, crossings: 0, produced: 0 };
    const account = (offered: number, r: IngestResult) => {
      g.offered += offered;
      g.accepted += r.accepted;
      g.duplicates += r.duplicates;
      g.rejected += r.rejected.length;
      for (const x of r.rejected) g.rejectedByCode[x.code] = (g.rejectedByCode[x.code] ?? 0) + 1;
      g.crossings += r.crossings;
      g.produced += r.produced;
    };
    const viaMqtt = broker ? await startMqttPath(broker, runId, gateway, account, cleanups) : undefined;
    step('gateway', 'ok', viaMqtt
      ? `in-process gateway subscribed to ${broker!.url} (${viaMqtt.topic}); the fleet is published there, QoS 1`
      : 'in-process ingest() (the HTTP route uses the same core)');

    // ---- segment processors ---------------------------------------------------------------
    const { createSegmentProcessor } = await import('../segment/index.ts');
    const processors = new Map<string, SegmentProcessor>();
    for (const seg of topology.segments) {
      const store = faultyStore(storeOf.get(seg.cloud)!, seg === topology.segments[0] ? faults : {}, fired);
      processors.set(seg.id, createSegmentProcessor({
        topology, segmentId: seg.id, bus: tap.bus, store, workers: workersOf(seg.id), windowS, allowedLatenessS, logger: silentLogger,
      }));
    }
    await Promise.all([...processors.values()].map((p) => p.start()));
    cleanups.unshift(async () => {
      await Promise.all([...processors.values()].map((p) => p.stop().catch(() => {})));
    });
    step('segment processors', 'ok', topology.segments.map((s) => `${s.id}: ${workersOf(s.id)} worker(s)`).join(', '));
    await opts.onLive?.({
      topology, stores,
      metrics: [
        { name: 'gateway (in-process)', registry: gateway.metrics },
        ...[...processors].map(([id, p]) => ({ name: `segment ${id} (in-process)`, registry: p.metrics() })),
      ],
    });

    // Lag per segment: log end minus the group's committed offsets.
    const watchers = new Map<string, BusConsumer>();
    for (const seg of topology.segments) watchers.set(seg.id, bus.consumer({ groupId: segmentGroup(seg.id), topics: [segmentTopic(seg.id)] }));
    cleanups.unshift(async () => {
      await Promise.all([...watchers.values()].map((w) => w.stop().catch(() => {})));
    });
    const lagOf = async (segment: string): Promise<number> => {
      // Where the processor is (its next offset per partition) when it says so: committed
      // offsets trail by the open windows on purpose (they are the resume point).
      const positions = processors.get(segment)?.stats().positions;
      if (positions && Object.keys(positions).length > 0) {
        const ends = await bus.endOffsets(segmentTopic(segment));
        return ends.reduce((s, e) => s + Math.max(0, Number(e.offset) - (positions[e.partition] ?? 0)), 0);
      }
      const topic = segmentTopic(segment);
      const [ends, committed] = await Promise.all([bus.endOffsets(topic), watchers.get(segment)!.committed(topic)]);
      const c = new Map(committed.map((x) => [x.partition, Number(x.offset)]));
      return ends.reduce((s, e) => s + Math.max(0, Number(e.offset) - (c.get(e.partition) ?? 0)), 0);
    };

    // ---- ingest -----------------------------------------------------------------------------
    const fromMs = fleet.now();
    let lastProgress = { at: Date.now(), offered: 0 };
    const progress = async (phase: Progress['phase']): Promise<SegmentProgress[]> => {
      const segs: SegmentProgress[] = [];
      for (const seg of topology.segments) {
        const stats = processors.get(seg.id)!.stats();
        segs.push({ segment: seg.id, lag: await lagOf(seg.id), stats });
      }
      if (opts.onProgress) {
        const now = Date.now();
        const dt = Math.max(1, now - lastProgress.at) / 1000;
        const flushed = segs.map((s) => s.stats.windowsFlushed);
        opts.onProgress({
          elapsedS: (now - t0) / 1000, phase, packetsPerS: (g.offered - lastProgress.offered) / dt, offered: g.offered, accepted: g.accepted,
          duplicates: g.duplicates, rejected: g.rejected, crossings: g.crossings, eventTime: fleet.now(), segments: segs,
          windowsFlushed: flushed.reduce((a, b) => a + b, 0),
        });
        lastProgress = { at: now, offered: g.offered };
      }
      return segs;
    };
    const progressEvery = opts.progressEveryMs ?? 1000;
    const probe = createProber(opts.probe, stores);
    cleanups.unshift(async () => probe.stop());
    const ingestStart = Date.now();
    let nextProgress = ingestStart + progressEvery;
    // (the run's end: a tick count, or the wall clock)
    const ingesting = ticks !== undefined ? () => fleet.stats.ticks < ticks : () => Date.now() - ingestStart < durationS * 1000;
    while (ingesting()) {
      const packets = fleet.tick();
      const inflight = new Set<Promise<void>>();
      for (let i = 0; i < packets.length; i += requestSize) {
        const items = packets.slice(i, i + requestSize);
        const sentAt = Date.now();
        const probed = probe.maybeAdd(items, sentAt);
        // Over MQTT the gateway's MQTT path calls ingest() and accounts; the reply says it is done.
        const call = viaMqtt ? viaMqtt.send(items) : gateway.ingest(items, { gatewayId: 'sim-gw-1' }).then((r) => {
          if (probed !== undefined && r.rejected.some((x) => x.index === items.length - 1)) probe.forget(probed);
          account(items.length, r);
        });
        const tracked: Promise<void> = call.finally(() => inflight.delete(tracked));
        inflight.add(tracked);
        if (inflight.size >= ingestConcurrency) await Promise.race(inflight);
      }
      await Promise.all(inflight);
      if (Date.now() >= nextProgress) {
        nextProgress = Date.now() + progressEvery;
        const segs = await progress('ingest');
        // Back-pressure: the in-memory bus holds what the processors have not committed yet.
        let lag = segs.reduce((s, x) => s + x.lag, 0);
        while (processors.size > 0 && lag > maxLag && (ticks !== undefined || ingesting())) {
          await sleep(100);
          lag = 0;
          for (const seg of topology.segments) lag += await lagOf(seg.id);
        }
      }
      // Let consumers run between ticks.
      await new Promise<void>((r) => setImmediate(r));
    }
    const toMs = fleet.now();
    const ingestS = (Date.now() - ingestStart) / 1000;
    const drainStart = Date.now();
    step('ingest', 'ok', `${g.offered} packets offered in ${((Date.now() - ingestStart) / 1000).toFixed(1)} s, event time ${new Date(fromMs).toISOString()} → ${new Date(toMs).toISOString()}`);

    // ---- drain ------------------------------------------------------------------------------
    // drain(): wait until each processor has processed everything in its topic, then flush the
    // windows the watermark has not closed yet (the end of a bounded run) and commit.
    if (processors.size > 0) {
      const timeoutMs = (opts.settleTimeoutS ?? 60) * 1000;
      const ticker = setInterval(() => void progress('drain').catch(() => {}), progressEvery);
      try {
        const results = await Promise.allSettled([...processors.values()].map((p) => p.drain({ timeoutMs })));
        const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${[...processors.keys()][i]}: ${(r.reason as Error).message}`] : []));
        step('drain', failed.length ? 'failed' : 'ok', failed.length ? failed.join('; ') : 'every segment processed its whole topic; open windows flushed and committed');
      } finally {
        clearInterval(ticker);
      }
      await progress('drain');
    }

    const drainS = (Date.now() - drainStart) / 1000;
    const probes = opts.probe ? await probe.finish(30_000) : undefined;

    // ---- checks, federated queries --------------------------------------------------------
    const federator = await rt.federator({ stores, limits: { maxRows: 2_000_000, maxCloudRows: 2_000_000, timeoutMs: 60_000 } });
    step('federation', 'ok', `federator over ${stores.length} clouds`);

    const segmentsOut: PipelineSummary['segments'] = [];
    for (const seg of topology.segments) {
      const store = storeOf.get(seg.cloud)!;
      const [pk] = await store.query<{ n: string }>(`SELECT count() AS n FROM packets WHERE segment = ${quoteString(seg.id)}`);
      const [fl] = await store.query<{ n: string; p: string }>(`SELECT count() AS n, sum(packets) AS p FROM traffic_flow WHERE segment = ${quoteString(seg.id)}`);
      segmentsOut.push({
        segment: seg.id, cloud: seg.cloud, workers: workersOf(seg.id), ownedProduced: tap.ownedBySegment.get(seg.id) ?? 0,
        packetsStored: Number(pk?.n ?? 0), flowRows: Number(fl?.n ?? 0), flowPackets: Number(fl?.p ?? 0),
        processor: processors.get(seg.id)!.stats(),
      });
    }
    const checked = await runChecks({
      topology, stores, federator, tap, gateway: g, windowS, allowedLatenessS, segments: segmentsOut,
    });
    const queries = await showcaseQueries(federator);

    const summary: PipelineSummary = {
      ok: false,
      mode,
      steps,
      params: { vehicles, durationS: ticks === undefined ? durationS : undefined, ticks, seed, intervalS, windowS, allowedLatenessS, topology: topologyFile },
      wallS: 0,
      eventSpan: { fromMs, toMs },
      fleet: { ...fleet.stats },
      gateway: g,
      ingest: viaMqtt ? { path: 'mqtt', url: broker!.url, topic: viaMqtt.topic, messages: await viaMqtt.messages() } : { path: 'in-process' },
      segments: segmentsOut,
      oracle: checked.oracle,
      checks: checked.checks,
      queries,
      plan,
      stores: stores.map((s) => ({ cloud: s.cloud, database: s.database })),
      faultsFired: [...tap.fired, ...fired],
      timings: { ingestS, drainS },
      ...(probes ? { probes } : {}),
    };
    finish(summary);
    await opts.holdOpen?.(summary);
    return summary;
  } finally {
    for (const c of cleanups) await c().catch(() => {});
  }

  function finish(s: PipelineSummary): PipelineSummary {
    s.wallS = (Date.now() - t0) / 1000;
    const stepsOk = s.steps.every((x) => x.status === 'ok' || x.status === 'fallback');
    s.ok = stepsOk && s.checks.length > 0 && s.checks.every((c) => c.ok);
    return s;
  }
}

interface MqttPath {
  topic: string;
  /** Publish one request as one QoS 1 message; resolves with the gateway's reply (rejects if none). */
  send(items: unknown[]): Promise<void>;
  /** Messages the gateway's MQTT path wrote (iov_gateway_mqtt_messages_total{code=""}). */
  messages(): Promise<number>;
}

/**
 * The demo's MQTT ingest path: the gateway subscribes as `iov gateway --mqtt` does, and the
 * fleet is published as `iov simulate --mqtt` does. Per run: the telematics gateway id
 * (hence the topics), the subscription group and the client ids, so runs on one broker
 * never take each other's messages.
 */
async function startMqttPath(
  broker: { url: string; service?: { username: string; password: string } },
  runId: string,
  gateway: Gateway,
  account: (offered: number, r: IngestResult) => void,
  cleanups: (() => Promise<void>)[],
): Promise<MqttPath> {
  if (broker.service) {
    throw new Error(`--mqtt: the broker ${broker.url} has logins (iov infra up with IOV_API_KEYS); the demo publishes under a gateway id of its own per run, which needs an anonymous local broker`);
  }
  const { pino } = await import('pino');
  const { mqttPacketsTopic, resolveMqttConfig, startMqttIngest } = await import('../gateway/index.ts');
  const gatewayId = `demo-${runId}`;
  const config = resolveMqttConfig({ url: broker.url, clientId: `iov-demo-gw-${runId}`, group: `iov-demo-${runId}`, gatewayId, sessionExpirySec: 60 });
  const ingest = await startMqttIngest({
    ingest: async (items, ctx) => {
      const r = await gateway.ingest(items, ctx);
      account(items.length, r);
      return r;
    },
    config: gateway.config, metrics: gateway.metrics, logger: pino({ level: 'silent' }),
  }, config);
  cleanups.unshift(() => ingest.close());
  const publisher = await connectMqttPublisher({ url: broker.url, gatewayId });
  cleanups.unshift(() => publisher.close());
  let n = 0;
  return {
    topic: mqttPacketsTopic(gatewayId),
    async send(items) {
      const r = await publisher.send(items, n++);
      if (r.failed) throw new Error(`--mqtt: ${r.failures.join('; ')}`);
    },
    async messages() {
      const m = await gateway.metrics.getSingleMetric('iov_gateway_mqtt_messages_total')?.get();
      return m?.values.find((v) => v.labels.code === '')?.value ?? 0;
    },
  };
}

async function makePlan(topology: Topology, solver: 'exact' | 'fast' | 'ga', step: (n: string, s: StepStatus, d: string) => void): Promise<ReplicaPlan | undefined> {
  try {
    const centresDir = `${REPO_ROOT}infra/cabin/centres`;
    const demandFile = `${REPO_ROOT}infra/cabin/demand.${topology.name}.yaml`;
    const demand = existsSync(demandFile) ? loadDemand(demandFile) : DEFAULT_DEMAND;
    const inst = instanceFromTopology(topology, demand, centresFromFolder(centresDir));
    const r = await allocate(inst, { solver, timeLimitMs: 20_000 });
    if (r.allocations.length === 0) {
      step('cabin plan', 'fallback', `no allocation (${r.status}): ${r.explanation.join('; ')}; pools sized from maxReplicas`);
      return undefined;
    }
    const plan = planFromResult(inst, r);
    step('cabin plan', 'ok', `${plan.solver} solver, ${plan.status}, total cost ${plan.totalCost} (${r.timeMs} ms)`);
    return plan;
  } catch (err) {
    step('cabin plan', 'fallback', `${(err as Error).message.split('\n')[0]}; pools sized from maxReplicas`);
    return undefined;
  }
}

export const SHOWCASE_QUERIES: { title: string; sql: string }[] = [
  {
    title: 'Traffic per segment (packets, vehicle-windows, time-mean and space-mean speed)',
    sql: 'SELECT segment, sum(packets) AS packets, sum(vehicles) AS vehicle_windows, sum(speed_sum) / sum(speed_count) AS time_mean_kmh, ' +
      'sum(speed_count) / sum(inv_speed_sum) AS space_mean_kmh FROM traffic_flow GROUP BY segment ORDER BY segment',
  },
  {
    title: 'Packets per 5 minutes across every cloud',
    sql: 'SELECT toStartOfFiveMinute(window_start) AS t, sum(packets) AS packets, max(max_speed) AS top_speed FROM traffic_flow GROUP BY t ORDER BY t',
  },
  {
    title: "The five busiest cells of segment 'central' (only cloud-b is asked)",
    sql: "SELECT cell, sum(packets) AS packets, sum(speed_sum) / sum(speed_count) AS mean_kmh FROM traffic_flow WHERE segment = 'central' GROUP BY cell ORDER BY packets DESC, cell LIMIT 5",
  },
];

async function showcaseQueries(federator: Federator): Promise<QueryResult[]> {
  const out: QueryResult[] = [];
  for (const q of SHOWCASE_QUERIES) {
    const t = performance.now();
    try {
      const r = await federator.query(q.sql);
      out.push({
        title: q.title, sql: q.sql,
        columns: r.columns.map((c) => c.name),
        rows: r.rows, clouds: r.clouds.map((c) => ({ cloud: c.cloud, status: c.status, ms: c.ms, rows: c.rows })), ms: Math.round(r.ms ?? performance.now() - t),
      });
    } catch (err) {
      out.push({ title: q.title, sql: q.sql, columns: [], rows: [], clouds: [], ms: Math.round(performance.now() - t), error: (err as Error).message });
    }
  }
  return out;
}

interface Prober {
  /** Maybe append a probe packet to `items` (returns its id). */
  maybeAdd(items: unknown[], sentAt: number): string | undefined;
  forget(id: string): void;
  /** Wait (bounded) for outstanding probes, stop polling, return the statistics. */
  finish(timeoutMs: number): Promise<ProbeStats>;
  stop(): void;
}

function createProber(cfg: PipelineOptions['probe'], stores: Store[]): Prober {
  const outstanding = new Map<string, number>();
  const latencies: number[] = [];
  let sent = 0;
  let next = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  const poll = async () => {
    if (polling || outstanding.size === 0) return;
    polling = true;
    try {
      const ids = [...outstanding.keys()].map((id) => quoteString(id)).join(', ');
      const found = await Promise.all(stores.map((st) => st.query<{ vehicle_id: string }>(`SELECT vehicle_id FROM packets WHERE vehicle_id IN (${ids})`).catch(() => [])));
      const at = Date.now();
      for (const rows of found) {
        for (const r of rows) {
          const t = outstanding.get(r.vehicle_id);
          if (t === undefined) continue;
          outstanding.delete(r.vehicle_id);
          latencies.push(at - t);
        }
      }
    } finally {
      polling = false;
    }
  };
  if (cfg) timer = setInterval(() => void poll(), cfg.pollMs ?? 50);
  const quantile = (xs: number[], q: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]! : NaN);
  return {
    maybeAdd(items, sentAt) {
      if (!cfg || sentAt < next) return undefined;
      next = sentAt + cfg.everyMs;
      const base = items.find((p): p is { vehicleId: string; lat: number; lng: number; ts: number } =>
        typeof p === 'object' && p !== null && typeof (p as { lat?: unknown }).lat === 'number' && Math.abs((p as { lat: number }).lat) <= 90 &&
        typeof (p as { ts?: unknown }).ts === 'number' && typeof (p as { vehicleId?: unknown }).vehicleId === 'string');
      if (!base) return undefined;
      const id = `probe-${sent++}`;
      items.push({ vehicleId: id, seq: 1, ts: base.ts, lat: base.lat, lng: base.lng, speedKmh: 30, heading: 0 });
      outstanding.set(id, sentAt);
      return id;
    },
    forget(id) {
      outstanding.delete(id);
      sent--;
    },
    async finish(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (outstanding.size > 0 && Date.now() < deadline) await sleep(20);
      this.stop();
      const xs = latencies.slice().sort((a, b) => a - b);
      return { sent, found: xs.length, p50Ms: quantile(xs, 0.5), p99Ms: quantile(xs, 0.99), maxMs: xs.at(-1) ?? NaN };
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
