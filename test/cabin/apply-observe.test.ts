// What makes `iov apply --watch` re-plan (docs/cabin.md §8.3), on a real status folder:
// a centre's figures, withdrawal, `down`, a heartbeat that stops (only for a centre seen
// reporting), demand beyond the threshold (measured from the planned value), the topology.
// And how replicas become processes × threads.
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createObserver, processLayout, replanReasons } from '../../src/control/index.ts';
import { DEFAULT_TOPOLOGY_FILE } from '../../src/topology/index.ts';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'iov-observe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup(name: string) {
  const centres = join(dir, name, 'centres');
  cpSync(join(root, 'infra', 'cabin', 'centres'), centres, { recursive: true });
  const demand = join(dir, name, 'demand.yaml');
  const writeDemand = (pps: number) => writeFileSync(demand, stringify({ windowS: 60, deadlineS: 15, rentalHours: 24, defaults: { packetsPerS: pps, packetBytes: 350 } }));
  writeDemand(1000);
  const edit = (id: string, from: RegExp, to: string) => {
    const f = join(centres, `${id}.yaml`);
    writeFileSync(f, readFileSync(f, 'utf8').replace(from, to));
  };
  const touch = (id: string, at: number) => utimesSync(join(centres, `${id}.yaml`), at / 1000, at / 1000);
  return { centres, demand, writeDemand, edit, touch };
}

describe('apply --watch: re-plan triggers', () => {
  it('a centre\'s figures, withdrawal and down state', () => {
    const s = setup('figures');
    const observe = createObserver({ inputs: { topology: DEFAULT_TOPOLOGY_FILE, demand: s.demand, centres: s.centres }, heartbeatTimeoutS: 30, demandThreshold: 0.2 });
    const planned = observe().snapshot;
    expect(replanReasons(planned, observe().snapshot, 0.2)).toEqual([]);
    s.edit('hw-cd-z', /vmPricePerHour: [\d.]+/, 'vmPricePerHour: 0.2');
    s.edit('ali-sh-a', /vmCount: \d+/, 'vmCount: 3');
    unlinkSync(join(s.centres, 'hw-sh-x.yaml'));
    s.edit('hw-wh-y', /state: up/, 'state: down');
    expect(replanReasons(planned, observe().snapshot, 0.2).sort()).toEqual([
      'centre ali-sh-a changed (vmCount 48 → 3)',
      'centre hw-cd-z changed (vmPrice 0.11 → 0.2)',
      'centre hw-sh-x withdrawn',
      'centre hw-wh-y down',
    ].sort());
  });

  it('a heartbeat that stops: silent after the timeout, only for a centre seen reporting; back again when it reports', () => {
    const s = setup('heartbeat');
    const observe = createObserver({ inputs: { topology: DEFAULT_TOPOLOGY_FILE, demand: s.demand, centres: s.centres }, heartbeatTimeoutS: 3, demandThreshold: 0.2 });
    const t0 = Math.floor(Date.now() / 1000) * 1000; // whole seconds: mtimes keep them exactly
    for (const id of ['hw-cd-z', 'ali-sh-a']) s.touch(id, t0 - 10_000);
    const planned = observe(t0).snapshot; // first look: nobody seen reporting yet
    s.touch('hw-cd-z', t0 - 5_000); // hw-cd-z reported once (mtime advanced), then stopped
    const later = observe(t0);
    expect(replanReasons(planned, later.snapshot, 0.2)).toEqual(['centre hw-cd-z silent for 5.0 s (heartbeat timeout 3 s)']);
    expect(later.instance.centres.map((c) => c.id)).not.toContain('hw-cd-z');
    expect(later.heartbeats.get('ali-sh-a')).toEqual({ lastReport: t0 - 10_000, reporting: false }); // a static file is never silent
    s.touch('hw-cd-z', t0);
    expect(replanReasons(later.snapshot, observe(t0 + 1_000).snapshot, 0.2)).toEqual(['centre hw-cd-z offered again']);
  });

  it('demand beyond the threshold from the planned value, and the topology', () => {
    const s = setup('demand');
    const observe = createObserver({ inputs: { topology: DEFAULT_TOPOLOGY_FILE, demand: s.demand, centres: s.centres }, heartbeatTimeoutS: 30, demandThreshold: 0.2 });
    const planned = observe().snapshot;
    s.writeDemand(1150); // +15 %
    expect(replanReasons(planned, observe().snapshot, 0.2)).toEqual([]);
    s.writeDemand(1300); // +30 % of the planned value (a drift that adds up)
    expect(replanReasons(planned, observe().snapshot, 0.2)).toEqual(['north', 'central', 'south'].map((id) => `demand of ${id} changed by 30 % (threshold 20 %)`));
    const topo = join(dir, 'demand', 'topology.yaml');
    writeFileSync(topo, readFileSync(DEFAULT_TOPOLOGY_FILE, 'utf8').replace('maxReplicas: 4', 'maxReplicas: 2'));
    const other = createObserver({ inputs: { topology: topo, demand: s.demand, centres: s.centres }, heartbeatTimeoutS: 30, demandThreshold: 0.2 });
    expect(replanReasons(observe().snapshot, other().snapshot, 0.2)).toEqual(['the topology or the planning figures changed (segments, maxReplicas, deadline, window, rental period, latency, migration)']);
  });

  it('replicas = processes × threads; threads 0 = a process per replica on its main thread', () => {
    expect(processLayout(3, 1)).toEqual([1, 1, 1]);
    expect(processLayout(3, 2)).toEqual([2, 1]);
    expect(processLayout(4, 4)).toEqual([4]);
    expect(processLayout(2, 0)).toEqual([0, 0]);
  });
});
