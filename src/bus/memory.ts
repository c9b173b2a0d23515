// In-memory Bus for the embedded mode (DESIGN.md §7): the same semantics as the Kafka adapter,
// checked by the same contract suite (test/contract/bus.contract.ts).
//
// Model, mirroring Kafka where it matters to the pipeline:
// - A topic is N partitions, each an append-only log with int offsets (strings on the wire).
//   Unknown topics auto-create with `partitions` (default 4, like the mock cluster).
// - Keyed partitioning with murmur2 (Kafka's default partitioner), so a key lands in the same
//   partition number as with kafkajs' DefaultPartitioner.
// - Consumer groups: members of one group split the partitions of their topics (range
//   assignment over members in join order); every join/leave rebalances at once and fires
//   onAssign on each member before it fetches again. A partition that moves keeps its
//   in-flight batch with the old member until that batch ends (as a Kafka rebalance waits for
//   members to finish their batch); after every rebalance each member starts every partition
//   it is assigned (kept ones too) from the committed offset, as kafkajs does.
// - Offsets are committed explicitly with metadata. A commit for a partition the member neither
//   owns nor is finishing a batch of is refused (Kafka: ILLEGAL_GENERATION after a rebalance).
// - A handler that throws: the partition rewinds to its last committed offset (Kafka: the
//   consumer restarts and rejoins) after a short backoff; nothing is skipped.
// - Retention (bounded memory for long demos): a partition drops the messages below the
//   smallest committed offset of every group that has ever consumed the topic. Until some
//   group commits, everything is kept. A group that joins later with fromBeginning starts at
//   the oldest retained message, as with Kafka's retention. `retention: 'all'` keeps every
//   message (tests that replay from the start with new groups). `retainLast: n` also keeps
//   at most n messages per partition whatever was committed, as Kafka's size or time retention
//   does (tests of a consumer that fell behind a truncated log: SEG_OFFSET_GAP).
// - `truncate(topic, partition, end)` drops the messages at offsets ≥ end, as an unclean
//   leader election does (end 0: the topic deleted and recreated); commits are kept. A member
//   whose position is then past the end starts again from the earliest offset (Kafka:
//   OFFSET_OUT_OF_RANGE and auto.offset.reset = earliest), or the end without fromBeginning.
import {
  BusError, type Assignment, type BatchContext, type Bus, type BusConsumer, type BusMessage, type ConsumedBatch,
  type ConsumerOptions, type ProduceRecord, type TopicPartitionOffset, type TopicSpec,
} from './types.ts';

export interface MemoryBusOptions {
  /** Partitions of auto-created topics (default 4). */
  partitions?: number;
  /** 'committed' (default): drop messages every group has committed past; 'all': keep everything. */
  retention?: 'committed' | 'all';
  /** Keep at most this many messages per partition, committed or not (default: no bound). */
  retainLast?: number;
  /** Pause before re-delivering a partition whose handler threw, ms (default 100). */
  retryBackoffMs?: number;
  /** Largest batch handed to a handler, in messages (default 5000; bytes bound by maxBytesPerPartition). */
  maxBatchMessages?: number;
}

interface Partition {
  /** Offset of msgs[head]. */
  base: number;
  head: number;
  msgs: BusMessage[];
}

interface Topic {
  name: string;
  parts: Partition[];
  /** Groups that consumed this topic (their commits bound retention). */
  groups: Set<Group>;
}

interface Committed {
  offset: string;
  metadata: string | null;
}

interface Group {
  id: string;
  members: Member[];
  committed: Map<string, Map<number, Committed>>;
  /** `topic\0partition` -> the member whose handler is running a batch of it. */
  busy: Map<string, Member>;
}

interface Member {
  group: Group;
  topics: string[];
  fromBeginning: boolean;
  maxBytes: number;
  assignment: Assignment[];
  /** Next offset to fetch per `topic\0partition`; absent = start from committed/initial. */
  positions: Map<string, number>;
  /** Earliest time a partition that failed may be fetched again. */
  backoffUntil: Map<string, number>;
  pausedTopics: Set<string>;
  pausedParts: Set<string>;
  assignCbs: ((a: Assignment[]) => void | Promise<void>)[];
  pendingAssign: boolean;
  running: boolean;
  stopped: boolean;
  wake: (() => void) | undefined;
  loop: Promise<void> | undefined;
  /** Round-robin cursor over the assigned partitions. */
  cursor: number;
}

const pk = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/**
 * Kafka's murmur2 (as in its Java client and kafkajs' DefaultPartitioner), over UTF-8 bytes.
 * Read from char codes: an ASCII key (every vehicle id) is its own UTF-8 bytes, so it needs no
 * buffer; any other key is first turned into the string of its UTF-8 bytes (latin1).
 */
export function murmur2(key: string): number {
  const data = /^[\x00-\x7f]*$/.test(key) ? key : Buffer.from(key, 'utf8').toString('latin1');
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = seed ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data.charCodeAt(i4) + (data.charCodeAt(i4 + 1) << 8) + (data.charCodeAt(i4 + 2) << 16) + (data.charCodeAt(i4 + 3) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length % 4;
  const idx = length & ~3;
  if (rest === 3) h ^= data.charCodeAt(idx + 2) << 16;
  if (rest >= 2) h ^= data.charCodeAt(idx + 1) << 8;
  if (rest >= 1) {
    h ^= data.charCodeAt(idx);
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Partition of a key among n partitions (Kafka: toPositive(murmur2(key)) % n). */
export function partitionOf(key: string, n: number): number {
  return (murmur2(key) & 0x7fffffff) % n;
}

export interface MemoryBus extends Bus {
  /** Drop the partition's messages at offsets ≥ `end`: the next message produced gets offset `end`. */
  truncate(topic: string, partition: number, end: number): void;
}

export function createMemoryBus(opts: MemoryBusOptions = {}): MemoryBus {
  const defaultPartitions = opts.partitions ?? 4;
  if (!Number.isInteger(defaultPartitions) || defaultPartitions < 1) throw new BusError('BUS_INVALID', 'options.partitions must be a positive integer', false);
  const keepAll = opts.retention === 'all';
  const retainLast = opts.retainLast ?? Infinity;
  if (retainLast !== Infinity && (!Number.isInteger(retainLast) || retainLast < 1)) throw new BusError('BUS_INVALID', 'options.retainLast must be a positive integer', false);
  const backoffMs = opts.retryBackoffMs ?? 100;
  const maxBatch = opts.maxBatchMessages ?? 5000;
  const topics = new Map<string, Topic>();
  const groups = new Map<string, Group>();
  const consumers = new Set<BusConsumer>();
  let closed = false;

  const newPartition = (): Partition => ({ base: 0, head: 0, msgs: [] });
  const endOf = (p: Partition): number => p.base + (p.msgs.length - p.head);
  const startOf = (p: Partition): number => p.base;

  const topicOf = (name: string, partitions = defaultPartitions): Topic => {
    let t = topics.get(name);
    if (!t) {
      if (!name || /[^A-Za-z0-9._-]/.test(name)) throw new BusError('BUS_INVALID', `invalid topic name ${JSON.stringify(name)}`, false);
      t = { name, parts: Array.from({ length: partitions }, newPartition), groups: new Set() };
      topics.set(name, t);
    }
    return t;
  };

  const ensureOpen = () => {
    if (closed) throw new BusError('BUS_UNAVAILABLE', 'bus is closed', false);
  };

  const wakeTopic = (t: Topic) => {
    for (const g of t.groups) for (const m of g.members) if (m.topics.includes(t.name)) m.wake?.();
  };

  // Range assignment per topic over the members subscribed to it, in join order.
  const rebalance = (g: Group) => {
    const next = new Map<Member, Assignment[]>();
    for (const m of g.members) next.set(m, []);
    const names = new Set(g.members.flatMap((m) => m.topics));
    for (const name of [...names].sort()) {
      const t = topicOf(name);
      const subs = g.members.filter((m) => m.topics.includes(name));
      const n = t.parts.length;
      const per = Math.floor(n / subs.length);
      const extra = n % subs.length;
      let p = 0;
      subs.forEach((m, i) => {
        const count = per + (i < extra ? 1 : 0);
        next.get(m)!.push({ topic: name, partitions: Array.from({ length: count }, (_, k) => p + k) });
        p += count;
      });
    }
    for (const [m, a] of next) {
      // Every assigned partition restarts from the committed offset, the ones this member keeps
      // too: kafkajs resolves each partition's offset from the group's commit after every
      // rebalance, and the segment processor's pipelines restart from their commit (R of
      // docs/segment.md) on every assignment. A position kept across the rebalance made a kept
      // partition continue past its commit, a gap to the restarted pipeline.
      m.positions.clear();
      m.assignment = a;
      m.pendingAssign = true;
      m.cursor = 0;
      m.wake?.();
    }
  };

  const ownedBy = (m: Member, topic: string, partition: number): boolean =>
    m.assignment.some((a) => a.topic === topic && a.partitions.includes(partition));

  const committedOf = (g: Group, topic: string, partition: number): Committed | undefined => g.committed.get(topic)?.get(partition);

  // Retention: drop what every group that consumes the topic has committed past.
  const trim = (t: Topic, partition: number) => {
    if (keepAll || t.groups.size === 0) return;
    let low = Infinity;
    for (const g of t.groups) {
      const c = committedOf(g, t.name, partition);
      if (!c) return;
      low = Math.min(low, Number(c.offset));
    }
    dropBelow(t.parts[partition]!, low);
  };

  /** Forget the messages of a partition below `offset`. */
  const dropBelow = (p: Partition, offset: number) => {
    const drop = Math.min(offset, endOf(p)) - p.base;
    if (drop <= 0) return;
    p.head += drop;
    p.base += drop;
    // Compact the array once the dead prefix dominates (amortised O(1) per message).
    if (p.head >= 4096 && p.head * 2 >= p.msgs.length) {
      p.msgs = p.msgs.slice(p.head);
      p.head = 0;
    }
  };

  const runLoop = async (m: Member, handler: (batch: ConsumedBatch, ctx: BatchContext) => Promise<void>) => {
    const g = m.group;
    while (!m.stopped) {
      if (m.pendingAssign) {
        m.pendingAssign = false;
        const snapshot = m.assignment.map((a) => ({ topic: a.topic, partitions: [...a.partitions] }));
        for (const cb of m.assignCbs) {
          try {
            await cb(snapshot);
          } catch {
            // A failing listener must not kill the consumer (kafkajs ignores listener errors too).
          }
        }
        continue;
      }
      // Pick the next partition with data, round-robin, so one busy partition cannot starve the rest.
      const slots: [string, number][] = [];
      for (const a of m.assignment) for (const p of a.partitions) slots.push([a.topic, p]);
      let picked: { t: Topic; partition: number; from: number } | undefined;
      let soonest = Infinity;
      const now = Date.now();
      for (let i = 0; i < slots.length && !picked; i++) {
        const [topic, partition] = slots[(m.cursor + i) % slots.length]!;
        const key = pk(topic, partition);
        if (m.pausedTopics.has(topic) || m.pausedParts.has(key)) continue;
        const holder = g.busy.get(key);
        if (holder && holder !== m) continue; // the previous owner is finishing its batch
        const until = m.backoffUntil.get(key);
        if (until !== undefined && until > now) {
          soonest = Math.min(soonest, until);
          continue;
        }
        const t = topicOf(topic);
        const part = t.parts[partition]!;
        let pos = m.positions.get(key);
        if (pos === undefined) {
          const c = committedOf(g, topic, partition);
          pos = c ? Number(c.offset) : m.fromBeginning ? startOf(part) : endOf(part);
          m.positions.set(key, pos);
        }
        if (pos < startOf(part)) pos = startOf(part); // below retention: oldest kept (Kafka: earliest reset)
        if (pos > endOf(part)) pos = m.fromBeginning ? startOf(part) : endOf(part); // past a truncated end
        if (pos < endOf(part)) {
          picked = { t, partition, from: pos };
          m.cursor = (m.cursor + i + 1) % slots.length;
        }
      }
      if (!picked) {
        await new Promise<void>((resolve) => {
          let timer: NodeJS.Timeout | undefined;
          m.wake = () => {
            m.wake = undefined;
            if (timer) clearTimeout(timer);
            resolve();
          };
          if (soonest !== Infinity) timer = setTimeout(() => m.wake?.(), Math.max(1, soonest - Date.now()));
        });
        continue;
      }
      const { t, partition, from } = picked;
      const part = t.parts[partition]!;
      const end = endOf(part);
      const messages: BusMessage[] = [];
      let bytes = 0;
      for (let off = from; off < end && messages.length < maxBatch; off++) {
        const msg = part.msgs[part.head + (off - part.base)]!;
        if (messages.length > 0 && bytes + msg.value.length > m.maxBytes) break;
        bytes += msg.value.length;
        messages.push(msg);
      }
      const key = pk(t.name, partition);
      const batch: ConsumedBatch = { topic: t.name, partition, messages, highWatermark: String(end) };
      g.busy.set(key, m);
      try {
        await handler(batch, {
          heartbeat: async () => {},
          isRunning: () => !m.stopped && ownedBy(m, t.name, partition),
        });
        if (m.positions.has(key)) m.positions.set(key, from + messages.length);
      } catch {
        // Re-deliver from the last committed offset after a pause (Kafka: restart + rejoin).
        m.positions.delete(key);
        m.backoffUntil.set(key, Date.now() + backoffMs);
      } finally {
        g.busy.delete(key);
        // Wake other members that may be waiting to take this partition over.
        for (const other of g.members) if (other !== m) other.wake?.();
      }
      // Yield to the event loop between batches: handlers that resolve at once must not starve producers.
      await new Promise<void>((r) => setImmediate(r));
    }
  };

  const bus: MemoryBus = {
    truncate(topic, partition, end) {
      const part = topicOf(topic).parts[partition];
      if (!part || !Number.isInteger(end) || end < 0) throw new BusError('BUS_INVALID', `truncate: no partition ${topic}[${partition}] or a bad end ${end}`, false);
      if (end >= endOf(part)) return;
      if (end <= part.base) {
        part.msgs = [];
        part.head = 0;
        part.base = end;
      } else part.msgs.length = part.head + (end - part.base);
    },

    async ensureTopics(specs: TopicSpec[]) {
      ensureOpen();
      for (const s of specs) {
        const t = topicOf(s.topic, Math.max(1, s.partitions));
        if (s.partitions > t.parts.length) {
          // Kafka can add partitions (never remove them); subscribed groups rebalance.
          while (t.parts.length < s.partitions) t.parts.push(newPartition());
          for (const g of t.groups) rebalance(g);
        }
      }
    },

    async produce(records: ProduceRecord[]) {
      ensureOpen();
      const touched = new Set<Topic>();
      const ts = Date.now();
      for (const r of records) {
        const t = topicOf(r.topic);
        const partition = partitionOf(r.key, t.parts.length);
        const part = t.parts[partition]!;
        part.msgs.push({
          topic: r.topic,
          partition,
          offset: String(endOf(part)),
          key: r.key,
          value: r.value,
          timestamp: ts,
          headers: r.headers ? { ...r.headers } : {},
        });
        if (retainLast !== Infinity) dropBelow(part, endOf(part) - retainLast);
        touched.add(t);
      }
      for (const t of touched) wakeTopic(t);
    },

    consumer(copts: ConsumerOptions): BusConsumer {
      ensureOpen();
      if (!copts.groupId) throw new BusError('BUS_INVALID', 'options.groupId must be a non-empty string', false);
      if (!copts.topics?.length) throw new BusError('BUS_INVALID', 'options.topics must list at least one topic', false);
      let g = groups.get(copts.groupId);
      if (!g) {
        g = { id: copts.groupId, members: [], committed: new Map(), busy: new Map() };
        groups.set(copts.groupId, g);
      }
      const group = g;
      const m: Member = {
        group,
        topics: [...new Set(copts.topics)],
        fromBeginning: copts.fromBeginning ?? true,
        maxBytes: copts.maxBytesPerPartition ?? 1_048_576,
        assignment: [],
        positions: new Map(),
        backoffUntil: new Map(),
        pausedTopics: new Set(),
        pausedParts: new Set(),
        assignCbs: [],
        pendingAssign: false,
        running: false,
        stopped: false,
        wake: undefined,
        loop: undefined,
        cursor: 0,
      };
      const handle: BusConsumer = {
        async run(handler) {
          ensureOpen();
          if (m.running || m.stopped) throw new BusError('BUS_INVALID', 'consumer already started', false);
          m.running = true;
          for (const name of m.topics) topicOf(name).groups.add(group);
          group.members.push(m);
          rebalance(group);
          m.loop = runLoop(m, handler);
        },
        async commit(offsets: TopicPartitionOffset[]) {
          for (const o of offsets) {
            const owns = ownedBy(m, o.topic, o.partition) || group.busy.get(pk(o.topic, o.partition)) === m;
            if (!owns) {
              throw new BusError('BUS_INVALID', `commit refused: ${o.topic}[${o.partition}] is not assigned to this member of ${group.id} (rebalanced)`, false);
            }
            if (!/^\d+$/.test(o.offset)) throw new BusError('BUS_INVALID', `commit refused: offset ${JSON.stringify(o.offset)} is not a non-negative integer`, false);
          }
          for (const o of offsets) {
            let byPart = group.committed.get(o.topic);
            if (!byPart) group.committed.set(o.topic, (byPart = new Map()));
            byPart.set(o.partition, { offset: o.offset, metadata: o.metadata ?? null });
            const t = topics.get(o.topic);
            if (t) trim(t, o.partition);
          }
        },
        async committed(topic: string) {
          const byPart = group.committed.get(topic);
          if (!byPart) return [];
          return [...byPart]
            .map(([partition, c]) => ({ topic, partition, offset: c.offset, metadata: c.metadata }))
            .sort((x, y) => x.partition - y.partition);
        },
        assignment: () => m.assignment.map((a) => ({ topic: a.topic, partitions: [...a.partitions] })),
        onAssign(cb) {
          m.assignCbs.push(cb);
        },
        // The in-memory group has no failure that stops a member: nothing to report.
        onFailure() {},
        pause(topic, partitions) {
          if (partitions) for (const p of partitions) m.pausedParts.add(pk(topic, p));
          else m.pausedTopics.add(topic);
        },
        resume(topic, partitions) {
          if (!partitions) {
            m.pausedTopics.delete(topic);
            for (const k of [...m.pausedParts]) if (k.startsWith(`${topic}\u0000`)) m.pausedParts.delete(k);
          } else {
            if (m.pausedTopics.delete(topic)) {
              // Whole-topic pause turns into a per-partition pause of the others.
              const t = topicOf(topic);
              for (let p = 0; p < t.parts.length; p++) if (!partitions.includes(p)) m.pausedParts.add(pk(topic, p));
            }
            for (const p of partitions) m.pausedParts.delete(pk(topic, p));
          }
          m.wake?.();
        },
        async stop() {
          consumers.delete(handle);
          if (m.stopped) return;
          m.stopped = true;
          m.wake?.();
          await m.loop;
          const i = group.members.indexOf(m);
          if (i >= 0) {
            group.members.splice(i, 1);
            m.assignment = [];
            rebalance(group);
          }
        },
      };
      consumers.add(handle);
      return handle;
    },

    async partitionCount(topic: string) {
      ensureOpen();
      return topicOf(topic).parts.length;
    },

    async endOffsets(topic: string) {
      ensureOpen();
      return topicOf(topic).parts.map((p, partition) => ({ partition, offset: String(endOf(p)) }));
    },

    async close() {
      await Promise.all([...consumers].map((c) => c.stop()));
      closed = true;
      topics.clear();
      groups.clear();
    },
  };
  return bus;
}
