import { mkdtempSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createDirectory, findCentre, listCentres, loadDirectory, registerFolder, saveDirectory, withdrawCentre,
  centresFromDirectory,
} from '../../src/cabin/index.ts';

const sample = join(import.meta.dirname, '..', '..', 'infra', 'cabin', 'centres');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'cabin-dir-'));

describe('resource directory', () => {
  it('registers the example centres into provider → location → centre', () => {
    const d = createDirectory();
    const rep = registerFolder(d, sample);
    expect(rep.errors).toEqual([]);
    expect(rep.added).toHaveLength(9);
    expect(d.providers.map((p) => p.name)).toEqual(['aliyun', 'huawei', 'tencent']);
    const ali = d.providers[0]!;
    expect(ali.accessLimits).toEqual({ maxVmsPerTenant: 300, apiCallsPerS: 50 });
    expect(ali.locations.map((l) => [l.name, l.centreCount, l.uplinkMbps])).toEqual([['beijing', 1, 100000], ['hangzhou', 1, 40000], ['shanghai', 1, 40000]]);
    expect(findCentre(d, 'tx-gz-1')?.location).toBe('guangzhou'); // the JSON one
  });

  it('registration is idempotent and persists', () => {
    const store = join(tmp(), 'dir.json');
    const d = createDirectory();
    registerFolder(d, sample);
    saveDirectory(d, store);
    const again = loadDirectory(store);
    const rep = registerFolder(again, sample);
    expect(rep.added).toEqual([]);
    expect(rep.updated).toEqual([]);
    expect(rep.unchanged).toHaveLength(9);
    expect(listCentres(again)).toHaveLength(9);
    expect(again).toEqual(d);
  });

  it('an existing entry is updated (and moved), never duplicated', () => {
    const dir = tmp();
    cpSync(sample, dir, { recursive: true });
    const d = createDirectory();
    registerFolder(d, dir);
    writeFileSync(join(dir, 'tx-sh-1.yaml'), [
      'id: tx-sh-1', 'provider: tencent', 'location: suzhou', 'lat: 31.3', 'lng: 120.6', 'cpuCores: 1024', 'memoryGb: 4096',
      'diskGb: 204800', 'vmCount: 10', 'vmSpeedMBps: 50', 'vmPricePerHour: 0.2', 'uplinkPricePerGB: 0.1',
      'vmBandwidthMBps: 125', 'vmStorageMB: 8192', 'state: degraded',
    ].join('\n'));
    const rep = registerFolder(d, dir);
    expect(rep.updated).toEqual(['tx-sh-1']);
    expect(listCentres(d).filter((e) => e.centre.id === 'tx-sh-1')).toHaveLength(1);
    const e = findCentre(d, 'tx-sh-1')!;
    expect([e.location, e.centre.vmCount, e.centre.state]).toEqual(['suzhou', 10, 'degraded']);
    expect(d.providers.find((p) => p.name === 'tencent')!.locations.map((l) => l.name)).toEqual(['guangzhou', 'nanjing', 'suzhou']);
  });

  it('withdraws a centre and prunes empty levels; down centres are not offered', () => {
    const d = createDirectory();
    registerFolder(d, sample);
    expect(withdrawCentre(d, 'ali-bj-c')).toBe(true);
    expect(withdrawCentre(d, 'ali-bj-c')).toBe(false);
    expect(findCentre(d, 'ali-bj-c')).toBeUndefined();
    expect(d.providers[0]!.locations.map((l) => l.name)).toEqual(['hangzhou', 'shanghai']);
    findCentre(d, 'hw-sh-x')!.centre.state = 'down';
    expect(centresFromDirectory(d).map((c) => c.id)).not.toContain('hw-sh-x');
    expect(centresFromDirectory(d)).toHaveLength(7);
  });

  it('malformed files are reported by file and field and do not stop the others', () => {
    const dir = tmp();
    cpSync(join(sample, 'ali-sh-a.yaml'), join(dir, 'ali-sh-a.yaml'));
    writeFileSync(join(dir, 'bad-price.yaml'), 'id: x1\nprovider: p\nlocation: l\nlat: 1\nlng: 2\ncpuCores: 1\nmemoryGb: 1\ndiskGb: 1\nvmCount: 3\nvmSpeedMBps: 10\nvmPricePerHour: -1\nuplinkPricePerGB: 0\nvmBandwidthMBps: 10\nvmStorageMB: 10\n');
    writeFileSync(join(dir, 'broken.json'), '{ "id": ');
    writeFileSync(join(dir, 'list.yaml'), '- 1\n- 2\n');
    const d = createDirectory();
    const rep = registerFolder(d, dir);
    expect(rep.added).toEqual(['ali-sh-a']);
    expect(rep.errors.map((e) => [e.file.split('/').pop(), e.field])).toEqual([
      ['bad-price.yaml', 'vmPricePerHour'], ['broken.json', '(file)'], ['list.yaml', '(root)'],
    ]);
    expect(rep.errors[0]!.message).toBe('must be a number ≥ 0, got -1');
  });
});
