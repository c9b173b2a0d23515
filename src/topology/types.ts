// The model of the cloud of clouds (DESIGN.md §1). Every component reads one Topology.

export type CloudRole = 'ingest' | 'processing' | 'storage';

export interface KafkaEndpoint {
  brokers: string[];
  /** Confluent Schema Registry URL; without it, fixed schema ids from `schemas/` are used. */
  schemaRegistry?: string;
}

export interface RedisEndpoint {
  url: string;
}

export interface ClickHouseEndpoint {
  url: string;
  database: string;
  username?: string;
  password?: string;
}

export interface Cloud {
  id: string;
  roles: CloudRole[];
  kafka?: KafkaEndpoint;
  redis?: RedisEndpoint;
  clickhouse?: ClickHouseEndpoint;
}

export interface Segment {
  id: string;
  cloud: string;
  /** Cells at the segment resolution that make up the segment (after filling bbox/polygon). */
  cells: string[];
  /** Most replicas the allocator may give this segment: topics get at least this many partitions. */
  maxReplicas: number;
}

export interface Centre {
  id: string;
  provider: string;
  location: string;
  [field: string]: unknown;
}

export interface Topology {
  name: string;
  h3: { resolution: number; segmentResolution: number };
  clouds: Cloud[];
  segments: Segment[];
  /** Segment that receives packets outside every segment; absent = such packets are rejected. */
  defaultSegment?: string;
  /** Raw centre entries for the cabin allocator (validated by src/cabin). */
  centres: Centre[];
  /** Where the file was loaded from (for resolving relative paths such as centre folders). */
  source?: string;
}

export const TOPIC_PREFIX = 'iov.seg.';

export function segmentTopic(segmentId: string): string {
  return `${TOPIC_PREFIX}${segmentId}.packets`;
}

export function segmentGroup(segmentId: string): string {
  return `iov-seg-${segmentId}`;
}
