// The state folder: one flag (`--state-dir`), one environment variable (IOV_STATE_DIR), one
// default (`.iov`), read by every command. It holds what the local deployment knows about
// itself: `infra.json` (the servers `iov infra up` started), `plan.json` (the replica plan
// `iov allocate` writes and everything else reads), `directory.json` (the resource
// directory) and the servers' data folders.
import { join, resolve } from 'node:path';

export const STATE_DIR_ENV = 'IOV_STATE_DIR';
export const DEFAULT_STATE_DIR = '.iov';

/** The state folder, absolute: the flag if given, else IOV_STATE_DIR, else `.iov`. */
export function resolveStateDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? (env[STATE_DIR_ENV] || DEFAULT_STATE_DIR));
}

export interface StatePaths {
  dir: string;
  /** Servers started by `iov infra up` (LocalInfraState). */
  infra: string;
  /** Replica plan (ReplicaPlan) written by `iov allocate`. */
  plan: string;
  /** Resource directory store of the cabin allocator. */
  directory: string;
}

export function statePaths(dir: string = resolveStateDir()): StatePaths {
  const abs = resolve(dir);
  return { dir: abs, infra: join(abs, 'infra.json'), plan: join(abs, 'plan.json'), directory: join(abs, 'directory.json') };
}
