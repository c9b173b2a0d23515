// Starts the real local servers once per test run: redis-server, one clickhouse-server per
// storage cloud of the example topology plus an `oracle` ClickHouse (the single node that
// holds the union of every cloud, for differential tests), and the Kafka mock cluster.
// All on 127.0.0.1, free ports, data in a temp folder, stopped by PID at the end.
// If a server cannot start, the whole run fails with the reason.
//   IOV_TEST_INFRA=reuse  use what `iov infra up --extra-clickhouse oracle` runs (IOV_STATE_DIR)
//   IOV_TEST_INFRA=none   start nothing (only for quick runs of tests that need no server;
//                         any test that needs a server then fails loudly)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { infraDown, infraUp, statePath } from '../../src/infra/index.ts';
import { loadTopology, readLocalState, stateFile, type LocalInfraState } from '../../src/topology/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    infra: LocalInfraState | null;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mode = process.env.IOV_TEST_INFRA ?? 'start';
  if (mode === 'none') {
    project.provide('infra', null);
    return async () => {};
  }
  if (mode === 'reuse') {
    const st = readLocalState(stateFile());
    if (!st) throw new Error(`IOV_TEST_INFRA=reuse but no state file at ${stateFile()} (run: iov infra up --extra-clickhouse oracle)`);
    project.provide('infra', st);
    return async () => {};
  }
  const root = mkdtempSync(join(tmpdir(), 'iov-test-'));
  const topo = loadTopology(new URL('../../infra/topology/shanghai.yaml', import.meta.url).pathname);
  let state: LocalInfraState;
  const t0 = Date.now();
  try {
    state = await infraUp(topo, { root, extraClickHouse: ['oracle'], provisionTopics: false });
  } catch (err) {
    await infraDown(root).catch(() => {});
    throw new Error(`test infrastructure could not start: ${(err as Error).message}`);
  }
  process.stderr.write(`[global-setup] servers up in ${Date.now() - t0} ms under ${root} (${statePath(root)})\n`);
  project.provide('infra', state);
  process.env.IOV_TEST_STATE = statePath(root);
  return async () => {
    await infraDown(root);
    if (!process.env.IOV_KEEP_TEST_DATA) rmSync(root, { recursive: true, force: true });
  };
}
