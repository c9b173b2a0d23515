import { describe, expect, it } from 'vitest';
import { allocate, CabinError, validateAllocateOptions } from '../../src/cabin/index.ts';
import { generateInstance } from '../../src/cabin/lab/index.ts';
import { parseAllocateOptions } from '../../src/cabin/cli.ts';
import { parseDemand } from '../../src/cabin/demand.ts';
import { statePaths } from '../../src/topology/index.ts';

const bad = (message: string): CabinError => new CabinError('CABIN_BAD_OPTION', message);

describe('option validation', () => {
  it('CLI options', () => {
    expect(() => parseAllocateOptions({ topology: 't', solver: 'lingo' })).toThrow(bad('--solver must be one of exact, fast, ga, hybrid, tabu, got "lingo"'));
    expect(() => parseAllocateOptions({ topology: 't', timeLimit: '1.5' })).toThrow(bad('--time-limit must be a positive integer (milliseconds), got "1.5"'));
    expect(() => parseAllocateOptions({ topology: 't', timeLimit: '0' })).toThrow(bad('--time-limit must be a positive integer (milliseconds), got "0"'));
    expect(() => parseAllocateOptions({ topology: 't', seed: 'x' })).toThrow(bad('--seed must be an integer, got "x"'));
    // no input: the default topology (issue 17)
    expect(parseAllocateOptions({}).mode).toBe('topology');
    expect(() => parseAllocateOptions({ topology: 't', gap: 'g' })).toThrow(bad('--topology and --gap cannot be used together'));
    expect(() => parseAllocateOptions({ generate: '5by10' })).toThrow(bad('--generate must be table4, large or a list like 5x10,20x20 (blocks x centres), got "5by10"'));
    expect(parseAllocateOptions({ generate: '5x10,20x20' }).sizes).toEqual([[5, 10], [20, 20]]);
    expect(parseAllocateOptions({ topology: 't' })).toEqual({ mode: 'topology', solver: 'exact', seed: 1, out: statePaths().plan, sizes: [] });
  });

  it('API options', async () => {
    expect(() => validateAllocateOptions({ timeLimitMs: -1 })).toThrow(bad('options.timeLimitMs must be a positive number'));
    expect(() => validateAllocateOptions({ seed: 1.5 })).toThrow(bad('options.seed must be an integer'));
    await expect(allocate(generateInstance({ blocks: 2, centres: 2 }), { solver: 'cplex' as never })).rejects.toThrow(bad('options.solver must be one of exact, fast, ga, hybrid, tabu, got "cplex"'));
  });

  it('demand file fields', () => {
    expect(() => parseDemand({ windowS: 0 }, 'd.yaml')).toThrow(new CabinError('CABIN_BAD_DEMAND', 'd.yaml: windowS: must be a number > 0, got 0'));
    expect(() => parseDemand({ segments: [{ id: 'n', packetsPerS: 'many' }] }, 'd.yaml')).toThrow(new CabinError('CABIN_BAD_DEMAND', 'd.yaml: segments[0].packetsPerS: must be a number > 0, got "many"'));
  });
});
