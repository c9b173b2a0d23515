// The logical schema (DESIGN.md §2b), the same in every cloud. Column names are the public
// interface: keep them, add freely. DDL must run on ClickHouse 18.16 (Debian) and on current
// ClickHouse / chDB, so: no LowCardinality, no TTL, no codecs, no Nullable in sort keys,
// `ENGINE = X() PARTITION BY … ORDER BY …` syntax.
//
// Both tables are ReplacingMergeTree as a safety net against re-inserts, but readers do not
// rely on merges: the segment processor never writes a row twice (see docs/segment.md).

export interface TableDef {
  name: string;
  columns: [name: string, type: string][];
  engine: string;
}

export const PACKETS: TableDef = {
  name: 'packets',
  columns: [
    ['segment', 'String'],
    ['vehicle_id', 'String'],
    ['seq', 'UInt64'], // 0 when absent
    ['ts', 'DateTime'], // event time, seconds
    ['ts_ms', 'UInt64'], // event time, ms
    ['lat', 'Float64'],
    ['lng', 'Float64'],
    ['speed_kmh', 'Float32'],
    ['heading', 'Float32'],
    ['cell', 'UInt64'], // H3 index at h3.resolution
    ['ingest_ts_ms', 'UInt64'],
    ['gateway_id', 'String'],
    ['kafka_partition', 'UInt32'],
    ['kafka_offset', 'UInt64'],
    // Added by the segment processor (docs/segment.md): 1 when the packet arrived after its
    // window had closed (watermark passed window end + allowed lateness), so it is not in
    // traffic_flow; and 1 when the packet carried a speed (speed_kmh is 0 when absent).
    ['late', 'UInt8'],
    ['has_speed', 'UInt8'],
  ],
  engine: 'ReplacingMergeTree() PARTITION BY toYYYYMM(ts) ORDER BY (segment, vehicle_id, ts_ms, seq)',
};

// One row per (segment, cell, window, Kafka partition): a vehicle's packets all travel in one
// partition (key = vehicleId), so partitions hold disjoint vehicles and every column merges
// exactly with sum/min/max — including `vehicles` (distinct). Query with sum(), as for any
// cross-cloud or cross-window roll-up.
export const TRAFFIC_FLOW: TableDef = {
  name: 'traffic_flow',
  columns: [
    ['window_start', 'DateTime'],
    ['window_s', 'UInt32'],
    ['segment', 'String'],
    ['cell', 'UInt64'],
    ['vehicles', 'UInt32'],
    ['packets', 'UInt32'],
    ['speed_sum', 'Float64'],
    ['speed_count', 'UInt32'],
    ['inv_speed_sum', 'Float64'],
    ['min_speed', 'Float32'],
    ['max_speed', 'Float32'],
    ['part', 'UInt32'],
  ],
  engine: 'ReplacingMergeTree() PARTITION BY toYYYYMM(window_start) ORDER BY (segment, cell, window_start, window_s, part)',
};

// Forecasts per cell (docs/forecast.md §4): one issue per (segment, issued_at, model), written
// in one INSERT by the online forecaster. issued_at = end of the last observed 5-minute bucket;
// horizon in minutes (15, 30, 60); target_start = start of the forecast 5-minute bucket.
export const TRAFFIC_FORECAST: TableDef = {
  name: 'traffic_forecast',
  columns: [
    ['issued_at', 'DateTime'],
    ['segment', 'String'],
    ['cell', 'UInt64'],
    ['horizon', 'UInt16'],
    ['target_start', 'DateTime'],
    ['speed_kmh', 'Float64'],
    ['flow', 'Float64'],
    ['model', 'String'],
  ],
  engine: 'ReplacingMergeTree() PARTITION BY toYYYYMM(issued_at) ORDER BY (segment, cell, issued_at, horizon, model)',
};

export const TABLES: TableDef[] = [PACKETS, TRAFFIC_FLOW, TRAFFIC_FORECAST];

export function createDatabaseSql(database: string): string {
  return `CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)}`;
}

export function createTableSql(database: string, t: TableDef): string {
  const cols = t.columns.map(([n, ty]) => `${quoteIdent(n)} ${ty}`).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(database)}.${quoteIdent(t.name)} (${cols}) ENGINE = ${t.engine}`;
}

/** Identifier quoting valid on 18.16 and current versions (backticks, escaped). */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** String literal quoting valid on 18.16 and current versions. */
export function quoteString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
