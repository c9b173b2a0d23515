// Kafka adapter on kafkajs. Works against real Kafka and against librdkafka's mock cluster
// (DESIGN.md §7), which refuses CreateTopics but auto-creates topics on metadata requests.
import { Kafka, logLevel, Partitioners, type Admin, type ICustomPartitioner, type Consumer, type Producer, type KafkaConfig } from 'kafkajs';
import {
  BusError, type Assignment, type Bus, type BusConsumer, type BusMessage, type ConsumedBatch, type ConsumerOptions,
  type ProduceRecord, type TopicPartitionOffset, type TopicSpec,
} from './types.ts';
import { partitionOf } from './memory.ts';

export interface KafkaBusOptions {
  brokers: string[];
  clientId?: string;
  /** Request timeout for produce/fetch, ms (default 10 000). */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** kafkajs retry settings for the producer/admin (fail fast for the gateway). */
  retries?: number;
  /**
   * Consumer group timings, ms (docs/scaleout.md derives them). Session: how long a silent
   * member (killed, paused, cut off) keeps its partitions (default 6 000). Heartbeat: how
   * often a member reports (default 500, well under a third of the session). Rebalance: how
   * long a broker waits for members to rejoin (default 15 000; the librdkafka mock cluster
   * ignores it and waits session − 1 s instead).
   */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  /** Log kafkajs itself (default: errors only when IOV_KAFKA_LOG is set). */
  log?: boolean;
}

function toBusError(err: unknown, what: string): BusError {
  if (err instanceof BusError) return err;
  const e = err as Error & { retriable?: boolean; type?: string };
  const msg = `${what}: ${e.message}`;
  if (/timeout|timed out/i.test(e.message)) return new BusError('BUS_TIMEOUT', msg, true, { cause: err });
  return new BusError('BUS_UNAVAILABLE', msg, e.retriable !== false, { cause: err });
}

/** How long endOffsets waits for a topic's partitions to appear (auto-creation). */
const PARTITIONS_WAIT = { attempts: 25, intervalMs: 200 } as const;

/**
 * The offsets of a topic being auto-created: a metadata request creates it, and for a moment
 * it is listed with no partitions; wait, bounded, until it has some, then ask for the offsets.
 * Each step is one admin turn (see `adminTurn`); the waits in between hold none.
 */
async function untilPartitioned(turn: AdminTurn, topic: string): ReturnType<Admin['fetchTopicOffsets']> {
  for (let k = 0; ; k++) {
    const md = await turn((a) => a.fetchTopicMetadata({ topics: [topic] }));
    if ((md.topics[0]?.partitions.length ?? 0) > 0) return turn((a) => a.fetchTopicOffsets(topic));
    if (k + 1 >= PARTITIONS_WAIT.attempts) {
      throw new BusError('BUS_UNAVAILABLE', `topic ${topic}: no partitions after ${(PARTITIONS_WAIT.attempts * PARTITIONS_WAIT.intervalMs) / 1000} s`, true);
    }
    await new Promise((r) => setTimeout(r, PARTITIONS_WAIT.intervalMs));
  }
}

/** Runs one kafkajs admin operation when the previous one has settled. */
type AdminTurn = <T>(op: (a: Admin) => Promise<T>) => Promise<T>;

/** Default consumer group timings (see KafkaBusOptions and docs/scaleout.md). */
export const GROUP_TIMINGS = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 15_000 } as const;

/**
 * A SyncGroup the coordinator refused because the group's sync was already complete: the
 * member must rejoin. librdkafka's mock cluster completes a sync as soon as the leader's
 * SyncGroup carries every member's assignment, and answers a follower whose SyncGroup
 * arrives after that with INVALID_REQUEST (its group is "Up", where SyncGroup is not
 * expected). kafkajs takes INVALID_REQUEST as non-retriable and stops the consumer for good
 * (crash, restart = false): the member never consumed again while the others kept every
 * partition — the "two members of one group" failure (a=[0,1,2,3] b=[]).
 */
export function isRefusedSync(err: unknown): boolean {
  // A rejoin after a rebalance reaches the crash wrapped (KafkaJSNonRetriableError, cause = the protocol error).
  let e = err as { type?: string; stack?: string; cause?: unknown } | undefined;
  while (e?.cause && e.type === undefined) e = e.cause as typeof e;
  return e?.type === 'INVALID_REQUEST' && /\bsyncGroup\b/i.test(e.stack ?? '');
}

/** Rejoins in a row after refused syncs before the consumer gives up loudly. */
const MAX_REJOINS = 10;

function headersOf(h: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Buffer.isBuffer(v) ? v.toString() : String(v);
  return out;
}

/**
 * kafkajs' DefaultPartitioner for keyed messages, computed without its per-message costs (a
 * filtered copy of the partition list, and murmur2 in 64-bit Long objects: ~2-3 µs of the
 * gateway's CPU per message): the same partition (`partitionOf`, differential test in
 * test/contract/bus.memory.test.ts). Messages without a key go to kafkajs' own.
 * Exported from the bus's index only for `bench/gateway.ts --partitioner`, which measures it
 * against kafkajs' own on raw producers (the Bus interface does not expose a partitioner).
 */
export const keyPartitioner: ICustomPartitioner = () => {
  const unkeyed = Partitioners.DefaultPartitioner();
  return (args) => {
    const key = args.message.key;
    return typeof key === 'string' ? partitionOf(key, args.partitionMetadata.length) : unkeyed(args);
  };
};

export function createKafkaBus(opts: KafkaBusOptions): Bus {
  const config: KafkaConfig = {
    clientId: opts.clientId ?? 'iov-pipeline',
    brokers: opts.brokers,
    requestTimeout: opts.requestTimeoutMs ?? 10_000,
    connectionTimeout: opts.connectionTimeoutMs ?? 3_000,
    retry: { retries: opts.retries ?? 3, initialRetryTime: 100, maxRetryTime: 2_000 },
    logLevel: opts.log || process.env.IOV_KAFKA_LOG ? logLevel.ERROR : logLevel.NOTHING,
  };
  const kafka = new Kafka(config);
  let producer: Producer | undefined;
  let producerReady: Promise<Producer> | undefined;
  let admin: Admin | undefined;
  let adminReady: Promise<Admin> | undefined;
  const consumers = new Set<BusConsumer>();

  const getProducer = (): Promise<Producer> => {
    producerReady ??= (async () => {
      const p = kafka.producer({ createPartitioner: keyPartitioner, allowAutoTopicCreation: true });
      await p.connect();
      producer = p;
      p.on(p.events.DISCONNECT, () => {
        // Reconnect lazily on the next produce.
        if (producer === p) {
          producer = undefined;
          producerReady = undefined;
        }
      });
      return p;
    })().catch((err) => {
      producerReady = undefined;
      throw err;
    });
    return producerReady;
  };
  // ONE admin operation at a time. A kafkajs admin keeps one metadata snapshot for all its
  // calls, and fetchTopicMetadata for a topic the snapshot lacks replaces it with that topic
  // alone (brokerPool.refreshMetadata(topics)). An operation in flight meanwhile that looks
  // its own topic up again then finds no partitions: fetchTopicOffsets between its high and
  // low requests fails with a TypeError ('low.pop()'), fetchOffsets answers no committed
  // offsets at all. Concurrent callers of one bus (lag polls of several segments, readiness
  // probes, a fresh topic's auto-creation) did exactly that (docs/scaleout.md §1).
  let adminQueue: Promise<unknown> = Promise.resolve();
  const adminTurn: AdminTurn = (op) => {
    const run = adminQueue.then(async () => {
      const a = await getAdmin().catch((e) => Promise.reject(toBusError(e, 'connect admin')));
      return op(a);
    });
    adminQueue = run.catch(() => {});
    return run;
  };
  const getAdmin = (): Promise<Admin> => {
    adminReady ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      admin = a;
      return a;
    })().catch((err) => {
      adminReady = undefined;
      throw err;
    });
    return adminReady;
  };

  const bus: Bus = {
    ensureTopics(specs: TopicSpec[]) {
      return adminTurn(async (a) => {
        try {
          await a.createTopics({ topics: specs.map((s) => ({ topic: s.topic, numPartitions: s.partitions })), waitForLeaders: true, timeout: 5000 });
        } catch {
          // Refused (e.g. the mock cluster's controller is not a broker) or already there:
          // fall through to auto-creation through a metadata request, then check.
        }
        try {
          await a.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
        } catch {
          // The first metadata request may race the auto-creation; retry once.
          await new Promise((r) => setTimeout(r, 300));
          await a.fetchTopicMetadata({ topics: specs.map((s) => s.topic) }).catch((e) => Promise.reject(toBusError(e, 'ensure topics')));
        }
      });
    },

    async produce(records: ProduceRecord[]) {
      if (records.length === 0) return;
      let p: Producer;
      try {
        p = await getProducer();
      } catch (err) {
        throw toBusError(err, 'connect producer');
      }
      const byTopic = new Map<string, { key: string; value: Buffer; headers?: Record<string, string> }[]>();
      for (const r of records) {
        let list = byTopic.get(r.topic);
        if (!list) byTopic.set(r.topic, (list = []));
        list.push(r.headers ? { key: r.key, value: r.value, headers: r.headers } : { key: r.key, value: r.value });
      }
      try {
        await p.sendBatch({
          acks: -1, // all in-sync replicas: a 2xx from the gateway means durable (DESIGN.md §3)
          timeout: opts.requestTimeoutMs ?? 10_000,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      } catch (err) {
        throw toBusError(err, 'produce');
      }
    },

    consumer(copts: ConsumerOptions): BusConsumer {
      const sessionTimeout = opts.sessionTimeoutMs ?? GROUP_TIMINGS.sessionTimeoutMs;
      // Set when stop() is called. kafkajs decides to restart a crashed consumer after its
      // own disconnect and only then arms the restart timer, so a stop() that lands in
      // between does not clear it: the consumer would rejoin after being stopped and hold
      // partitions it never processes. A stopped consumer neither restarts nor stays joined.
      let stopped = false;
      const consumer: Consumer = kafka.consumer({
        groupId: copts.groupId,
        allowAutoTopicCreation: true,
        sessionTimeout,
        rebalanceTimeout: Math.max(opts.rebalanceTimeoutMs ?? GROUP_TIMINGS.rebalanceTimeoutMs, sessionTimeout),
        heartbeatInterval: opts.heartbeatIntervalMs ?? GROUP_TIMINGS.heartbeatIntervalMs,
        maxBytesPerPartition: copts.maxBytesPerPartition ?? 1_048_576,
        maxWaitTimeInMs: 100,
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000, restartOnFailure: async () => !stopped },
      });
      let current: Assignment[] = [];
      const assignCbs: ((a: Assignment[]) => void | Promise<void>)[] = [];
      const failCbs: ((err: BusError) => void)[] = [];
      const setAssignment = (next: Assignment[]) => {
        current = next;
        for (const cb of assignCbs) void cb(current);
      };
      let rejoins = 0;
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        if (stopped) {
          void consumer.disconnect().catch(() => {});
          return;
        }
        rejoins = 0;
        const ma = e.payload.memberAssignment as Record<string, number[]>;
        setAssignment(Object.entries(ma).map(([topic, partitions]) => ({ topic, partitions: [...partitions].sort((x, y) => x - y) })));
      });
      let running = false;
      let startConsumer: (() => Promise<void>) | undefined;
      // kafkajs restarts a crashed consumer by itself only after retriable errors. After any
      // other crash the member is gone: it holds no partitions any more (say so), and it
      // either rejoins (a refused sync, see isRefusedSync) or fails loudly.
      consumer.on(consumer.events.CRASH, (e) => {
        if (e.payload.restart || !running || stopped) return;
        if (current.length > 0) setAssignment([]);
        const err = e.payload.error;
        if (isRefusedSync(err) && rejoins < MAX_REJOINS && startConsumer) {
          rejoins++;
          startConsumer().catch((again: unknown) => fail(again));
          return;
        }
        fail(err);
      });
      const fail = (err: unknown) => {
        running = false;
        const busErr = new BusError('BUS_UNAVAILABLE', `consumer ${copts.groupId} stopped: ${(err as Error).message}`, false, { cause: err });
        if (failCbs.length === 0) process.stderr.write(`${busErr.message}\n`);
        for (const cb of failCbs) cb(busErr);
      };
      const handle: BusConsumer = {
        async run(handler) {
          try {
            await consumer.connect();
            for (const t of copts.topics) await consumer.subscribe({ topic: t, fromBeginning: copts.fromBeginning ?? true });
          } catch (err) {
            throw toBusError(err, `consumer ${copts.groupId}`);
          }
          running = true;
          startConsumer = () => consumer.run({
            autoCommit: false,
            eachBatchAutoResolve: true,
            partitionsConsumedConcurrently: 1,
            eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
              if (isStale() || batch.messages.length === 0) return;
              const messages: BusMessage[] = batch.messages.map((m) => ({
                topic: batch.topic,
                partition: batch.partition,
                offset: m.offset,
                key: m.key ? m.key.toString() : null,
                value: m.value ?? Buffer.alloc(0),
                timestamp: Number(m.timestamp),
                headers: headersOf(m.headers as Record<string, unknown> | undefined),
              }));
              const b: ConsumedBatch = { topic: batch.topic, partition: batch.partition, messages, highWatermark: batch.highWatermark };
              await handler(b, { heartbeat, isRunning: () => isRunning() && !isStale() });
            },
          });
          await startConsumer();
        },
        async commit(offsets: TopicPartitionOffset[]) {
          if (offsets.length === 0) return;
          try {
            await consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata ?? null })));
          } catch (err) {
            throw toBusError(err, 'commit');
          }
        },
        async committed(topic: string) {
          const res = await adminTurn((a) => a.fetchOffsets({ groupId: copts.groupId, topics: [topic] })).catch((e) => Promise.reject(toBusError(e, 'fetch offsets')));
          const out: TopicPartitionOffset[] = [];
          for (const t of res) {
            for (const p of t.partitions) {
              if (p.offset !== '-1') out.push({ topic: t.topic, partition: p.partition, offset: p.offset, metadata: p.metadata ?? null });
            }
          }
          return out.sort((x, y) => x.partition - y.partition);
        },
        assignment: () => current,
        onAssign(cb) {
          assignCbs.push(cb);
        },
        onFailure(cb) {
          failCbs.push(cb);
        },
        pause(topic, partitions) {
          consumer.pause([partitions ? { topic, partitions } : { topic }]);
        },
        resume(topic, partitions) {
          consumer.resume([partitions ? { topic, partitions } : { topic }]);
        },
        async stop() {
          stopped = true;
          consumers.delete(handle);
          if (running) await consumer.stop().catch(() => {});
          running = false;
          await consumer.disconnect().catch(() => {});
        },
      };
      consumers.add(handle);
      return handle;
    },

    async partitionCount(topic: string) {
      const md = await adminTurn((a) => a.fetchTopicMetadata({ topics: [topic] })).catch((e) => Promise.reject(toBusError(e, 'metadata')));
      return md.topics[0]?.partitions.length ?? 0;
    },

    async endOffsets(topic: string) {
      const offs = await untilPartitioned(adminTurn, topic).catch((e) => Promise.reject(toBusError(e, 'fetch topic offsets')));
      return offs.map((o) => ({ partition: o.partition, offset: o.high })).sort((x, y) => x.partition - y.partition);
    },

    async close() {
      await Promise.all([...consumers].map((c) => c.stop()));
      await Promise.all([producer?.disconnect().catch(() => {}), admin?.disconnect().catch(() => {})]);
      producer = undefined;
      producerReady = undefined;
      admin = undefined;
      adminReady = undefined;
    },
  };
  return bus;
}
