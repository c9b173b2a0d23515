export * from './types.ts';
export { createClickHouseStore, toStoreError, type ClickHouseStoreOptions } from './clickhouse.ts';
export { TABLES, PACKETS, TRAFFIC_FLOW, TRAFFIC_FORECAST, createDatabaseSql, createTableSql, quoteIdent, quoteString, type TableDef } from './ddl.ts';
export { createChdbStore, openChdbSession, defaultChdbDatabase, chdbError, type ChdbStoreOptions, type ChdbSession, type ChdbSessionOptions } from './chdb.ts';
