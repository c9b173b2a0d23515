// Long-running commands stop cleanly on a SIGTERM sent the moment they say they are ready.
// Node takes the default action (death by signal, nothing drained) for a signal that has no
// listener yet, so each command installs its handlers before its ready line
// (src/cli/signals.ts; the gateway's case, d209338, is test/gateway/cli.test.ts). Each case
// spawns the real command on the test servers, sends SIGTERM from inside the handler that
// sees the ready line, and expects exit code 0 (not a signal).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { infra } from '../helpers/index.ts';
import { privateTopology, writeTopologyFile } from '../gateway/helpers.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

interface Stopped {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `iov …`, SIGTERM it as soon as `ready` matches its stdout or stderr, and wait for the exit. */
function stopOnReady(args: string[], ready: RegExp, timeoutMs = 90_000): Promise<Stopped> {
  const proc = spawn(process.execPath, [join(ROOT, 'bin/iov.mjs'), ...args], { cwd: ROOT, env: { ...process.env, IOV_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let sent = false;
  const watch = () => {
    if (!sent && (ready.test(stdout) || ready.test(stderr))) {
      sent = true;
      proc.kill('SIGTERM');
    }
  };
  proc.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
    watch();
  });
  proc.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
    watch();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`iov ${args[0]} did not ${sent ? 'exit after SIGTERM' : `print ${ready}`} within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!sent) reject(new Error(`iov ${args[0]} exited (${code ?? signal}) before its ready line\nstdout: ${stdout}\nstderr: ${stderr}`));
      else resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('SIGTERM right on the ready line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iov-signals-'));
  const topology = join(dir, 'topology.json');
  const topo = privateTopology();
  writeTopologyFile(topology, topo, infra());
  writeFileSync(join(dir, 'infra.json'), JSON.stringify(infra()));
  const common = ['--topology', topology, '--state-dir', dir];
  const segment = topo.segments[0]!.id;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('iov segment settles, reports what it leaves open and exits 0', async () => {
    const r = await stopOnReady(['segment', '--id', segment, '--workers', '0', ...common], /^segment processors running/m);
    expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: 0, signal: null });
    expect(r.stdout).toMatch(/^stopped: every window the watermark closed is stored; none left open$/m);
  }, 120_000);

  it('iov segment --processes 2 stops its copies and exits 0', async () => {
    const r = await stopOnReady(['segment', '--id', segment, '--workers', '0', '--processes', '2', ...common], /supervisor: 2 × iov segment .* running/);
    expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: 0, signal: null });
    // Each copy got the SIGTERM too and settled.
    expect(r.stdout.match(/^\[segment-\d\] stopped: /gm)).toHaveLength(2);
  }, 120_000);

  it('iov query --serve exits 0', async () => {
    const r = await stopOnReady(['query', '--serve', '--port', '0', ...common], /^query server on /m);
    expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('iov ui exits 0', async () => {
    const r = await stopOnReady(['ui', '--port', '0', ...common], /^map on http/m);
    expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('iov forecast --online exits 0 after the tick in progress, without waiting out its interval', async () => {
    // A 600 s interval: waiting it out would hit stopOnReady's 90 s limit.
    const r = await stopOnReady(['forecast', '--online', '--segment', segment, '--interval', '600', ...common], /^forecaster running: /m);
    expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: 0, signal: null });
  }, 120_000);
});
