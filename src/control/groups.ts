// Centres as process groups on this machine (docs/cabin.md §8.2). Each member is one
// `iov segment --id <segment> --workers <threads> --metrics-port 0` OS process, started
// detached (its own process group, so it outlives a one-shot `iov apply`), its stdout and
// stderr in `<groups-dir>/<centre>/<segment>-<n>.log`. The members of a segment, wherever
// they run, form the segment's one consumer group; Kafka spreads the partitions over them.
// The log gives the member's ready line and its metrics port; /readyz gives the partitions
// it owns (SegmentHealth.owned), which is how a hand-over is watched.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { IOV_BIN } from '../local/index.ts';
import type { MemberRecord } from './state.ts';

/** The member's stdout line once it runs; it names the metrics port. */
const READY = /segment processors running.*metrics on 127\.0\.0\.1:(\d+)/;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface GroupsOptions {
  /** Where each centre's folder (logs) lives: `<groups-dir>/<centre>/`. */
  dir: string;
  /** Arguments every member gets (topology, state dir, window, lateness). */
  memberArgs: readonly string[];
  env?: NodeJS.ProcessEnv;
}

export interface OwnedPartition { segment: string; partition: number; next: number | null }

export interface CentreGroups {
  start(centre: string, segment: string, workers: number, n: number): MemberRecord;
  /** Resolves with the metrics port once the member printed its ready line; rejects if it exits first. */
  ready(m: MemberRecord, timeoutMs: number): Promise<number>;
  alive(m: MemberRecord): boolean;
  /** The partitions a member owns (empty if it does not answer). */
  owned(m: MemberRecord): Promise<OwnedPartition[]>;
  /** SIGTERM (the member settles, commits and leaves its group), SIGKILL after graceMs; resolves once gone. */
  stop(m: MemberRecord, graceMs?: number): Promise<'stopped' | 'killed' | 'gone'>;
  signal(m: MemberRecord, sig: NodeJS.Signals): boolean;
  /** The member's log from byte `from` on. */
  output(m: MemberRecord, from?: number): string;
}

export function createCentreGroups(o: GroupsOptions): CentreGroups {
  const output = (m: MemberRecord, from = 0): string => {
    if (!existsSync(m.log)) return '';
    const text = readFileSync(m.log);
    return text.subarray(Math.min(from, text.length)).toString();
  };
  const alive = (m: MemberRecord): boolean => {
    try {
      process.kill(m.pid, 0);
    } catch {
      return false;
    }
    // A recycled pid is not our member: its command line names the segment.
    const cmd = `/proc/${m.pid}/cmdline`;
    if (!existsSync(cmd)) return true;
    try {
      const args = readFileSync(cmd, 'utf8').split('\0');
      if (readFileSync(`/proc/${m.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')) return false;
      return args.includes('segment') && args.includes(m.segment);
    } catch {
      return false;
    }
  };
  return {
    start(centre, segment, workers, n) {
      const folder = join(o.dir, centre);
      mkdirSync(folder, { recursive: true });
      const log = join(folder, `${segment}-${n}.log`);
      const fd = openSync(log, 'a');
      const args = [IOV_BIN, 'segment', '--id', segment, '--workers', String(workers), '--metrics-port', '0', ...o.memberArgs];
      const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...o.env } });
      closeSync(fd);
      child.unref();
      if (child.pid === undefined) throw new Error(`could not start iov segment --id ${segment} for ${centre}`);
      return { name: `${centre}/${segment}-${n}`, centre, segment, workers, pid: child.pid, log, logFrom: statSync(log).size, startedAt: new Date().toISOString() };
    },
    async ready(m, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = READY.exec(output(m, m.logFrom));
        if (hit) return Number(hit[1]);
        if (!alive(m)) throw new Error(`${m.name} (pid ${m.pid}) exited before it was ready: ${output(m, m.logFrom).trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`);
        if (Date.now() > deadline) throw new Error(`${m.name} (pid ${m.pid}) not ready within ${timeoutMs} ms`);
        await sleep(200);
      }
    },
    alive,
    async owned(m) {
      if (!m.port) return [];
      return new Promise((resolve) => {
        const req = get({ host: '127.0.0.1', port: m.port, path: '/readyz', timeout: 2_000 }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => { body += c.toString(); });
          res.on('end', () => {
            try {
              resolve(((JSON.parse(body) as { owned?: OwnedPartition[] }).owned ?? []));
            } catch {
              resolve([]);
            }
          });
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve([]));
      });
    },
    async stop(m, graceMs = 30_000) {
      if (!alive(m)) return 'gone';
      try {
        process.kill(m.pid, 'SIGCONT');
        process.kill(m.pid, 'SIGTERM');
      } catch {
        return 'gone';
      }
      const deadline = Date.now() + graceMs;
      while (alive(m)) {
        if (Date.now() > deadline) {
          try { process.kill(m.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
          while (alive(m)) await sleep(50);
          return 'killed';
        }
        await sleep(100);
      }
      return 'stopped';
    },
    signal(m, sig) {
      if (!alive(m)) return false;
      try {
        process.kill(m.pid, sig);
        return true;
      } catch {
        return false;
      }
    },
    output,
  };
}
