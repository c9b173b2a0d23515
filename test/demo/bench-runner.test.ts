// The bench runner's parsing and summary (the benches themselves run under `npm run bench`).
import { describe, expect, it } from 'vitest';
import { lastJson, listBenches, summaryMarkdown, type BenchOutcome } from '../../bench/run.ts';

describe('bench runner', () => {
  it('finds every bench file, components first and end to end last', () => {
    const names = listBenches();
    expect(names).toContain('e2e');
    expect(names.at(-1)).toBe('e2e');
    expect(names).not.toContain('run');
  });

  it('takes the last JSON object a bench printed, one-line or pretty', () => {
    expect(lastJson('warming up\n{"a":1}\n{"bench":"x","n":2}\n')).toEqual({ bench: 'x', n: 2 });
    expect(lastJson('log line\n{\n  "bench": "y",\n  "m": {\n    "k": 1\n  }\n}\n')).toEqual({ bench: 'y', m: { k: 1 } });
    expect(lastJson('no json here\n')).toBeUndefined();
    expect(lastJson('{"broken": \n')).toBeUndefined();
  });

  it('summarises ratios and targets in a Markdown table, flagging failures and missed targets', () => {
    const outcomes: BenchOutcome[] = [
      { bench: 'e2e', ok: true, exitCode: 0, wallS: 61.2, result: { ratio: { sustainedLocalVsEmbedded: 0.1823 }, target: { p99LatencyMs: 2000, met: false } } },
      { bench: 'cabin', ok: true, exitCode: 0, wallS: 9, result: { ratio: 12.5, target: { met: true } } },
      { bench: 'gateway', ok: false, exitCode: 1, wallS: 3, result: undefined, error: 'exit code 1' },
      { bench: 'segment', ok: true, exitCode: 0, wallS: 5, result: { generationMs: 9, throughput: { ratio: 0.72, met: false }, steps: { federation: 'ok' } } },
    ];
    const md = summaryMarkdown(outcomes, '2026-01-01');
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| bench') && !l.startsWith('| ---'));
    expect(rows).toEqual([
      '| e2e | ok (target missed) | 61.2 | sustainedLocalVsEmbedded 0.182 | p99LatencyMs 2,000<br>met false |',
      '| cabin | ok | 9 | ratio 12.5 | met true |',
      '| gateway | FAILED: exit code 1 | 3 | — | — |',
      '| segment | ok (target missed) | 5 | throughput.ratio 0.72 | throughput.met false |',
    ]);
    expect(md).toMatch(/^# Benchmarks 2026-01-01/);
  });
});
