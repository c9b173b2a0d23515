// `iov demo` end to end (embedded: no servers), and proof that its checks can fail.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatSummary, runPipeline, type PipelineSummary } from '../../src/embedded/index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/iov.mjs', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const check = (s: PipelineSummary, name: string) => {
  const c = s.checks.find((x) => x.name.startsWith(name));
  if (!c) throw new Error(`no check named ${name}: ${s.checks.map((x) => x.name).join(', ')}`);
  return c;
};

describe('iov demo (embedded)', () => {
  it('runs through every step, passes every check and exits 0', async () => {
    // 12 ticks of 5 s over 10-s windows: the run's event time spans six of them whatever the
    // box's load (a wall-clock --duration got fewer ticks on a loaded box).
    const r = await runCli(['demo', '--ticks', '12', '--window', '10', '--json']);
    expect(r.stderr).not.toMatch(/iov: /);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as PipelineSummary;
    expect(s.ok).toBe(true);
    expect(s.mode).toBe('embedded');
    expect(s.params.ticks).toBe(12);
    expect(s.params.durationS).toBeUndefined();
    expect(s.fleet.ticks).toBe(12);
    expect(s.steps.map((x) => [x.name, x.status])).toEqual([
      ['topology', 'ok'], ['cabin plan', 'ok'], ['infrastructure', 'ok'], ['gateway', 'ok'], ['segment processors', 'ok'],
      ['ingest', 'ok'], ['drain', 'ok'], ['federation', 'ok'],
    ]);
    // The checks compare real, non-trivial numbers.
    const g = s.gateway;
    expect(g.accepted).toBeGreaterThan(10_000);
    expect(g.duplicates).toBeGreaterThan(0);
    expect(g.rejected).toBeGreaterThan(0);
    expect(g.crossings).toBeGreaterThan(0);
    expect(g.produced).toBe(g.accepted + g.crossings);
    expect(s.segments.map((x) => x.segment)).toEqual(['north', 'central', 'south']);
    for (const seg of s.segments) {
      expect(seg.packetsStored).toBeGreaterThan(0);
      expect(seg.packetsStored).toBe(seg.ownedProduced);
      expect(seg.flowRows).toBeGreaterThan(0);
    }
    expect(s.segments.reduce((a, x) => a + x.packetsStored, 0)).toBe(g.accepted);
    expect(s.oracle!.owned).toBe(g.accepted);
    expect(s.segments.reduce((a, x) => a + x.flowPackets, 0)).toBe(s.oracle!.onTime);
    // Several windows, so the watermark (not only the final drain) closed some.
    expect(s.eventSpan.toMs - s.eventSpan.fromMs).toBe(12 * 5_000);
    expect(s.checks.length).toBeGreaterThanOrEqual(6);
    for (const c of s.checks) expect(c, c.detail).toMatchObject({ ok: true });
    // Three federated queries with results, and the replica plan.
    expect(s.queries).toHaveLength(3);
    for (const q of s.queries) {
      expect(q.error).toBeUndefined();
      expect(q.rows.length).toBeGreaterThan(0);
    }
    const perSegment = s.queries[0]!.rows;
    expect(perSegment.map((r) => r.segment)).toEqual(['central', 'north', 'south']);
    expect(perSegment.reduce((a, r) => a + Number(r.packets), 0)).toBe(s.oracle!.onTime);
    expect(s.queries[2]!.clouds.filter((c) => c.status === 'ok').map((c) => c.cloud)).toEqual(['cloud-b']);
    expect(s.plan!.segments.map((p) => p.segment).sort()).toEqual(['central', 'north', 'south']);
    // The text summary renders the same checks.
    const text = formatSummary(s);
    expect(text).toContain('All checks passed.');
    expect(text.match(/^ {2}PASS /gm)).toHaveLength(s.checks.length);
  }, 120_000);

  it('fails the no-double-count check when a crossing copy is also counted by the old segment', async () => {
    const s = await runPipeline({ ticks: 12, vehicles: 300, maxWorkersPerSegment: 0, faults: { doubleCount: true } });
    expect(s.faultsFired).toEqual(['doubleCount']);
    expect(s.ok).toBe(false);
    const c = check(s, 'no double count: packets stored');
    expect(c.ok).toBe(false);
    expect(c.detail).toBe(`Σ packets over 3 clouds = ${s.gateway.accepted + 1}, accepted by the gateway (non-duplicate) = ${s.gateway.accepted}`);
    expect(check(s, 'per segment').ok).toBe(false);
    expect(check(s, 'oracle: federated traffic_flow').ok).toBe(false);
    // The CLI maps this summary to exit code 1.
    expect(formatSummary(s)).toContain('Some checks FAILED (exit code 1).');
  }, 60_000);

  it('fails the flow and oracle checks when one traffic_flow row is lost', async () => {
    const s = await runPipeline({ ticks: 12, vehicles: 300, maxWorkersPerSegment: 0, faults: { dropFlowRow: true } });
    expect(s.faultsFired).toEqual(['dropFlowRow']);
    expect(s.ok).toBe(false);
    expect(check(s, 'no double count: packets stored').ok).toBe(true);
    const flow = check(s, 'no double count: Σ traffic_flow.packets');
    expect(flow.ok).toBe(false);
    const oracle = check(s, 'oracle: federated traffic_flow');
    expect(oracle.ok).toBe(false);
    expect(oracle.detail).toMatch(/^1 groups differ/);
  }, 60_000);

  it('iov demo refuses bad option values and --ticks with the multi-process demo, naming the option', async () => {
    const ticks = await runCli(['demo', '--local', '--chaos', '--ticks', '2']);
    expect([ticks.code, ticks.stderr]).toEqual([1, 'iov: [BAD_OPTION] --ticks paces the in-process demo: not with --processes, --gateways or --chaos (they run for --duration)\n']);
    const window = await runCli(['demo', '--window', '0']);
    expect([window.code, window.stderr]).toEqual([1, 'iov: [BAD_OPTION] --window must be an integer from 1 to 86400, got 0\n']);
  }, 60_000);

  it('fails fast on bad options', async () => {
    await expect(runPipeline({ durationS: -1 })).rejects.toThrow('options.durationS must be a positive number');
    await expect(runPipeline({ ticks: 0 })).rejects.toThrow('options.ticks must be a positive integer');
    await expect(runPipeline({ ticks: 2, durationS: 2 })).rejects.toThrow('options.ticks and options.durationS both given: the run stops after one of them');
    await expect(runPipeline({ vehicles: 1.5 })).rejects.toThrow('options.vehicles must be a positive integer');
    await expect(runPipeline({ mode: 'cloud' as 'local' })).rejects.toThrow("options.mode must be 'embedded' or 'local'");
  });
});
