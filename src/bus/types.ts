// The message bus seam: Kafka in local/production mode, in-memory in embedded mode. Both
// pass test/contract/bus.contract.ts, which is this interface's spec.

export interface ProduceRecord {
  topic: string;
  /** Partitioning key: records with the same key land in the same partition, in order. */
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
}

export interface BusMessage {
  topic: string;
  partition: number;
  /** Offset as a decimal string (Kafka offsets are int64). */
  offset: string;
  key: string | null;
  value: Buffer;
  /** Broker/produce timestamp, epoch ms. */
  timestamp: number;
  headers: Record<string, string>;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: BusMessage[];
  /** Offset of the next message the partition will receive (log end). */
  highWatermark: string;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read (Kafka convention: last processed + 1). */
  offset: string;
  metadata?: string | null;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts. Default true (earliest). */
  fromBeginning?: boolean;
  /** Upper bound on bytes fetched per partition per batch. */
  maxBytesPerPartition?: number;
}

export interface BatchContext {
  heartbeat(): Promise<void>;
  isRunning(): boolean;
}

export interface Assignment {
  topic: string;
  partitions: number[];
}

export interface BusConsumer {
  /**
   * Start consuming; resolves once the consumer is running. `handler` gets one partition's
   * batch at a time; the next batch of that partition follows the last message of this one.
   * Offsets are never committed automatically: call commit(). If the handler throws, the
   * consumer re-delivers from the last committed offset of that partition (after a rejoin).
   */
  run(handler: (batch: ConsumedBatch, ctx: BatchContext) => Promise<void>): Promise<void>;
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** The group's committed offsets (with metadata) for a topic; partitions never committed are absent. */
  committed(topic: string): Promise<TopicPartitionOffset[]>;
  /** Current partition assignment of this member. */
  assignment(): Assignment[];
  /** Called after every (re)assignment, before batches of newly assigned partitions arrive. */
  onAssign(cb: (assignment: Assignment[]) => void | Promise<void>): void;
  /**
   * Called once if the consumer stops for good on an error it cannot recover from (it then
   * holds no partitions and consumes nothing). Without a callback the adapter writes the
   * error to stderr: a member never goes quiet without a word.
   */
  onFailure(cb: (err: BusError) => void): void;
  pause(topic: string, partitions?: number[]): void;
  resume(topic: string, partitions?: number[]): void;
  stop(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
}

export interface Bus {
  /** Create topics if missing. Tolerates clusters that refuse CreateTopics but auto-create. */
  ensureTopics(specs: TopicSpec[]): Promise<void>;
  /** Resolves only when every record is acknowledged by all in-sync replicas (acks = all). */
  produce(records: ProduceRecord[]): Promise<void>;
  consumer(opts: ConsumerOptions): BusConsumer;
  partitionCount(topic: string): Promise<number>;
  /** Log-end offset per partition. */
  endOffsets(topic: string): Promise<{ partition: number; offset: string }[]>;
  close(): Promise<void>;
}

export class BusError extends Error {
  constructor(
    readonly code: 'BUS_UNAVAILABLE' | 'BUS_TIMEOUT' | 'BUS_OVERLOADED' | 'BUS_INVALID',
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BusError';
  }
}
