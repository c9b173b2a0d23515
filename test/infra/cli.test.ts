// The CLI as a user runs it: `iov topology check` and `iov infra up|status|down` on a
// private state folder (its own servers, stopped at the end by their PIDs).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/infra/index.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const EXAMPLE = join(ROOT, 'infra/topology/shanghai.yaml');

function iov(...args: string[]) {
  // The MQTT broker's logins come from the gateway keys.
  const env = { ...process.env, IOV_API_KEYS: 'gw-a:secret-aaaa-1' };
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/iov.mjs'), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('iov topology check', () => {
  it('passes the example and prints a summary', () => {
    const r = iov('topology', 'check', EXAMPLE);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ok: shanghai: 4 clouds, 3 segments, res 9 \(segments at res 6\)/);
    expect(r.out).toMatch(/north\s+cloud cloud-a/);
  });

  it('fails a broken copy with a precise message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'topo-'));
    const bad = join(dir, 'broken.yaml');
    writeFileSync(bad, readFileSync(EXAMPLE, 'utf8').replace('cloud: cloud-b', 'cloud: cloud-z').replace('bbox: [30.9, 121.1, 31.1, 121.8]', 'bbox: [31.2, 121.1, 31.1, 121.8]'));
    const r = iov('topology', 'check', bad);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${bad}: invalid topology:`);
    expect(r.err).toContain('segments[1].cloud: unknown cloud "cloud-z"');
    expect(r.err).toContain('segments[2].bbox: south must be less than north');
    rmSync(dir, { recursive: true, force: true });
  });

  it('has --help on every subcommand', () => {
    for (const cmd of [['--help'], ['infra', '--help'], ['infra', 'up', '--help'], ['topology', 'check', '--help']]) {
      const r = iov(...cmd);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage: iov/);
    }
  });
});

describe('iov infra up | status | down', () => {
  const root = mkdtempSync(join(tmpdir(), 'iov-infra-'));
  const topo = join(root, 'one-cloud.yaml');
  writeFileSync(topo, `name: tiny
clouds:
  - { id: ing, roles: [ingest] }
  - { id: only, roles: [processing, storage] }
segments:
  - { id: all, cloud: only, bbox: [30.9, 121.1, 31.5, 121.8] }
`);
  afterAll(() => {
    iov('infra', 'down', '--state-dir', root);
    rmSync(root, { recursive: true, force: true });
  });

  it('down with nothing recorded says where it looked and exits 1', () => {
    const empty = mkdtempSync(join(tmpdir(), 'iov-empty-'));
    const r = iov('infra', 'down', '--state-dir', empty);
    expect(r.code).toBe(1);
    expect(r.out).toBe(`nothing to stop: ${join(empty, 'infra.json')} does not exist (servers started with another --state-dir or IOV_STATE_DIR are not touched)\n`);
    rmSync(empty, { recursive: true, force: true });
  });

  it('starts every server, reports them healthy, reuses them, and stops exactly them', () => {
    // `--root` (the chaos demo's spelling in issue #16) is the same option as --state-dir:
    // the reuse below, under --state-dir, finds what this `up` recorded.
    const up = iov('infra', 'up', '--topology', topo, '--root', root);
    expect(up.err).toBe('');
    expect(up.code).toBe(0);
    expect(up.out).toMatch(/redis: started redis:\/\/127\.0\.0\.1:\d+/);
    expect(up.out).toMatch(/clickhouse only: started http:\/\/127\.0\.0\.1:\d+/);
    expect(up.out).toMatch(/kafka: started 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+/);
    expect(up.out).toMatch(/mosquitto: started mqtt:\/\/127\.0\.0\.1:\d+ \(pid \d+\), 1 gateway login\(s\)/);
    expect(up.out).toContain(`state: ${join(root, 'infra.json')}\n`);
    const state = JSON.parse(readFileSync(join(root, 'infra.json'), 'utf8'));
    const pids: number[] = [state.redis.pid, state.clickhouse.only.pid, state.kafka.pid, state.mqtt.pid];
    // The broker's password file holds hashes only, for the gateway and the ingest login.
    const passwd = readFileSync(join(root, 'mosquitto', 'passwd'), 'utf8');
    expect(passwd).toMatch(/^gw-a:\$7\$/m);
    expect(passwd).toMatch(/^iov-ingest:\$7\$/m);
    expect(passwd).not.toContain('secret-aaaa-1');
    expect(pids.every(isAlive)).toBe(true);

    const st = iov('infra', 'status', '--state-dir', root, '--json');
    expect(st.code).toBe(0);
    const status = JSON.parse(st.out) as { servers: { name: string; healthy: boolean }[]; notes: string[] };
    expect(status.servers.map((s) => [s.name, s.healthy])).toEqual([['redis', true], ['clickhouse:only', true], ['kafka', true], ['mosquitto', true]]);
    expect(iov('infra', 'status', '--state-dir', root).out).toContain('note: kafka is librdkafka\'s in-memory mock cluster: it keeps only about 40000 messages per partition');

    // The schema exists right after `up`: a query on the empty cloud answers, no "Database iov doesn't exist".
    expect(up.out).toContain('clickhouse only: schema ready (database iov)');
    const q = iov('query', '--topology', topo, '--state-dir', root, '--format', 'json', 'SELECT count() AS n FROM packets');
    expect(q.err).toBe('');
    expect(JSON.parse(q.out).rows).toEqual([{ n: '0' }]);

    const again = iov('infra', 'up', '--topology', topo, '--state-dir', root);
    expect(again.code).toBe(0);
    expect(again.out.match(/reusing/g)).toHaveLength(4);
    expect(JSON.parse(readFileSync(join(root, 'infra.json'), 'utf8')).redis.pid).toBe(state.redis.pid);

    const down = iov('infra', 'down', '--state-dir', root);
    expect(down.code).toBe(0);
    expect(down.out).toContain(`4 of 4 recorded server(s) stopped; removed ${join(root, 'infra.json')}`);
    expect(pids.some(isAlive)).toBe(false);
    const after = iov('infra', 'status', '--state-dir', root);
    expect(after.code).toBe(1);
    expect(after.out).toContain('no local infrastructure recorded');
  }, 240_000);
});
