// `iov demo --local --mqtt`: the demo's fleet published over MQTT to the local mosquitto and
// taken by the in-process gateway's MQTT ingest path (docs/mqtt.md), on the test run's shared
// servers. The end-of-run checks are the demo's own, unchanged; the gateway's MQTT counter
// proves the packets went through the broker.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/embedded/index.ts';
import { infra } from '../helpers/index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('the demo over MQTT (demo --local --mqtt)', () => {
  it('passes every end-of-run check with the fleet published through mosquitto', async () => {
    expect(infra().mqtt, 'the test servers record a mosquitto').toBeDefined();
    const s = await runPipeline({ mode: 'local', mqtt: true, stateDir: infra().root, ticks: 12, vehicles: 400, seed: 11 });
    const failed = s.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    expect(failed).toEqual([]);
    expect(s.ok).toBe(true);
    expect(s.checks.length).toBeGreaterThanOrEqual(5);
    // Real traffic: 400 vehicles × 12 ticks (a minute of event time, whatever the box's
    // load), crossings among them.
    expect(s.gateway.accepted).toBeGreaterThan(4_000);
    expect(s.gateway.crossings).toBeGreaterThan(0);
    // Every request of the run went over the broker: one MQTT message per 1 000-packet request.
    if (s.ingest.path !== 'mqtt') throw new Error(`ingest path ${s.ingest.path}`);
    expect(s.ingest.url).toBe(infra().mqtt!.url);
    expect(s.ingest.topic).toMatch(/^iov\/v1\/demo-[0-9a-f]{6}\/packets$/);
    // Messages carry at most 1 000 packets each, and every offered packet came in one of them.
    expect(s.ingest.messages).toBeGreaterThanOrEqual(Math.ceil(s.gateway.offered / 1000));
    expect(s.ingest.messages).toBeLessThanOrEqual(s.gateway.offered);
    expect(s.steps.find((x) => x.name === 'gateway')?.detail).toContain('subscribed to');
  }, 300_000);

  it('refuses to start without a recorded mosquitto, and --mqtt without --local', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iov-demo-mqtt-'));
    try {
      const { mqtt: _none, ...noBroker } = infra();
      writeFileSync(join(dir, 'infra.json'), JSON.stringify({ ...noBroker, root: dir }));
      await expect(runPipeline({ mode: 'local', mqtt: true, stateDir: dir, durationS: 1, vehicles: 10 }))
        .rejects.toThrow(`--mqtt: no mosquitto recorded in ${join(dir, 'infra.json')} (run: iov infra up)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await expect(runPipeline({ mqtt: true })).rejects.toThrow("options.mqtt needs mode 'local'");
    const r = spawnSync(process.execPath, ['bin/iov.mjs', 'demo', '--mqtt', '--duration', '1'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--mqtt needs --local');
  }, 120_000);
});
