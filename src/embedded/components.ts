// The other components, loaded through their public index.ts only, lazily, so that the demo
// can say plainly which step is unavailable instead of faking it (issue 7). The shapes below
// are the parts of each public API the pipeline uses.
import type { Registry } from 'prom-client';
import type { Bus } from '../bus/index.ts';
import type { VehicleState } from '../state/index.ts';
import type { Store } from '../store/index.ts';
import type { Topology } from '../topology/index.ts';
import type { FlowRow, OraclePacket } from '../flow/index.ts';

export interface IngestResultLike {
  accepted: number;
  duplicates: number;
  rejected: { index: number; code: string; message?: string }[];
  crossings: number;
  produced: number;
}

export interface GatewayLike {
  ingest(items: unknown[], ctx?: { gatewayId?: string }): Promise<IngestResultLike>;
  metrics: Registry;
  close(): Promise<void>;
}

export interface GatewayModule {
  createGateway(opts: { topology: Topology; bus: Bus; state: VehicleState; config?: Record<string, unknown>; logger?: unknown; now?: () => number }): GatewayLike;
  ensureSegmentTopics?(bus: Bus, topology: Topology): Promise<void>;
}

export interface SegmentProcessorLike {
  start(): Promise<void>;
  stop(): Promise<void>;
  drain(opts?: { timeoutMs?: number }): Promise<void>;
  stats(): object;
  metrics(): Registry;
}

export interface SegmentModule {
  createSegmentProcessor(opts: Record<string, unknown>): SegmentProcessorLike;
}

export interface FederatedResultLike {
  columns: { name: string }[] | string[];
  rows: Record<string, unknown>[];
  partial: boolean;
  clouds: { cloud: string; status: string; ms: number; rows: number; error?: string }[];
  ms?: number;
}

export interface FederatorLike {
  query(sql: string, opts?: { partial?: boolean; timeoutMs?: number }): Promise<FederatedResultLike>;
  close(): Promise<void>;
}

export interface FederationModule {
  createFederator(opts: { topology: Topology; stores: Store[]; limits?: Record<string, number> }): FederatorLike;
}

/** The flow component's own types: erased at run time, so the dynamic load below still works. */
export type OraclePacketLike = OraclePacket;

export type FlowRowLike = FlowRow;

export interface FlowModule {
  batchTrafficFlow(packets: OraclePacketLike[], opts: { windowS: number; allowedLatenessS?: number }): { rows: FlowRowLike[]; late: OraclePacketLike[]; owned: number };
}

export interface CabinModule {
  allocate(inst: unknown, opts?: { solver?: string; timeLimitMs?: number; seed?: number }): Promise<{ status: string; allocations: unknown[]; explanation: string[]; solver: string; totalCost: number; timeMs: number }>;
  instanceFromTopology(topology: Topology, demand: unknown, centres: unknown[]): unknown;
  centresFromFolder(folder: string): unknown[];
  loadDemand(file: string): unknown;
  DEFAULT_DEMAND: unknown;
  planFromResult(inst: unknown, r: unknown): ReplicaPlanLike;
}

export interface ReplicaPlanLike {
  solver: string;
  status: string;
  totalCost: number;
  segments: { segment: string; centre: string; replicas: number; expectedLatencyMs: number; cost: number; provider?: string; location?: string }[];
}

export interface Loaded<T> {
  mod: T | undefined;
  /** Why the component cannot be used (missing module or export). */
  missing?: string;
}

// Specifiers held in variables: the pipeline must load (and report) even while a component
// is not built yet, so these are not static imports.
const PATHS = {
  gateway: '../gateway/index.ts',
  segment: '../segment/index.ts',
  federation: '../federation/index.ts',
  flow: '../flow/index.ts',
  cabin: '../cabin/index.ts',
} as const;

const REQUIRED: Record<keyof typeof PATHS, string[]> = {
  gateway: ['createGateway'],
  segment: ['createSegmentProcessor'],
  federation: ['createFederator'],
  flow: ['batchTrafficFlow'],
  cabin: ['allocate', 'instanceFromTopology', 'centresFromFolder', 'planFromResult'],
};

export async function loadComponent<T>(name: keyof typeof PATHS): Promise<Loaded<T>> {
  if (!Object.hasOwn(PATHS, name)) return { mod: undefined, missing: `unknown component ${JSON.stringify(name)}` };
  const spec: string = PATHS[name];
  let mod: Record<string, unknown>;
  try {
    mod = (await import(new URL(spec, import.meta.url).href)) as Record<string, unknown>;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes(spec.replace('../', '').replace('/index.ts', ''))) {
      return { mod: undefined, missing: `src/${name}/index.ts is not there yet` };
    }
    return { mod: undefined, missing: `src/${name} failed to load: ${e.message.split('\n')[0]}` };
  }
  const absent = REQUIRED[name].filter((k) => mod[k] === undefined);
  if (absent.length) return { mod: undefined, missing: `src/${name}/index.ts does not export ${absent.join(', ')}` };
  return { mod: mod as T };
}
