// The federator's value rules where no table column exercises them yet (white box): NULL of
// Nullable types sorts after NaN in both directions and takes no part in a merge; Float32
// text round-trips; 64-bit results wrap like ClickHouse's.
import { describe, expect, it } from 'vitest';
import { compareForOrder, float32Text, parseVal, toJsonValue, wrap64, type Val } from '../../src/federation/values.ts';

const sortBy = (vals: Val[], desc: boolean) => [...vals].sort((a, b) => compareForOrder(a, b, desc));

describe('federator values', () => {
  it('NaN, then NULL, last for ASC and DESC (ClickHouse)', () => {
    const vals: Val[] = [null, 3, Number.NaN, -1, 7];
    expect(sortBy(vals, false)).toEqual([-1, 3, 7, Number.NaN, null]);
    expect(sortBy(vals, true)).toEqual([7, 3, -1, Number.NaN, null]);
  });

  it('Nullable values parse to null; non-Nullable nulls are non-finite floats', () => {
    expect([parseVal(null, 'Nullable(Float32)'), parseVal(null, 'Nullable(UInt64)'), parseVal('5', 'Nullable(UInt64)')]).toEqual([null, null, 5n]);
    expect(parseVal(null, 'Float64')).toBeNaN();
    expect(toJsonValue(null, 'Nullable(Int64)')).toBeNull();
  });

  it('Float32 text becomes the Float32 value and prints back as ClickHouse prints it', () => {
    const f = parseVal('6.8', 'Float32') as number;
    expect(f).toBe(6.800000190734863);
    expect(110.5 - f).toBe(103.69999980926514); // Float32 − Float32 is Float64 in ClickHouse
    expect([float32Text(f), toJsonValue(f, 'Float32'), toJsonValue(Math.fround(103.7), 'Nullable(Float32)')]).toEqual([6.8, 6.8, 103.7]);
  });

  it('64-bit integers wrap around', () => {
    expect(wrap64(2n ** 64n + 4n, 'UInt64')).toBe(4n);
    expect(wrap64(2n ** 63n, 'Int64')).toBe(-(2n ** 63n));
    expect(toJsonValue(-1n, 'UInt64')).toBe('18446744073709551615');
  });
});
