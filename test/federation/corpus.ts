// The differential corpus: run through the federator and directly on an oracle holding the
// union; used against ClickHouse 18.16 servers and against chDB (current ClickHouse).
import type { Dataset } from './fixtures.ts';

export function corpus(ds: Dataset): { sql: string; ordered?: boolean }[] {
  const cellN = ds.cells.north![0]!;
  const cellC = ds.cells.central![1]!;
  const cellS = ds.cells.south![2]!;

  // ordered: true where ORDER BY covers a unique key (row order is then fully determined).
  return [
    // global aggregates
    { sql: 'SELECT count() FROM packets' },
    // Regions (pruned by lat/lng bounds): must equal the oracle, so pruning never drops rows.
    { sql: 'SELECT segment, count(), sum(speed_kmh) FROM packets WHERE lat BETWEEN 31.32 AND 31.45 AND lng BETWEEN 121.2 AND 121.7 GROUP BY segment ORDER BY segment', ordered: true },
    { sql: 'SELECT count(), min(lat), max(lat) FROM packets WHERE lat > 31.05 AND lat < 31.35 AND lng >= 121.1 AND lng <= 121.8' },
    { sql: 'SELECT count(*), sum(packets), sum(vehicles), sum(speed_count) FROM traffic_flow' },
    { sql: 'SELECT min(speed_kmh), max(speed_kmh), avg(speed_kmh), sum(speed_kmh) FROM packets' },
    { sql: 'SELECT min(ts), max(ts), min(vehicle_id), max(vehicle_id) FROM packets' },
    { sql: 'SELECT sum(speed_sum) / sum(speed_count) AS mean_speed, sum(speed_count) / sum(inv_speed_sum) AS space_mean FROM traffic_flow' },
    { sql: 'SELECT countIf(speed_kmh = 0), sumIf(speed_kmh, speed_kmh > 60), avgIf(speed_kmh, heading < 180) FROM packets' },
    { sql: 'SELECT sum(ts_ms), sum(ingest_ts_ms - ts_ms), max(ingest_ts_ms) FROM packets' },
    { sql: 'SELECT count() * 2 + 1, sum(packets) - sum(speed_count), round(avg(speed_sum), 2) FROM traffic_flow' },
    // grouped
    { sql: 'SELECT segment, count() FROM packets GROUP BY segment ORDER BY segment', ordered: true },
    { sql: 'SELECT segment, sum(packets) AS p, sum(vehicles) AS v, min(min_speed), max(max_speed) FROM traffic_flow GROUP BY segment ORDER BY p DESC, segment', ordered: true },
    { sql: 'SELECT cell, sum(packets), sum(speed_sum) / sum(speed_count) FROM traffic_flow WHERE speed_count > 0 GROUP BY cell ORDER BY cell', ordered: true },
    { sql: 'SELECT vehicle_id, count(), max(seq), min(ts_ms) FROM packets GROUP BY vehicle_id ORDER BY vehicle_id LIMIT 10', ordered: true },
    { sql: 'SELECT gateway_id, count(), avg(speed_kmh) FROM packets GROUP BY gateway_id' },
    { sql: 'SELECT kafka_partition, segment, count() FROM packets GROUP BY kafka_partition, segment ORDER BY kafka_partition, segment', ordered: true },
    { sql: 'SELECT window_s, count(), sum(packets) FROM traffic_flow GROUP BY window_s' },
    // time buckets
    { sql: 'SELECT toStartOfMinute(ts) AS m, count() FROM packets GROUP BY m ORDER BY m', ordered: true },
    { sql: 'SELECT toStartOfFiveMinute(window_start) AS t, sum(packets), sum(speed_sum) / sum(speed_count) AS speed FROM traffic_flow GROUP BY t ORDER BY t', ordered: true },
    { sql: 'SELECT toStartOfFifteenMinutes(window_start) AS t, segment, sum(vehicles) FROM traffic_flow GROUP BY t, segment ORDER BY t, segment', ordered: true },
    { sql: 'SELECT toStartOfHour(ts) AS h, count(), avg(speed_kmh) FROM packets GROUP BY h ORDER BY h', ordered: true },
    { sql: 'SELECT toStartOfDay(window_start) AS d, sum(packets) FROM traffic_flow GROUP BY d' },
    { sql: 'SELECT toHour(toStartOfHour(ts)) AS hr, count() FROM packets GROUP BY toStartOfHour(ts) ORDER BY hr', ordered: true },
    // filters
    { sql: "SELECT count(), sum(packets) FROM traffic_flow WHERE segment = 'central'" },
    { sql: "SELECT segment, count() FROM packets WHERE segment IN ('north', 'south') GROUP BY segment ORDER BY segment", ordered: true },
    { sql: 'SELECT count() FROM packets WHERE speed_kmh BETWEEN 30 AND 60' },
    { sql: 'SELECT count() FROM packets WHERE NOT (speed_kmh BETWEEN 30 AND 60) AND heading >= 90' },
    { sql: "SELECT count(), avg(heading) FROM packets WHERE (segment = 'north' OR speed_kmh > 100) AND NOT (gateway_id = 'gw-1')" },
    { sql: `SELECT count(), sum(packets) FROM traffic_flow WHERE cell = ${cellC}` },
    { sql: `SELECT cell, sum(packets) FROM traffic_flow WHERE cell IN (${cellN}, ${cellS}) GROUP BY cell ORDER BY cell`, ordered: true },
    { sql: "SELECT count() FROM traffic_flow WHERE window_start >= '2024-03-01 08:00:00' AND window_start < '2024-03-01 08:05:00'" },
    { sql: "SELECT count() FROM packets WHERE vehicle_id LIKE 'n-veh-00%'" },
    { sql: "SELECT count() FROM packets WHERE gateway_id NOT IN ('gw-2') AND seq % 2 = 0" },
    // HAVING
    { sql: 'SELECT cell, sum(packets) AS p FROM traffic_flow GROUP BY cell HAVING p > 60 ORDER BY cell', ordered: true },
    { sql: 'SELECT vehicle_id, avg(speed_kmh) AS s FROM packets GROUP BY vehicle_id HAVING s > 55 AND count() >= 20 ORDER BY vehicle_id', ordered: true },
    { sql: 'SELECT segment, count() FROM packets GROUP BY segment HAVING count() > 1000000' },
    { sql: 'SELECT count() FROM packets HAVING count() > 0' },
    // ORDER BY several keys, LIMIT / OFFSET
    { sql: 'SELECT cell, window_start, sum(packets) AS p FROM traffic_flow GROUP BY cell, window_start ORDER BY p DESC, cell ASC, window_start DESC LIMIT 7', ordered: true },
    { sql: 'SELECT cell, window_start, sum(packets) AS p FROM traffic_flow GROUP BY cell, window_start ORDER BY cell, window_start LIMIT 5 OFFSET 20', ordered: true },
    { sql: 'SELECT vehicle_id, count() AS c FROM packets GROUP BY vehicle_id ORDER BY vehicle_id DESC LIMIT 3, 4', ordered: true },
    // rows (no aggregation)
    { sql: 'SELECT vehicle_id, seq, speed_kmh FROM packets ORDER BY speed_kmh DESC, vehicle_id, seq LIMIT 10', ordered: true },
    { sql: 'SELECT vehicle_id, seq, ts FROM packets ORDER BY ts_ms, vehicle_id, seq LIMIT 5 OFFSET 12', ordered: true },
    { sql: "SELECT segment, cell, window_start, part, packets FROM traffic_flow WHERE packets > 6 AND segment != 'south'" },
    { sql: 'SELECT vehicle_id, seq, speed_kmh * 2 AS dbl, toStartOfFiveMinute(ts) AS b FROM packets WHERE speed_kmh = 0 ORDER BY vehicle_id, seq', ordered: true },
    { sql: 'SELECT DISTINCT segment, gateway_id FROM packets ORDER BY segment, gateway_id', ordered: true },
    { sql: 'SELECT * FROM traffic_flow ORDER BY segment, cell, window_start, part LIMIT 8', ordered: true },
    { sql: 'SELECT p.vehicle_id, p.seq FROM packets AS p WHERE p.seq = 20 ORDER BY p.vehicle_id', ordered: true },
    // empty results
    { sql: "SELECT count(), sum(packets), min(min_speed), max(max_speed), avg(speed_sum) FROM traffic_flow WHERE segment = 'nowhere'" },
    { sql: "SELECT count(), sum(speed_kmh) FROM packets WHERE ts < '2000-01-01 00:00:00'" },
    { sql: "SELECT segment, count() FROM packets WHERE ts < '2000-01-01 00:00:00' GROUP BY segment" },
    { sql: 'SELECT vehicle_id FROM packets WHERE speed_kmh > 1000 ORDER BY vehicle_id LIMIT 3' },
    // expressions over aggregates
    { sql: 'SELECT segment, sum(packets) / count() AS ppr, max(max_speed) - min(min_speed) AS spread, intDiv(sum(packets), 10) FROM traffic_flow GROUP BY segment ORDER BY segment', ordered: true },
    { sql: 'SELECT cell, if(sum(speed_count) > 0, sum(speed_sum) / sum(speed_count), 0) AS v, greatest(max(max_speed), 100) FROM traffic_flow GROUP BY cell ORDER BY cell', ordered: true },
    { sql: 'SELECT segment, round(sum(speed_sum), 3), abs(sum(speed_count) - sum(packets)) FROM traffic_flow GROUP BY segment ORDER BY segment', ordered: true },
    // NaN (0/0 for cells without speed readings) sorts last for ASC and DESC, like ClickHouse
    { sql: 'SELECT cell, sum(speed_sum) / sum(speed_count) AS v FROM traffic_flow GROUP BY cell ORDER BY v DESC, cell LIMIT 13', ordered: true },
    { sql: 'SELECT cell, sum(speed_sum) / sum(speed_count) AS v FROM traffic_flow GROUP BY cell ORDER BY v, cell', ordered: true },
    { sql: 'SELECT segment, cell, sum(speed_count) / sum(inv_speed_sum) AS space_mean FROM traffic_flow GROUP BY segment, cell ORDER BY space_mean DESC, cell', ordered: true },
    // Float32 columns keep ClickHouse's types through the merge (min_speed/max_speed in tenths)
    { sql: 'SELECT segment, max(max_speed), min(min_speed), max(max_speed) - min(min_speed) AS spread, -min(min_speed), greatest(max(max_speed), 100), if(count() > 0, min(min_speed), 0) FROM traffic_flow GROUP BY segment ORDER BY segment', ordered: true },
    { sql: 'SELECT max(speed_kmh) - min(speed_kmh), max(speed_kmh) * 2, min(heading) + 0.5, -max(speed_kmh) FROM packets WHERE speed_kmh > 0' },
    { sql: 'SELECT max(max_speed) - min(min_speed), sum(max_speed), round(max(max_speed), 1) FROM traffic_flow' },
    // UInt64 beyond 2^53 (H3 cells) wraps like ClickHouse's sum; Int64 arithmetic on it too
    { sql: 'SELECT segment, sum(cell), max(cell), min(cell) FROM traffic_flow GROUP BY segment ORDER BY segment', ordered: true },
    { sql: 'SELECT sum(cell) * 3 - sum(cell), sum(cell) + max(cell), count() - sum(cell) FROM traffic_flow' },
    // DateTime keys and results
    { sql: 'SELECT segment, min(window_start), max(window_start) FROM traffic_flow GROUP BY segment ORDER BY max(window_start) DESC, segment', ordered: true },
  ];
}
