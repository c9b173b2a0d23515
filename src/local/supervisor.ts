// Process supervision for local runs: N copies of an `iov` command as separate OS processes
// (`iov segment --processes N`, the chaos demo's segment processes and gateways).
//
// Restart policy (docs/scaleout.md §2): a child that exits while the supervisor is not
// stopping is started again after a backoff of min(maxBackoffMs, backoffMs · 2^k), k = its
// restarts in a row; k goes back to 0 once a child has run for `stableMs`. A child that
// needs more than `maxRestarts` restarts within `windowMs` is given up, and so is the
// supervisor: `done` rejects and the command exits non-zero, loudly, instead of flapping.
// A paused child (SIGSTOP) is not restarted: it is alive; the group fences it out.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const IOV_BIN = fileURLToPath(new URL('../../bin/iov.mjs', import.meta.url));

export interface ChildSpec {
  /** Short, unique name for logs and the chaos driver ("seg-1", "gw-2"). */
  name: string;
  /** Arguments to the `iov` command. */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Options to node itself, before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
  /** A stdout line matching this marks the child ready (default: ready at spawn). */
  ready?: RegExp;
}

export interface RestartPolicy {
  backoffMs: number;
  maxBackoffMs: number;
  stableMs: number;
  maxRestarts: number;
  windowMs: number;
}

export const DEFAULT_RESTART: RestartPolicy = { backoffMs: 500, maxBackoffMs: 10_000, stableMs: 30_000, maxRestarts: 5, windowMs: 60_000 };

export type MemberState = 'starting' | 'running' | 'paused' | 'restarting' | 'stopped' | 'failed';

export interface Member {
  readonly name: string;
  readonly pid: number | undefined;
  readonly state: MemberState;
  readonly restarts: number;
  /** When its current process was started (epoch ms). */
  readonly startedAt: number;
}

export interface SupervisorOptions {
  specs: ChildSpec[];
  restart?: Partial<RestartPolicy>;
  /** One line per lifecycle event ("seg-2 (pid 123) exited on SIGKILL; restart in 500 ms"). */
  log?: (line: string) => void;
  /** Every stdout line of every child, with its name. */
  onLine?: (name: string, line: string) => void;
  /** Children's stderr goes here (default: this process's stderr, prefixed with the name). */
  onStderr?: (name: string, chunk: string) => void;
}

export interface Supervisor {
  /** Start every child; resolves when each is ready (its ready line, or spawned). */
  start(readyTimeoutMs?: number): Promise<void>;
  members(): Member[];
  /** Send a signal to one member. SIGSTOP/SIGCONT mark it paused/running. */
  signal(name: string, sig: NodeJS.Signals): boolean;
  /** Resolves when a member is ready again (after a restart). */
  whenReady(name: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM every child (SIGCONT first if paused), SIGKILL after graceMs; resolves when all exited. */
  stop(graceMs?: number): Promise<void>;
  /** Rejects when a member was given up (too many restarts); resolves after stop(). */
  readonly done: Promise<void>;
}

interface Slot {
  spec: ChildSpec;
  child: ChildProcess | undefined;
  state: MemberState;
  restarts: number;
  inARow: number;
  recent: number[];
  startedAt: number;
  readyWaiters: (() => void)[];
}

function splitLines(onLine: (line: string) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    rest += chunk.toString();
    let i: number;
    while ((i = rest.indexOf('\n')) >= 0) {
      onLine(rest.slice(0, i));
      rest = rest.slice(i + 1);
    }
  };
}

export function createSupervisor(opts: SupervisorOptions): Supervisor {
  const policy = { ...DEFAULT_RESTART, ...opts.restart };
  const log = opts.log ?? (() => {});
  const slots = new Map<string, Slot>();
  for (const spec of opts.specs) {
    if (slots.has(spec.name)) throw new RangeError(`options.specs: duplicate name "${spec.name}"`);
    slots.set(spec.name, { spec, child: undefined, state: 'stopped', restarts: 0, inARow: 0, recent: [], startedAt: 0, readyWaiters: [] });
  }
  let stopping = false;
  let settle: { resolve: () => void; reject: (e: Error) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => {}); // observed by the caller through `done`; never an unhandled rejection here
  const timers = new Set<NodeJS.Timeout>();

  const markReady = (slot: Slot) => {
    if (slot.state === 'starting') slot.state = 'running';
    for (const w of slot.readyWaiters.splice(0)) w();
  };

  const launch = (slot: Slot) => {
    const { spec } = slot;
    const child = spawn(process.execPath, [...(spec.nodeArgs ?? []), IOV_BIN, ...spec.args], { env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    slot.child = child;
    slot.state = 'starting';
    slot.startedAt = Date.now();
    child.stdout!.on('data', splitLines((line) => {
      opts.onLine?.(spec.name, line);
      if (spec.ready && spec.ready.test(line)) markReady(slot);
    }));
    child.stderr!.on('data', (chunk: Buffer) => {
      if (opts.onStderr) opts.onStderr(spec.name, chunk.toString());
      else process.stderr.write(chunk.toString().split('\n').filter(Boolean).map((l) => `[${spec.name}] ${l}\n`).join(''));
    });
    if (!spec.ready) markReady(slot);
    child.once('exit', (code, sig) => onExit(slot, child, code, sig));
  };

  const onExit = (slot: Slot, child: ChildProcess, code: number | null, sig: NodeJS.Signals | null) => {
    if (slot.child !== child) return;
    slot.child = undefined;
    const how = sig ? `on ${sig}` : `with code ${code}`;
    if (stopping) {
      slot.state = 'stopped';
      log(`${slot.spec.name} (pid ${child.pid}) exited ${how}`);
      return;
    }
    const now = Date.now();
    if (now - slot.startedAt >= policy.stableMs) slot.inARow = 0;
    slot.recent = slot.recent.filter((t) => now - t < policy.windowMs);
    if (slot.recent.length >= policy.maxRestarts) {
      slot.state = 'failed';
      log(`${slot.spec.name} (pid ${child.pid}) exited ${how}; ${slot.recent.length} restarts within ${policy.windowMs / 1000} s: given up`);
      settle.reject(Object.assign(new Error(`${slot.spec.name} keeps exiting (last ${how}); gave up after ${slot.recent.length} restarts within ${policy.windowMs / 1000} s`), { code: 'CHILD_FLAPPING' }));
      return;
    }
    const delay = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** slot.inARow);
    slot.inARow++;
    slot.restarts++;
    slot.recent.push(now);
    slot.state = 'restarting';
    log(`${slot.spec.name} (pid ${child.pid}) exited ${how}; restart in ${delay} ms`);
    const t = setTimeout(() => {
      timers.delete(t);
      if (stopping) return;
      launch(slot);
      log(`${slot.spec.name} restarted as pid ${slot.child?.pid}`);
    }, delay);
    timers.add(t);
  };

  const whenReady = (name: string, timeoutMs = 60_000) => {
    const slot = slots.get(name);
    if (!slot) return Promise.reject(new RangeError(`no member named ${name}`));
    if (slot.state === 'running' || slot.state === 'paused') return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${name} not ready within ${timeoutMs} ms`)), timeoutMs);
      slot.readyWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  };

  return {
    async start(readyTimeoutMs = 90_000) {
      for (const slot of slots.values()) launch(slot);
      await Promise.all([...slots.keys()].map((n) => whenReady(n, readyTimeoutMs)));
    },
    members: () => [...slots.values()].map((s) => ({ name: s.spec.name, pid: s.child?.pid, state: s.state, restarts: s.restarts, startedAt: s.startedAt })),
    signal(name, sig) {
      const slot = slots.get(name);
      if (!slot?.child?.pid) return false;
      try {
        process.kill(slot.child.pid, sig);
      } catch {
        return false;
      }
      if (sig === 'SIGSTOP') slot.state = 'paused';
      if (sig === 'SIGCONT' && slot.state === 'paused') slot.state = 'running';
      return true;
    },
    whenReady,
    async stop(graceMs = 20_000) {
      stopping = true;
      for (const t of timers) clearTimeout(t);
      const live = [...slots.values()].filter((s) => s.child);
      await Promise.all(live.map((s) => new Promise<void>((resolve) => {
        const child = s.child!;
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        if (s.state === 'paused') child.kill('SIGCONT');
        child.kill('SIGTERM');
      })));
      settle.resolve();
    },
    done,
  };
}
