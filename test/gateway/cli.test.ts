// `iov gateway` as a process (issue #17): a start-up failure exits non-zero at once, and
// everything the gateway writes is its log, in one format (JSON lines; readable lines on a
// terminal).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGatewayLogger } from '../../src/gateway/index.ts';
import { infra } from '../helpers/index.ts';
import { privateTopology, startGateway, stopGateway, writeTopologyFile } from './helpers.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

describe('iov gateway (process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iov-gw-cli-'));
  const file = join(dir, 'topology.json');
  writeTopologyFile(file, privateTopology(), infra());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits non-zero at once when its port is taken, saying EADDRINUSE (regression #17: it stayed alive)', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      // Before the fix the process never exited: spawnSync's timeout would kill it (status null).
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/iov.mjs'), 'gateway', '--topology', file, '--port', String(port)],
        { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, IOV_LOG_LEVEL: 'warn' } });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`iov: [EADDRINUSE] listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
    } finally {
      busy.close();
    }
  });

  it('logs JSON lines only, banners included, from start to a clean stop', async () => {
    const gw = await startGateway(file);
    const code = await stopGateway(gw);
    expect(code, `stderr: ${gw.stderr()}\nstdout: ${gw.stdout()}`).toBe(0);
    const lines = gw.stdout().split('\n').filter((l) => l !== '');
    const records = lines.map((l) => {
      try {
        return JSON.parse(l) as { name: string; level: number; msg: string; address?: string };
      } catch {
        throw new Error(`not a JSON log line: ${l}`);
      }
    });
    expect(records.every((r) => r.name === 'iov-gateway' && typeof r.level === 'number')).toBe(true);
    expect(records.find((r) => r.msg.startsWith('gateway listening on '))).toMatchObject({ address: gw.url });
    expect(records.some((r) => r.msg.startsWith('gateway stopping'))).toBe(true);
  });
});

describe('gateway log on a terminal', () => {
  it('writes the same records as readable lines', () => {
    const lines: string[] = [];
    const logger = createGatewayLogger({ pretty: true, level: 'info', write: (l) => lines.push(l) });
    logger.info({ address: 'http://127.0.0.1:8080', segments: ['north', 'south'] }, 'gateway listening on http://127.0.0.1:8080');
    logger.error({ err: new Error('boom') }, 'gateway: internal error');
    logger.debug('not at info');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  gateway listening on http:\/\/127\.0\.0\.1:8080 address=http:\/\/127\.0\.0\.1:8080 segments=\["north","south"\]\n$/);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR gateway: internal error err="boom"\n {4}at /);
  });
});
