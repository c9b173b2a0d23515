// `iov infra up|down|status`: the whole local deployment of a topology — one Redis, one
// ClickHouse per storage cloud, one Kafka cluster — recorded in a state file that every
// other command reads for endpoints. `up` is idempotent: healthy servers are reused, and it
// leaves a usable deployment behind: every cloud's schema exists (empty clouds are a valid
// state to query) and every segment topic has its planned partitions.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createKafkaBus } from '../bus/index.ts';
import { createClickHouseStore } from '../store/index.ts';
import {
  clickhouseEndpoint, plannedPartitions, readLocalState, segmentTopic, statePaths, storageClouds,
  type LocalInfraState, type ReplicaPlan, type Topology,
} from '../topology/index.ts';
import { randomBytes } from 'node:crypto';
import { mosquittoHealthy, reloadMosquitto, startMosquitto, writeMosquittoAuth } from './mosquitto.ts';
import {
  clickhouseHealthy, isAlive, kafkaHealthy, redisHealthy, startClickHouse, startKafka, startRedis, stopPid,
} from './servers.ts';

export interface UpOptions {
  /** Folder for the state file and all server data. */
  root: string;
  /** Extra ClickHouse servers to start besides the topology's storage clouds (e.g. `oracle`). */
  extraClickHouse?: string[];
  log?: (line: string) => void;
  /** Create every segment topic with enough partitions and every cloud's schema (default true). */
  provisionTopics?: boolean;
  /** The replica plan, if one was made: topics get at least its replicas as partitions. */
  plan?: ReplicaPlan;
  /** Gateway keys (gatewayId -> API key) that may log in to the MQTT broker; none = anonymous broker. */
  mqttUsers?: Record<string, string>;
}

/**
 * What the local Kafka cluster (librdkafka's mock cluster) keeps: about this many messages per
 * partition; older ones are dropped without a word. Segment processors see the drop as an
 * offset gap (SEG_OFFSET_GAP); `iov infra status` says it.
 */
export const LOCAL_KAFKA_PARTITION_LIMIT = 40_000;

export function statePath(root: string): string {
  return statePaths(root).infra;
}

function save(state: LocalInfraState): void {
  const file = statePath(state.root);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);
}

export async function infraUp(topo: Topology, opts: UpOptions): Promise<LocalInfraState> {
  const root = resolve(opts.root);
  const log = opts.log ?? (() => {});
  mkdirSync(root, { recursive: true });
  const prev = readLocalState(statePath(root));
  const state: LocalInfraState = prev ?? { root, startedAt: new Date().toISOString(), clickhouse: {} };
  state.root = root;
  // Save after each server, so a failure half-way still lets `down` stop what was started.
  try {
    if (state.redis && isAlive(state.redis.pid) && (await redisHealthy(state.redis.port))) log(`redis: reusing ${state.redis.url} (pid ${state.redis.pid})`);
    else {
      const r = await startRedis(join(root, 'redis'));
      state.redis = { url: r.url, port: r.port, pid: r.pid };
      save(state);
      log(`redis: started ${r.url} (pid ${r.pid})`);
    }
    const names = [...storageClouds(topo), ...(opts.extraClickHouse ?? [])];
    for (const name of names) {
      const cur = state.clickhouse[name];
      if (cur && isAlive(cur.pid) && (await clickhouseHealthy(cur.httpPort))) {
        log(`clickhouse ${name}: reusing ${cur.url} (pid ${cur.pid})`);
        continue;
      }
      const ch = await startClickHouse(name, join(root, 'clickhouse', name), cur ? { http: cur.httpPort, tcp: cur.tcpPort } : undefined).catch(
        // The old ports may have been taken meanwhile: fall back to fresh ones.
        (err) => (cur ? startClickHouse(name, join(root, 'clickhouse', name)) : Promise.reject(err)),
      );
      state.clickhouse[name] = { url: ch.url, httpPort: ch.httpPort, tcpPort: ch.tcpPort, pid: ch.pid, dataDir: ch.dataDir };
      save(state);
      log(`clickhouse ${name}: started ${ch.url} (pid ${ch.pid})`);
    }
    if (state.kafka && isAlive(state.kafka.pid) && (await kafkaHealthy(state.kafka.brokers))) log(`kafka: reusing ${state.kafka.brokers.join(',')} (pid ${state.kafka.pid})`);
    else {
      // The mock cluster keeps its data in memory: a new one starts empty.
      const k = await startKafka(join(root, 'kafka'));
      state.kafka = { brokers: k.brokers, pid: k.pid };
      save(state);
      log(`kafka: started ${k.brokers.join(',')} (pid ${k.pid})`);
    }
    await mqttUp(state, join(root, 'mosquitto'), opts.mqttUsers ?? {}, log);
  } finally {
    save(state);
  }
  if (opts.provisionTopics !== false) {
    await provisionSchema(topo, state, log);
    if (state.kafka) await provisionTopics(topo, state.kafka.brokers, opts.plan, log);
  }
  return state;
}

/**
 * The MQTT broker: reused when healthy (its password and ACL files are rewritten from the
 * current keys and reloaded), else started. The ingest gateways' login is made once and kept.
 */
async function mqttUp(state: LocalInfraState, dir: string, users: Record<string, string>, log: (l: string) => void): Promise<void> {
  const withAuth = Object.keys(users).length > 0;
  const service = withAuth ? (state.mqtt?.service ?? { username: 'iov-ingest', password: randomBytes(18).toString('base64url') }) : undefined;
  const cur = state.mqtt;
  // Reusable only if it runs with the same kind of access (anonymous or with logins).
  if (cur && isAlive(cur.pid) && (await mosquittoHealthy(cur.port)) && Boolean(cur.service) === withAuth) {
    if (service) {
      writeMosquittoAuth(cur.dir, users, service);
      reloadMosquitto(cur.pid);
    }
    log(`mosquitto: reusing ${cur.url} (pid ${cur.pid})${service ? `, ${Object.keys(users).length} gateway login(s) reloaded` : ''}`);
    return;
  }
  if (cur && isAlive(cur.pid)) await stopPid(cur.pid);
  const m = await startMosquitto(dir, { users, ...(service ? { service } : {}) });
  state.mqtt = { url: m.url, port: m.port, pid: m.pid, dir: m.dir, ...(m.service ? { service: m.service } : {}) };
  save(state);
  log(`mosquitto: started ${m.url} (pid ${m.pid})${service ? `, ${Object.keys(users).length} gateway login(s)` : ', ANONYMOUS (no IOV_API_KEYS)'}`);
}

/** Every storage cloud's database and tables, so `iov query` works on empty clouds at once. */
async function provisionSchema(topo: Topology, state: LocalInfraState, log: (l: string) => void): Promise<void> {
  for (const cloud of storageClouds(topo)) {
    const store = createClickHouseStore({ cloud, endpoint: clickhouseEndpoint(topo, cloud, state) });
    try {
      await store.migrate();
      log(`clickhouse ${cloud}: schema ready (database ${store.database})`);
    } finally {
      await store.close();
    }
  }
}

async function provisionTopics(topo: Topology, brokers: string[], plan: ReplicaPlan | undefined, log: (l: string) => void): Promise<void> {
  const bus = createKafkaBus({ brokers, clientId: 'iov-infra' });
  try {
    const want = plannedPartitions(topo, plan);
    await bus.ensureTopics([...want].map(([seg, partitions]) => ({ topic: segmentTopic(seg), partitions })));
    for (const [seg, partitions] of want) {
      const have = await bus.partitionCount(segmentTopic(seg));
      log(`topic ${segmentTopic(seg)}: ${have} partitions${have < partitions ? ` (WARNING: ${partitions} wanted; this cluster cannot grow it, so at most ${have} replicas will share the work)` : ''}`);
    }
  } finally {
    await bus.close();
  }
}

export interface ServiceStatus {
  name: string;
  pid: number;
  endpoint: string;
  alive: boolean;
  healthy: boolean;
}

export interface InfraStatus {
  servers: ServiceStatus[];
  /** Facts about the deployment an operator must know (e.g. the local Kafka's retention). */
  notes: string[];
}

export async function infraStatus(root: string): Promise<InfraStatus> {
  const state = readLocalState(statePath(root));
  if (!state) return { servers: [], notes: [] };
  const notes: string[] = [];
  const out: ServiceStatus[] = [];
  if (state.redis) {
    out.push({ name: 'redis', pid: state.redis.pid, endpoint: state.redis.url, alive: isAlive(state.redis.pid), healthy: await redisHealthy(state.redis.port) });
  }
  for (const [name, ch] of Object.entries(state.clickhouse)) {
    out.push({ name: `clickhouse:${name}`, pid: ch.pid, endpoint: ch.url, alive: isAlive(ch.pid), healthy: await clickhouseHealthy(ch.httpPort) });
  }
  if (state.kafka) {
    out.push({ name: 'kafka', pid: state.kafka.pid, endpoint: state.kafka.brokers.join(','), alive: isAlive(state.kafka.pid), healthy: await kafkaHealthy(state.kafka.brokers) });
    notes.push(
      `kafka is librdkafka's in-memory mock cluster: it keeps only about ${LOCAL_KAFKA_PARTITION_LIMIT} messages per partition and drops older ones; ` +
      'a consumer that falls that far behind sees an offset gap (SEG_OFFSET_GAP). Keep local runs short, or use a real Kafka.',
    );
  }
  if (state.mqtt) {
    out.push({ name: 'mosquitto', pid: state.mqtt.pid, endpoint: state.mqtt.url, alive: isAlive(state.mqtt.pid), healthy: await mosquittoHealthy(state.mqtt.port) });
  }
  return { servers: out, notes };
}

export interface DownReport {
  /** The state file looked at. */
  file: string;
  /** Whether it existed (nothing is stopped otherwise). */
  found: boolean;
  /** Servers it recorded, and how many of them were running and are now stopped. */
  recorded: number;
  stopped: number;
}

/** Stop exactly the processes recorded in the state file, then remove it (data is kept unless purge). */
export async function infraDown(root: string, opts: { purge?: boolean; log?: (l: string) => void } = {}): Promise<DownReport> {
  const file = statePath(root);
  const state = readLocalState(file);
  const log = opts.log ?? (() => {});
  if (!state) return { file, found: false, recorded: 0, stopped: 0 };
  const pids: [string, number][] = [];
  if (state.mqtt) pids.push(['mosquitto', state.mqtt.pid]);
  if (state.kafka) pids.push(['kafka', state.kafka.pid]);
  for (const [name, ch] of Object.entries(state.clickhouse)) pids.push([`clickhouse:${name}`, ch.pid]);
  if (state.redis) pids.push(['redis', state.redis.pid]);
  let stopped = 0;
  await Promise.all(pids.map(async ([name, pid]) => {
    if (isAlive(pid)) {
      await stopPid(pid);
      stopped++;
      log(`${name}: stopped (pid ${pid})`);
    } else log(`${name}: was not running (pid ${pid})`);
  }));
  rmSync(file, { force: true });
  if (opts.purge && existsSync(state.root)) {
    for (const sub of ['redis', 'clickhouse', 'kafka', 'mosquitto']) rmSync(join(state.root, sub), { recursive: true, force: true });
  }
  return { file, found: true, recorded: pids.length, stopped };
}
