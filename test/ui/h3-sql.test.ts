// h3ToString() in the federator's SQL: the clouds return the UInt64, the federator prints hex.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T0, flowFixture, type FlowFixture } from './fixtures.ts';

let fx: FlowFixture;
let cells: string[];

beforeAll(async () => {
  fx = await flowFixture();
  cells = [...fx.cellsOf('north', 2), ...fx.cellsOf('south', 2)];
  await fx.writeWindow(
    T0,
    cells.map((cell, i) => ({ cell, packets: 3 + i, kmh: 40 })),
  );
});
afterAll(async () => {
  await fx?.close();
});

describe('h3ToString()', () => {
  it('answers hex cells, merged across clouds, typed String', async () => {
    const res = await fx.federator.query('SELECT h3ToString(cell) AS hex, sum(packets) AS p FROM traffic_flow GROUP BY cell ORDER BY cell');
    expect(res.rows).toEqual([...cells].sort().map((c) => ({ hex: c, p: String(3 + cells.indexOf(c)) })));
    expect(res.columns).toEqual([
      { name: 'hex', type: 'String' },
      { name: 'p', type: 'UInt64' },
    ]);
    expect(res.plan.strategy).toBe('merge-aggregate');
    // Never sent to a cloud (ClickHouse 18.16 has no H3 functions).
    expect(res.plan.clouds.map((c) => c.sql ?? '').join(' ')).not.toMatch(/h3/i);
  });

  it('works on one cloud and on plain rows, with its expression as the column name', async () => {
    const one = await fx.federator.query(
      `SELECT h3ToString(cell), packets FROM traffic_flow WHERE cell = ${BigInt(`0x${cells[0]}`)} ORDER BY part`,
    );
    expect(one.plan.strategy).toBe('single-cloud');
    expect(one.rows).toEqual([
      { 'h3ToString(cell)': cells[0], packets: 2 },
      { 'h3ToString(cell)': cells[0], packets: 1 },
    ]);
  });

  it('is refused anywhere but a whole SELECT item, and over anything but a UInt64', async () => {
    await expect(fx.federator.query("SELECT count() FROM traffic_flow WHERE h3ToString(cell) = 'x'")).rejects.toMatchObject({
      code: 'UNSUPPORTED_SQL',
      message: 'h3ToString() is only supported as a whole SELECT item (the federator applies it to the result)',
    });
    await expect(fx.federator.query('SELECT length(h3ToString(cell)) FROM traffic_flow')).rejects.toMatchObject({
      code: 'UNSUPPORTED_SQL',
    });
    await expect(fx.federator.query('SELECT h3ToString(segment) FROM traffic_flow')).rejects.toMatchObject({
      code: 'INVALID_QUERY',
      message: 'h3ToString() takes a UInt64 H3 index, got String',
    });
  });
});
