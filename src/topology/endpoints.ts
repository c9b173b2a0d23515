// Endpoint resolution. A topology may name its servers (production) or leave them out, in
// which case the local infrastructure's state file (written by `iov infra up`) fills them in.
import { existsSync, readFileSync } from 'node:fs';
import { EndpointError } from './errors.ts';
import { statePaths } from './state-dir.ts';
import type { ClickHouseEndpoint, KafkaEndpoint, RedisEndpoint, Topology } from './types.ts';

export interface LocalInfraState {
  root: string;
  startedAt: string;
  kafka?: { brokers: string[]; pid: number };
  redis?: { url: string; port: number; pid: number };
  clickhouse: Record<string, { url: string; httpPort: number; tcpPort: number; pid: number; dataDir: string }>;
  /** The MQTT broker (mosquitto) and the ingest gateways' login on it (docs/mqtt.md). */
  mqtt?: { url: string; port: number; pid: number; dir: string; service?: { username: string; password: string } };
}

/** `infra.json` in the state folder (flag, else IOV_STATE_DIR, else .iov). */
export function stateFile(dir?: string): string {
  return statePaths(dir).infra;
}

export function readLocalState(file = stateFile()): LocalInfraState | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LocalInfraState;
}

/** The Kafka cluster the pipeline uses: the ingest cloud's (segment topics live there). */
export function kafkaEndpoint(topo: Topology, state?: LocalInfraState): KafkaEndpoint {
  const cloud = topo.clouds.find((c) => c.roles.includes('ingest') && c.kafka) ?? topo.clouds.find((c) => c.kafka);
  if (cloud?.kafka) return cloud.kafka;
  if (state?.kafka) return { brokers: state.kafka.brokers };
  throw new EndpointError('no Kafka brokers: the topology names none and no local infrastructure runs (try `iov infra up`)');
}

export function redisEndpoint(topo: Topology, state?: LocalInfraState): RedisEndpoint {
  const cloud = topo.clouds.find((c) => c.roles.includes('ingest') && c.redis) ?? topo.clouds.find((c) => c.redis);
  if (cloud?.redis) return cloud.redis;
  if (state?.redis) return { url: state.redis.url };
  throw new EndpointError('no Redis URL: the topology names none and no local infrastructure runs (try `iov infra up`)');
}

/** The ClickHouse of a cloud (every processing/storage cloud has one). */
export function clickhouseEndpoint(topo: Topology, cloudId: string, state?: LocalInfraState): ClickHouseEndpoint {
  const cloud = topo.clouds.find((c) => c.id === cloudId);
  if (!cloud) throw new EndpointError(`unknown cloud "${cloudId}"`);
  if (cloud.clickhouse) return cloud.clickhouse;
  const local = state?.clickhouse[cloudId];
  if (local) return { url: local.url, database: 'iov' };
  throw new EndpointError(`no ClickHouse for cloud "${cloudId}": the topology names none and no local infrastructure runs (try \`iov infra up\`)`);
}

/** Clouds that hold a ClickHouse: those owning a segment, plus any with the storage role. */
export function storageClouds(topo: Topology): string[] {
  const ids = new Set(topo.segments.map((s) => s.cloud));
  for (const c of topo.clouds) if (c.roles.includes('storage')) ids.add(c.id);
  return topo.clouds.map((c) => c.id).filter((id) => ids.has(id));
}
