// The composition root (STYLE.md "one composition root, real types"): every `iov` command and
// the demo assemble the runtime here, in one order —
//   topology → state folder (infra.json, plan.json) → endpoints → adapters (bus, vehicle
//   state, stores) → components (gateway, segment processors, federator).
// Local mode takes endpoints from the topology or, where it names none, from `iov infra up`'s
// state file; embedded mode uses the in-memory bus and vehicle state and chDB (one database
// per cloud). Components are imported when first asked for (so `iov --help` and a query
// process do not load what they do not run), with their real types. What the runtime opened,
// close() closes, in reverse order.
import { fileURLToPath } from 'node:url';
import type { AllSegments, AllSegmentsOptions } from '../segment/index.ts';
import type { Bus, KafkaBusOptions } from '../bus/index.ts';
import type { Federator, FederatorOptions } from '../federation/index.ts';
import type { Fence } from '../fence/index.ts';
import type { PacketSchemaRegistry } from '../schemas/index.ts';
import type { Gateway, GatewayOptions } from '../gateway/index.ts';
import type { VehicleState } from '../state/index.ts';
import type { ChdbSession, Store } from '../store/index.ts';
import {
  clickhouseEndpoint, DEFAULT_TOPOLOGY_FILE, DEFAULT_WORKERS, kafkaEndpoint, loadTopology, plannedPartitions, readLocalState, readPlanIfAny, redisEndpoint,
  replicasFor, resolveStateDir, segmentTopicSpecs, statePaths, storageClouds,
  type LocalInfraState, type ReplicaPlan, type StatePaths, type Topology,
} from '../topology/index.ts';
import { namespacedBus } from './namespace.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export { DEFAULT_TOPOLOGY_FILE };

export interface RuntimeOptions {
  /** 'local' (default): the topology's servers, else `iov infra up`'s. 'embedded': no servers. */
  mode?: 'local' | 'embedded';
  /** A topology file, or one already loaded (default: the example topology). */
  topology?: string | Topology;
  /** The state folder (default: IOV_STATE_DIR, else .iov). */
  stateDir?: string;
  /** A replica plan already made (the demo's); default: `<stateDir>/plan.json` if present. */
  plan?: ReplicaPlan;
  /** Kafka client id of this process. */
  clientId?: string;
  /** Kafka client settings beyond the brokers (timeouts, retries). */
  kafka?: Omit<KafkaBusOptions, 'brokers' | 'clientId'>;
  /** Vehicle-state clock (embedded mode; the demo's virtual clock). */
  clock?: () => number;
  /**
   * A run of its own on shared servers: topics and consumer groups get this prefix, Redis
   * keys too (`iov demo --local` twice on the same servers; src/runtime/namespace.ts).
   */
  namespace?: string;
}

export interface Runtime {
  readonly mode: 'local' | 'embedded';
  readonly topology: Topology;
  readonly paths: StatePaths;
  /** What `iov infra up` recorded under the state folder, if anything. */
  readonly local: LocalInfraState | undefined;
  readonly plan: ReplicaPlan | undefined;
  /** Kafka client settings (local mode), for components that open their own connections. */
  kafkaOptions(): KafkaBusOptions;
  bus(): Bus;
  vehicleState(opts?: { keyPrefix?: string }): VehicleState;
  /** Partition leases for segment processors: Redis (local), in memory (embedded). */
  fence(): Promise<Fence>;
  /** The topology's Schema Registry client, when it names one. */
  schemaRegistry(): Promise<PacketSchemaRegistry | undefined>;
  /** The store of a cloud; `database` overrides the topology's (e.g. a per-run database). */
  store(cloud: string, opts?: { database?: string }): Promise<Store>;
  /** One store per storage cloud. */
  stores(opts?: { database?: (base: string) => string }): Promise<Store[]>;
  /** Pool threads of a segment: the plan's replicas, else `fallback`. */
  workers(segment: string, fallback?: number): number;
  /** Partitions per segment topic (maxReplicas and the plan's replicas). */
  partitions(): Map<string, number>;
  /** Create every segment topic with its planned partitions. */
  ensureTopics(): Promise<void>;
  gateway(opts?: Omit<GatewayOptions, 'topology' | 'bus' | 'state'> & { state?: VehicleState }): Promise<Gateway>;
  segments(opts: Omit<AllSegmentsOptions, 'bus' | 'storeFor'> & { stores?: Store[] }): Promise<AllSegments>;
  federator(opts?: Omit<FederatorOptions, 'topology' | 'stores'> & { stores?: Store[] }): Promise<Federator>;
  /** Run `fn` when the runtime closes (before what was opened earlier). */
  onClose(fn: () => Promise<void> | void): void;
  close(): Promise<void>;
}

export async function openRuntime(opts: RuntimeOptions = {}): Promise<Runtime> {
  const mode = opts.mode ?? 'local';
  const topology = typeof opts.topology === 'object' ? opts.topology : loadTopology(opts.topology ?? DEFAULT_TOPOLOGY_FILE);
  const paths = statePaths(resolveStateDir(opts.stateDir));
  const local = mode === 'local' ? readLocalState(paths.infra) : undefined;
  const plan = opts.plan ?? readPlanIfAny(paths.plan);
  const closers: (() => Promise<void> | void)[] = [];
  const onClose = (fn: () => Promise<void> | void) => { closers.unshift(fn); };
  const clientId = opts.clientId ?? 'iov';

  let bus: Bus | undefined;
  let chdb: Promise<ChdbSession> | undefined;
  // Loaded before the runtime is returned, so bus() and vehicleState() stay synchronous.
  const adapters = await loadAdapters();
  const stores = new Map<string, Promise<Store>>();

  const kafkaOptions = (): KafkaBusOptions => ({ ...opts.kafka, brokers: kafkaEndpoint(topology, local).brokers, clientId });

  const runtime: Runtime = {
    mode, topology, paths, local, plan,
    kafkaOptions,
    bus() {
      if (!bus) {
        const made = mode === 'embedded' ? adapters.memoryBus() : adapters.kafkaBus(kafkaOptions());
        onClose(() => made.close());
        bus = opts.namespace ? namespacedBus(made, opts.namespace) : made;
      }
      return bus;
    },
    vehicleState(o = {}) {
      const made = mode === 'embedded' ? adapters.memoryState(opts.clock) : adapters.redisState({ url: redisEndpoint(topology, local).url, keyPrefix: o.keyPrefix ?? (opts.namespace ? `${opts.namespace}:` : undefined) });
      onClose(() => made.close());
      return made;
    },
    async fence() {
      const { createMemoryFence, createRedisFence } = await import('../fence/index.ts');
      const made = mode === 'embedded'
        ? createMemoryFence()
        : createRedisFence({ url: redisEndpoint(topology, local).url, ...(opts.namespace ? { keyPrefix: `${opts.namespace}:` } : {}) });
      onClose(() => made.close());
      return made;
    },
    async schemaRegistry() {
      const url = mode === 'local' ? kafkaEndpoint(topology, local).schemaRegistry : undefined;
      if (!url) return undefined;
      const { connectSchemaRegistry } = await import('../schemas/index.ts');
      return connectSchemaRegistry(url);
    },
    store(cloud, o = {}) {
      const key = `${cloud}\0${o.database ?? ''}`;
      let s = stores.get(key);
      if (!s) {
        s = (async () => {
          const { createChdbStore, createClickHouseStore, openChdbSession, defaultChdbDatabase } = await import('../store/index.ts');
          if (mode === 'embedded') {
            chdb ??= openChdbSession().then((session) => { onClose(() => session.close()); return session; });
            return createChdbStore({ cloud, session: await chdb, database: o.database ?? defaultChdbDatabase(cloud) });
          }
          const ep = clickhouseEndpoint(topology, cloud, local);
          return createClickHouseStore({ cloud, endpoint: { ...ep, database: o.database ?? ep.database } });
        })();
        stores.set(key, s);
        const made = s;
        onClose(async () => (await made).close());
      }
      return s;
    },
    async stores(o = {}) {
      const { defaultChdbDatabase } = await import('../store/index.ts');
      return Promise.all(storageClouds(topology).map((cloud) => {
        const base = mode === 'embedded' ? defaultChdbDatabase(cloud) : clickhouseEndpoint(topology, cloud, local).database;
        return runtime.store(cloud, { database: o.database ? o.database(base) : base });
      }));
    },
    workers: (segment, fallback = DEFAULT_WORKERS) => replicasFor(plan, segment, fallback),
    partitions: () => plannedPartitions(topology, plan),
    async ensureTopics() {
      await runtime.bus().ensureTopics(segmentTopicSpecs(topology, plan));
    },
    async gateway(o = {}) {
      const { createGateway } = await import('../gateway/index.ts');
      const { state, ...rest } = o;
      const gw = createGateway({ ...rest, topology, bus: runtime.bus(), state: state ?? runtime.vehicleState() });
      onClose(() => gw.close());
      return gw;
    },
    async segments(o) {
      const { runAllSegments } = await import('../segment/index.ts');
      const { stores: given, ...rest } = o;
      const list = given ?? (await runtime.stores());
      const byCloud = new Map(list.map((s) => [s.cloud, s]));
      const chosen = topology.segments.filter((s) => !rest.segments || rest.segments.includes(s.id));
      const perSegment = Object.fromEntries(chosen.map((s) => [s.id, { workers: rest.workers ?? runtime.workers(s.id), ...rest.perSegment?.[s.id] }]));
      const all = runAllSegments(topology, {
        ...rest, perSegment, bus: runtime.bus(),
        storeFor: (cloud) => {
          const s = byCloud.get(cloud);
          if (!s) throw new Error(`no store for cloud ${cloud}`);
          return s;
        },
      });
      onClose(() => all.stop().catch(() => {}));
      return all;
    },
    async federator(o = {}) {
      const { createFederator } = await import('../federation/index.ts');
      const { stores: given, ...rest } = o;
      const fed = createFederator({ ...rest, topology, stores: given ?? (await runtime.stores()) });
      onClose(() => fed.close());
      return fed;
    },
    onClose,
    async close() {
      const list = closers.splice(0);
      for (const fn of list) await Promise.resolve().then(fn).catch(() => {});
    },
  };

  return runtime;
}

async function loadAdapters() {
  const [{ createKafkaBus, createMemoryBus }, { createMemoryState, createRedisState }] = await Promise.all([
    import('../bus/index.ts'), import('../state/index.ts'),
  ]);
  return {
    kafkaBus: (o: KafkaBusOptions) => createKafkaBus(o),
    // 4 partitions per auto-created topic, like the local Kafka cluster.
    memoryBus: () => createMemoryBus({ partitions: 4 }),
    memoryState: (clock?: () => number) => createMemoryState(clock),
    redisState: (o: { url: string; keyPrefix?: string }) => createRedisState(o),
  };
}
