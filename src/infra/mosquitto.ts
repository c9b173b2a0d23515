// Debian's mosquitto (MQTT 3.1.1 and 5) on loopback: the broker of the MQTT ingest path
// (docs/mqtt.md). Its users are the gateway keys: every telematics gateway logs in with
// username = gatewayId, password = its API key (IOV_API_KEYS), and may only publish to
// iov/v1/<gatewayId>/packets and read iov/v1/<gatewayId>/replies; one service user (the
// ingest gateways) reads every gateway's packets and writes the replies. The password file
// is hashed by mosquitto's own `mosquitto_passwd -U` (PBKDF2-SHA512), never kept in clear.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findBinary, freePort, InfraError, spawnDetached, waitUntil } from './servers.ts';

/** The ingest gateways' own broker login (reads every packets topic, writes the replies). */
export interface MqttServiceLogin {
  username: string;
  password: string;
}

export interface MosquittoHandle {
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** Absent when no gateway keys were given (anonymous broker: loopback/dev only). */
  service?: MqttServiceLogin;
}

export interface MosquittoOptions {
  port?: number;
  /** gatewayId -> API key. Empty or absent: anonymous access, no ACLs (like the HTTP gateway without keys). */
  users?: Record<string, string>;
  /** Login of the ingest gateways; required with users. */
  service?: MqttServiceLogin;
}

/** Topic layout (docs/mqtt.md): one packets topic and one replies topic per telematics gateway. */
export const MQTT_TOPICS = {
  packets: (gatewayId: string) => `iov/v1/${gatewayId}/packets`,
  replies: (gatewayId: string) => `iov/v1/${gatewayId}/replies`,
  anyPackets: 'iov/v1/+/packets',
} as const;

function aclFile(service: string): string {
  return [
    '# Written by iov-pipeline from the gateway keys (IOV_API_KEYS). %u = the login = gatewayId.',
    `user ${service}`,
    `topic read ${MQTT_TOPICS.anyPackets}`,
    'topic write iov/v1/+/replies',
    '',
    '# every telematics gateway: its own topics only',
    'pattern write iov/v1/%u/packets',
    'pattern read iov/v1/%u/replies',
    '',
  ].join('\n');
}

/**
 * Write <dir>/passwd (hashed) and <dir>/acl for these users. Safe to call on a running
 * broker's folder: send it SIGHUP (reloadMosquitto) to load the new files.
 */
export function writeMosquittoAuth(dir: string, users: Record<string, string>, service: MqttServiceLogin): { passwordFile: string; aclFile: string } {
  if (Object.hasOwn(users, service.username)) {
    throw new InfraError('START_FAILED', `gateway id "${service.username}" is reserved for the ingest gateways' own MQTT login`);
  }
  mkdirSync(dir, { recursive: true });
  const passwordFile = join(dir, 'passwd');
  const lines = [...Object.entries(users), [service.username, service.password]].map(([u, p]) => {
    if (/[:\n]/.test(u) || /\n/.test(p)) throw new InfraError('START_FAILED', `MQTT login ${JSON.stringify(u)}: no ':' or newline allowed`);
    return `${u}:${p}`;
  });
  writeFileSync(passwordFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
  const r = spawnSync(findBinary('mosquitto_passwd'), ['-U', passwordFile], { encoding: 'utf8' });
  if (r.status !== 0) throw new InfraError('START_FAILED', `mosquitto_passwd -U failed: ${r.stderr || r.error?.message}`);
  const acl = join(dir, 'acl');
  writeFileSync(acl, aclFile(service.username));
  return { passwordFile, aclFile: acl };
}

function config(dir: string, port: number, auth: { passwordFile: string; aclFile: string } | undefined): string {
  return [
    `# Written by iov-pipeline for a local broker on loopback; data under ${dir}.`,
    'per_listener_settings false',
    // Started as root, mosquitto would switch to the user "mosquitto", which cannot read
    // our folders: it stays the user that started it.
    `user ${userInfo().username}`,
    `listener ${port} 127.0.0.1`,
    // Persistent sessions of the ingest gateways hold what they have not acknowledged yet
    // (docs/mqtt.md, "Crash of a gateway"): keep them across a broker restart, and do not
    // cap the queue of a gateway that is down at mosquitto's default of 1000 messages (it
    // would drop the rest).
    'persistence true',
    `persistence_location ${dir}/data/`,
    'autosave_interval 10',
    'max_queued_messages 0',
    'max_queued_bytes 1073741824',
    `log_dest file ${dir}/mosquitto.log`,
    'log_type error',
    'log_type warning',
    'log_type notice',
    ...(auth ? ['allow_anonymous false', `password_file ${auth.passwordFile}`, `acl_file ${auth.aclFile}`] : ['allow_anonymous true']),
    '',
  ].join('\n');
}

/** A TCP connect plus an MQTT CONNECT that gets a CONNACK (any return code: the broker answers). */
export async function mosquittoHealthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    // MQTT 3.1.1 CONNECT, client id "iov-probe", clean session, keepalive 5 s.
    const id = Buffer.from('iov-probe');
    const varHeader = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 5]);
    const payload = Buffer.concat([Buffer.from([0, id.length]), id]);
    s.once('connect', () => s.write(Buffer.concat([Buffer.from([0x10, varHeader.length + payload.length]), varHeader, payload])));
    s.on('data', (d) => done(d[0] === 0x20));
    s.once('error', () => done(false));
  });
}

export async function startMosquitto(dir: string, opts: MosquittoOptions = {}): Promise<MosquittoHandle> {
  const bin = findBinary('mosquitto');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const users = opts.users ?? {};
  const withAuth = Object.keys(users).length > 0;
  if (withAuth && !opts.service) throw new InfraError('START_FAILED', 'startMosquitto: gateway users need a service login for the ingest gateways');
  const auth = withAuth ? writeMosquittoAuth(dir, users, opts.service!) : undefined;
  const port = opts.port ?? (await freePort());
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, config(dir, port, auth));
  const pid = spawnDetached(bin, ['-c', conf], join(dir, 'mosquitto.stdout'));
  await waitUntil(`mosquitto on 127.0.0.1:${port}`, () => mosquittoHealthy(port), 10_000, pid, join(dir, 'mosquitto.log'));
  return { url: `mqtt://127.0.0.1:${port}`, port, pid, dir, ...(withAuth ? { service: opts.service } : {}) };
}

/** Make a running broker re-read its password and ACL files. */
export function reloadMosquitto(pid: number): void {
  process.kill(pid, 'SIGHUP');
}
