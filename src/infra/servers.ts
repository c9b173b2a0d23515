// Real servers on loopback for local mode and tests, from Debian's packages:
//   redis-server                (package redis-server)
//   clickhouse-server 18.16     (package clickhouse-server), one per cloud
//   kcat's librdkafka mock Kafka cluster, 3 brokers (package kcat) — DESIGN.md §7
// Every server listens on 127.0.0.1 on a free port, keeps its data under a folder we choose,
// runs detached (so `iov infra up` can return) and is stopped by its own PID.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, closeSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';

export class InfraError extends Error {
  constructor(readonly code: 'BINARY_MISSING' | 'START_FAILED' | 'NOT_RUNNING', message: string) {
    super(message);
    this.name = 'InfraError';
  }
}

const BINARIES: Record<string, { paths: string[]; pkg: string }> = {
  'redis-server': { paths: ['/usr/bin/redis-server', '/usr/local/bin/redis-server'], pkg: 'redis-server' },
  'clickhouse-server': { paths: ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server', '/usr/bin/clickhouse'], pkg: 'clickhouse-server' },
  kcat: { paths: ['/usr/bin/kcat', '/usr/local/bin/kcat'], pkg: 'kcat' },
  mosquitto: { paths: ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'], pkg: 'mosquitto' },
  mosquitto_passwd: { paths: ['/usr/bin/mosquitto_passwd'], pkg: 'mosquitto' },
};

export function findBinary(name: keyof typeof BINARIES): string {
  const b = BINARIES[name]!;
  for (const p of b.paths) if (existsSync(p)) return p;
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new InfraError('BINARY_MISSING', `${name} not found: install the Debian package '${b.pkg}' (apt-get install -y ${b.pkg})`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped) still answers kill(0): check /proc when it exists.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

export async function tcpOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, pid: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (!isAlive(pid)) break;
    await sleep(100);
  }
  const tail = logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  throw new InfraError('START_FAILED', `${what} did not become healthy within ${timeoutMs} ms${isAlive(pid) ? '' : ' (process exited)'}${tail ? `; last log lines:\n${tail}` : ''}`);
}

export function spawnDetached(bin: string, args: string[], logFile: string, cwd?: string): number {
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], cwd });
  closeSync(fd);
  child.unref();
  if (!child.pid) throw new InfraError('START_FAILED', `cannot start ${bin}`);
  return child.pid;
}

/** Stop a process by PID: SIGTERM, then SIGKILL after a grace period. */
export async function stopPid(pid: number | undefined, graceMs = 5000): Promise<void> {
  if (!pid || !isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  while (isAlive(pid)) await sleep(20);
}

// ---------- Redis ----------

export interface RedisHandle {
  url: string;
  port: number;
  pid: number;
  dir: string;
}

export async function redisHealthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    let buf = '';
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        s.destroy();
        resolve(buf.startsWith('+PONG'));
      }
    });
    s.once('error', () => resolve(false));
  });
}

export async function startRedis(dir: string, port?: number): Promise<RedisHandle> {
  const bin = findBinary('redis-server');
  mkdirSync(dir, { recursive: true });
  const p = port ?? (await freePort());
  const log = join(dir, 'redis.log');
  // No persistence: the vehicle state is a cache of the recent past (DESIGN.md §3).
  const pid = spawnDetached(bin, ['--port', String(p), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--logfile', log], join(dir, 'redis.stdout'));
  await waitUntil(`redis-server on 127.0.0.1:${p}`, () => redisHealthy(p), 10_000, pid, log);
  return { url: `redis://127.0.0.1:${p}`, port: p, pid, dir };
}

// ---------- ClickHouse ----------

export interface ClickHouseHandle {
  name: string;
  url: string;
  httpPort: number;
  tcpPort: number;
  pid: number;
  dataDir: string;
}

function clickhouseConfig(dir: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<!-- Written by iov-pipeline for a local server on loopback; data under ${dir}. -->
<yandex>
  <logger><level>warning</level><log>${dir}/log/server.log</log><errorlog>${dir}/log/error.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mlock_executable>false</mlock_executable>
</yandex>
`;
}

const CLICKHOUSE_USERS = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default><max_memory_usage>4000000000</max_memory_usage><max_threads>2</max_threads></default>
  </profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

export async function clickhouseHealthy(httpPort: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${httpPort}/ping`, { signal: AbortSignal.timeout(1000) });
    return r.ok && (await r.text()).startsWith('Ok');
  } catch {
    return false;
  }
}

export async function startClickHouse(name: string, dir: string, ports?: { http: number; tcp: number }): Promise<ClickHouseHandle> {
  const bin = findBinary('clickhouse-server');
  for (const sub of ['data', 'tmp', 'log', 'user_files', 'format_schemas']) mkdirSync(join(dir, sub), { recursive: true });
  const httpPort = ports?.http ?? (await freePort());
  const tcpPort = ports?.tcp ?? (await freePort());
  writeFileSync(join(dir, 'config.xml'), clickhouseConfig(dir, httpPort, tcpPort));
  writeFileSync(join(dir, 'users.xml'), CLICKHOUSE_USERS);
  const args = bin.endsWith('/clickhouse') ? ['server', `--config-file=${dir}/config.xml`] : [`--config-file=${dir}/config.xml`];
  const pid = spawnDetached(bin, args, join(dir, 'log', 'stdout.log'), dir);
  await waitUntil(`clickhouse-server "${name}" on 127.0.0.1:${httpPort}`, () => clickhouseHealthy(httpPort), 30_000, pid, join(dir, 'log', 'error.log'));
  return { name, url: `http://127.0.0.1:${httpPort}`, httpPort, tcpPort, pid, dataDir: dir };
}

// ---------- Kafka (librdkafka mock cluster kept up by kcat) ----------

export interface KafkaHandle {
  brokers: string[];
  pid: number;
  dir: string;
}

export async function kafkaHealthy(brokers: string[]): Promise<boolean> {
  const oks = await Promise.all(brokers.map((b) => {
    const [host, port] = b.split(':');
    return tcpOpen(host!, Number(port));
  }));
  return oks.every(Boolean);
}

export async function startKafka(dir: string, brokers = 3): Promise<KafkaHandle> {
  const bin = findBinary('kcat');
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'kcat.log');
  writeFileSync(log, '');
  // `-b` is required and ignored; kcat stays up as a consumer of a probe topic, and with it
  // the mock cluster. `-q` keeps its own chatter out of the log; the broker list comes from
  // librdkafka's notice line.
  const pid = spawnDetached(bin, ['-b', '127.0.0.1:1', '-C', '-q', '-t', 'iov.probe', '-X', `test.mock.num.brokers=${brokers}`], log);
  let list: string[] = [];
  await waitUntil('Kafka mock cluster (kcat)', async () => {
    const m = /replaced with (\S+)/.exec(readFileSync(log, 'utf8')) ?? /bootstrap\.servers=(\S+)/.exec(readFileSync(log, 'utf8'));
    if (!m) return false;
    list = m[1]!.split(',');
    return kafkaHealthy(list);
  }, 15_000, pid, log);
  return { brokers: list, pid, dir };
}
