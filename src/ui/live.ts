// The map over a pipeline running in this process (`iov demo --ui`): a federator over the
// run's stores, the status from the in-process registries, the server on a loopback port.
import { createFederator } from '../federation/index.ts';
import type { Store } from '../store/index.ts';
import type { Topology } from '../topology/index.ts';
import type { Registry } from 'prom-client';
import { registryTarget } from './prom.ts';
import { createUiServer } from './server.ts';
import { createStatusCollector } from './status.ts';

export interface LiveMapOptions {
  topology: Topology;
  stores: Store[];
  metrics: { name: string; registry: Registry }[];
  port?: number;
  host?: string;
  pollMs?: number;
}

export interface LiveMap {
  url: string;
  close(): Promise<void>;
}

export async function serveLiveMap(opts: LiveMapOptions): Promise<LiveMap> {
  const { topology } = opts;
  const federator = createFederator({ topology, stores: opts.stores });
  const status = createStatusCollector({ topology, federator, targets: opts.metrics.map((m) => registryTarget(m.name, m.registry)) });
  const app = createUiServer({ topology, federator, status, ...(opts.pollMs ? { pollMs: opts.pollMs } : {}) });
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ port: opts.port ?? 0, host });
  const { port } = app.server.address() as { port: number };
  return {
    url: `http://${host}:${port}/`,
    async close() {
      await app.close();
      await federator.close();
    },
  };
}
