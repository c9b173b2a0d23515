// RowBinary packets rows (what the processor sends to a ClickHouse server) against the
// JSONEachRow rows that are byte-for-byte JSON.stringify of the plain rows (flow.test.ts):
// the same batch stored both ways on the real ClickHouse reads back identical, column by
// column, including edge values (unicode and control characters, 2^40 seqs, offsets past
// 2^32, null speed and heading, late rows, a month boundary, a gateway id that changes).
import { latLngToCell } from 'h3-js';
import { afterAll, describe, expect, it } from 'vitest';
import { encodedMonthRuns, PACKET_COLUMNS, packMessages, processBatch, rowSlice, type BatchTask, type FlowRules } from '../../src/flow/index.ts';
import { enrichedPacketCodec, type EnrichedPacket } from '../../src/schemas/index.ts';
import { testStore } from '../helpers/index.ts';

const codec = enrichedPacketCodec();
const CELLS = Array.from({ length: 5 }, (_, i) => latLngToCell(31.2 + i * 0.003, 121.4, 9));
const rules: FlowRules = { windowS: 60, allowedLatenessMs: 1000 };
const t0 = Date.UTC(2024, 0, 31, 23, 59, 30); // a month boundary inside the batch

function packet(over: Partial<EnrichedPacket>): EnrichedPacket {
  return {
    vehicleId: 'v1', seq: null, ts: t0, lat: 31.2, lng: 121.4, speedKmh: 50, heading: null, extra: {},
    cell: CELLS[0]!, segment: 'S', ownerSegment: 'S', crossing: false, prevSegment: null, ingestTs: 0, gatewayId: 'g', ...over,
  };
}

const log: (EnrichedPacket | Buffer)[] = [
  packet({ vehicleId: 'v"1\\é\u2028車', seq: 7, speedKmh: 0, heading: 270.5, gatewayId: 'gw\n1', ingestTs: t0 + 5 }),
  packet({ vehicleId: 'v2', ts: t0 + 120_000, speedKmh: null, heading: null, cell: CELLS[2]!, lat: -0.000001, lng: 1e-7 }),
  Buffer.from([1, 2, 3]), // poison: no row
  packet({ vehicleId: 'v3', ts: t0 - 10_000, speedKmh: 33.3, gatewayId: 'gw-2' }), // late (its window closed)
  packet({ vehicleId: 'v4', ts: t0 + 121_000, crossing: true }), // foreign: no row
  packet({ vehicleId: 'v5', ts: t0 + 122_000, speedKmh: 120.25, seq: 2 ** 40, heading: Math.fround(12.7), cell: CELLS[4]!, gatewayId: 'g' }),
  ...Array.from({ length: 300 }, (_, i) => packet({ vehicleId: `bulk-${i % 17}`, seq: i, ts: t0 + 130_000 + i * 10, speedKmh: (i * 7.3) % 130, cell: CELLS[i % 5]!, lat: 31 + i / 1e5, lng: 121 - i / 1e5 })),
];

function task(encode: BatchTask['encode']): BatchTask {
  const values = log.map((p) => (Buffer.isBuffer(p) ? p : codec.encode(p)));
  const { data, ends } = packMessages(values);
  // Offsets past 2^32, so the UInt64 high word is exercised.
  return { segment: 'S', partition: 3, rules, data, ends, offsets: Float64Array.from(values, (_, i) => 2 ** 33 + 5 + i), wm: -Infinity, skipWindows: [], packetsFrom: 0, encode };
}

describe('RowBinary packets rows', () => {
  const json = testStore('cloud-a');
  const bin = testStore('cloud-a');
  afterAll(async () => {
    for (const s of [json, bin]) {
      await s.command(`DROP DATABASE IF EXISTS ${s.database}`).catch(() => {});
      await s.close();
    }
  });

  it('store the same values as the JSONEachRow rows, cut at any row', async () => {
    await json.migrate();
    await bin.migrate();
    const j = processBatch(task('JSONEachRow')).encoded!;
    const b = processBatch(task('RowBinary')).encoded!;
    expect(b.format).toBe('RowBinary');
    expect([...b.offsets]).toEqual([...j.offsets]);
    expect([...b.months]).toEqual([...j.months]);
    expect(b.ends.length).toBe(304);
    expect(encodedMonthRuns(b)).toEqual(encodedMonthRuns(j));

    await json.insertEncoded!('packets', 'JSONEachRow', j.body);
    // The RowBinary rows go in as slices cut at arbitrary rows: every cut is a row boundary.
    for (const [i, k] of [[0, 1], [1, 2], [2, 3], [3, 150], [150, 151], [151, 304]] as const) {
      await bin.insertEncoded!('packets', 'RowBinary', rowSlice(b, i, k), PACKET_COLUMNS);
    }
    const all = `SELECT ${PACKET_COLUMNS.join(', ')} FROM packets ORDER BY kafka_offset`;
    const fromJson = await json.query(all);
    const fromBin = await bin.query(all);
    expect(fromJson).toHaveLength(304);
    expect(fromBin).toEqual(fromJson);
    expect(fromBin[0]).toMatchObject({ vehicle_id: 'v"1\\é\u2028車', gateway_id: 'gw\n1', seq: '7', kafka_partition: 3, kafka_offset: String(2 ** 33 + 5), has_speed: 1 });
    expect(fromBin[1]).toMatchObject({ vehicle_id: 'v2', has_speed: 0, speed_kmh: 0, heading: 0 });
    expect(fromBin[2]).toMatchObject({ vehicle_id: 'v3', late: 1, gateway_id: 'gw-2' });
    expect(fromBin[3]).toMatchObject({ vehicle_id: 'v5', seq: String(2 ** 40) });
  });

  it('a RowBinary insert without its column list is refused before anything is sent', async () => {
    const b = processBatch(task('RowBinary')).encoded!;
    await expect(bin.insertEncoded!('packets', 'RowBinary', b.body)).rejects.toMatchObject({ code: 'STORE_QUERY', message: expect.stringMatching(/RowBinary needs the column list/) });
  });
});
