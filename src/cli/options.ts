// Options more than one command takes, each built and parsed in one place: one flag, one
// default, one message per setting (the state folder's environment variable and default live
// in src/topology/state-dir.ts; the window defaults in src/flow).
import type { Command } from 'commander';
import { DEFAULT_ALLOWED_LATENESS_S, DEFAULT_WINDOW_S } from '../flow/index.ts';

/**
 * `--state-dir <dir>`: where infra.json, plan.json, directory.json and the servers' data live.
 * `--root <dir>` is the same option under the name issue #16's chaos demo uses
 * (`iov infra up --root <dir>`): commander's second long flag, so both set the one value
 * `stateDir` (given twice, the last wins).
 */
export function stateDirOption(cmd: Command): Command {
  return cmd.option('--root, --state-dir <dir>', 'state folder: infra.json, plan.json, directory.json, server data (env IOV_STATE_DIR, default .iov)');
}

/** `-t, --topology <file>` (default: the example topology infra/topology/shanghai.yaml). */
export function topologyOption(cmd: Command): Command {
  return cmd.option('-t, --topology <file>', 'topology file (default infra/topology/shanghai.yaml)');
}

/** `--seed <n>`: the fleet simulator's seed (default 1). */
export function seedOption(cmd: Command): Command {
  return cmd.option('--seed <n>', 'simulator seed', '1');
}

/** `--window <s>` and `--lateness <s>`: the segment processors' tumbling window and allowed lateness. */
export function windowOptions(cmd: Command): Command {
  return cmd
    .option('--window <s>', 'tumbling window, seconds', String(DEFAULT_WINDOW_S))
    .option('--lateness <s>', 'allowed lateness, seconds (docs/segment.md, "Window semantics")', String(DEFAULT_ALLOWED_LATENESS_S));
}

/** The values of windowOptions, checked. */
export function windowSettings(o: { window?: unknown; lateness?: unknown }): { windowS: number; allowedLatenessS: number } {
  return { windowS: intOption('--window', o.window, 1, 86_400), allowedLatenessS: numberOption('--lateness', o.lateness, 0) };
}

/** `-p, --port <n>` and `--host <addr>` of a command that serves HTTP (loopback by default). */
export function listenOptions(cmd: Command, defaultPort: number, what = 'HTTP'): Command {
  return cmd
    .option('-p, --port <n>', `${what} port (0 = any free one)`, String(defaultPort))
    .option('--host <addr>', `${what} address to listen on`, '127.0.0.1');
}

/** A port from --port or --metrics-port. */
export function portOption(flag: string, v: unknown): number {
  return intOption(flag, v, 0, 65535);
}

/** An integer option value in [min, max]; the message names the flag and what it got. */
export function intOption(flag: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const x = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isInteger(x) || x < min || x > max) {
    const want = max < Number.MAX_SAFE_INTEGER ? `an integer from ${min} to ${max}`
      : min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer ≥ ${min}`;
    throw badOption(`${flag} must be ${want}, got ${String(v)}`);
  }
  return x;
}

/** A number option value ≥ min. */
export function numberOption(flag: string, v: unknown, min: number): number {
  const x = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(x) || x < min) throw badOption(`${flag} must be a number ≥ ${min}, got ${String(v)}`);
  return x;
}

export function badOption(message: string): Error {
  return Object.assign(new Error(message), { code: 'BAD_OPTION' });
}
