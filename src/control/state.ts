// What `iov apply` last carried out (docs/cabin.md §8.2): the applied replica plan and the
// members it started, with their pids — `<groups-dir>/applied.json`, written atomically
// after every step, so a later `iov apply` (or one after a crash of the controller) knows
// what runs and asks each member whether it is still alive.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CabinError, type ReplicaPlan } from '../cabin/index.ts';

export interface MemberRecord {
  /** `<centre>/<segment>-<n>` */
  name: string;
  centre: string;
  segment: string;
  /** pool threads in this process (`--workers`) */
  workers: number;
  pid: number;
  /** its stdout and stderr */
  log: string;
  /** where this process's output begins in the log (a log is appended to, never reused for another pid, but kept across runs) */
  logFrom: number;
  /** metrics port, once ready */
  port?: number;
  startedAt: string;
}

export interface AppliedState {
  version: 1;
  updatedAt: string;
  /** the topology file the members run with */
  topology: string;
  /** the plan carried out last (null before the first apply, or after --destroy) */
  plan: ReplicaPlan | null;
  members: MemberRecord[];
  /** next member number (names are never reused) */
  nextMember: number;
}

export function emptyState(topology: string): AppliedState {
  return { version: 1, updatedAt: new Date().toISOString(), topology, plan: null, members: [], nextMember: 1 };
}

export function readApplied(file: string): AppliedState | undefined {
  if (!existsSync(file)) return undefined;
  const s = JSON.parse(readFileSync(file, 'utf8')) as AppliedState;
  if (s.version !== 1 || !Array.isArray(s.members)) throw new CabinError('CABIN_BAD_OPTION', `${file}: not an applied-state file (version 1)`);
  return s;
}

export function writeApplied(file: string, s: AppliedState): void {
  mkdirSync(dirname(file), { recursive: true });
  s.updatedAt = new Date().toISOString();
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`);
  renameSync(tmp, file);
}
