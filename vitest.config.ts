import { defineConfig } from 'vitest/config';

// One test command for everything. The global setup starts the real local servers
// (redis-server, one clickhouse-server per cloud, a Kafka wire-protocol cluster) once per
// run on free loopback ports and stops them at the end; if one cannot start, the run fails
// with the reason. Set IOV_TEST_INFRA=reuse to use servers that `iov infra up` already runs.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The machine has 2 cores and the servers need some of them.
    maxWorkers: 2,
    reporters: ['default'],
    // Components log through pino; tests assert on results, not log lines.
    env: { IOV_LOG_LEVEL: process.env.IOV_LOG_LEVEL ?? 'silent' },
  },
});
