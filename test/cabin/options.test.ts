import { describe, expect, it } from 'vitest';
import { allocate, CabinError, generateInstance, readPlan, validateAllocateOptions, writePlan, validatePlan } from '../../src/cabin/index.ts';
import { parseAllocateOptions } from '../../src/cabin/cli.ts';
import { parseDemand } from '../../src/cabin/demand.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bad = (message: string): CabinError => new CabinError('CABIN_BAD_OPTION', message);

describe('option validation', () => {
  it('CLI options', () => {
    expect(() => parseAllocateOptions({ topology: 't', solver: 'lingo' })).toThrow(bad('--solver must be one of exact, fast, ga, got "lingo"'));
    expect(() => parseAllocateOptions({ topology: 't', timeLimit: '1.5' })).toThrow(bad('--time-limit must be a positive integer (milliseconds), got "1.5"'));
    expect(() => parseAllocateOptions({ topology: 't', timeLimit: '0' })).toThrow(bad('--time-limit must be a positive integer (milliseconds), got "0"'));
    expect(() => parseAllocateOptions({ topology: 't', seed: 'x' })).toThrow(bad('--seed must be an integer, got "x"'));
    expect(() => parseAllocateOptions({})).toThrow(bad('one of --topology, --gap, --instance or --generate is required'));
    expect(() => parseAllocateOptions({ topology: 't', gap: 'g' })).toThrow(bad('--topology and --gap cannot be used together'));
    expect(() => parseAllocateOptions({ generate: '5by10' })).toThrow(bad('--generate must be table4, large or a list like 5x10,20x20 (blocks x centres), got "5by10"'));
    expect(parseAllocateOptions({ generate: '5x10,20x20' }).sizes).toEqual([[5, 10], [20, 20]]);
    expect(parseAllocateOptions({ topology: 't' })).toEqual({ mode: 'topology', solver: 'exact', seed: 1, out: '.iov/plan.json', sizes: [] });
  });

  it('API options', async () => {
    expect(() => validateAllocateOptions({ timeLimitMs: -1 })).toThrow(bad('options.timeLimitMs must be a positive number'));
    expect(() => validateAllocateOptions({ seed: 1.5 })).toThrow(bad('options.seed must be an integer'));
    await expect(allocate(generateInstance({ blocks: 2, centres: 2 }), { solver: 'cplex' as never })).rejects.toThrow(bad('options.solver must be one of exact, fast, ga, got "cplex"'));
  });

  it('demand file fields', () => {
    expect(() => parseDemand({ windowS: 0 }, 'd.yaml')).toThrow(new CabinError('CABIN_BAD_DEMAND', 'd.yaml: windowS: must be a number > 0, got 0'));
    expect(() => parseDemand({ segments: [{ id: 'n', packetsPerS: 'many' }] }, 'd.yaml')).toThrow(new CabinError('CABIN_BAD_DEMAND', 'd.yaml: segments[0].packetsPerS: must be a number > 0, got "many"'));
  });

  it('plan files round-trip and bad ones name the field', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'plan-')), 'plan.json');
    const plan = { createdAt: new Date().toISOString(), solver: 'fast' as const, status: 'optimal' as const, totalCost: 10, segments: [{ segment: 'north', centre: 'c1', replicas: 2, expectedLatencyMs: 900, cost: 10 }] };
    writePlan(file, plan);
    expect(readPlan(file)).toEqual(plan);
    writeFileSync(file, JSON.stringify({ ...plan, segments: [{ ...plan.segments[0], replicas: 0 }] }));
    expect(() => readPlan(file)).toThrow(new CabinError('CABIN_BAD_PLAN', `${file}: segments[0].replicas: must be an integer ≥ 1`));
    expect(() => validatePlan({ ...plan, solver: 'lingo' })).toThrow(new CabinError('CABIN_BAD_PLAN', 'plan: solver: must be one of exact, fast, ga'));
  });
});
