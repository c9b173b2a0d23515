// Storage seam: ClickHouse over HTTP (local/production) and chDB in-process (embedded). Both
// pass test/contract/store.contract.ts. One Store = one cloud's database.

export type Row = Record<string, unknown>;

export interface QueryOptions {
  /** Abort the query after this long (also sent as max_execution_time). */
  timeoutMs?: number;
  /** Refuse results larger than this (max_result_rows, overflow = throw). */
  maxRows?: number;
  signal?: AbortSignal;
  /** Run the query read-only (readonly = 2: settings may change, data may not). */
  readonly?: boolean;
}

export interface InsertOptions {
  /**
   * Give up on the insert after this long: the request is aborted and the server is asked to
   * stop it too (max_execution_time). A fenced writer (docs/segment.md, Fencing) sends each
   * insert with a deadline shorter than what is left of its lease.
   */
  timeoutMs?: number;
  /**
   * insertEncoded only (RowBinary, ClickHouse server): the rows may go in one INSERT together
   * with other combinable calls for the same table and columns made while it forms or while
   * the previous such INSERT is in flight (group commit). Each call's rows still land as one
   * block per partition-key value; the calls of one INSERT succeed or fail together, and its
   * send deadline is the earliest of theirs. Other adapters send the call alone.
   */
  combine?: boolean;
}

export interface Store {
  /** The cloud this store belongs to. */
  readonly cloud: string;
  readonly database: string;
  /** Create the database and every table of the logical schema if missing (idempotent). */
  migrate(): Promise<void>;
  /** Insert rows (objects keyed by column name; UInt64 as decimal strings) in one block. */
  insert(table: string, rows: Row[], opts?: InsertOptions): Promise<void>;
  /**
   * Insert rows already encoded by the caller (e.g. in a worker thread) in one block, sent to
   * the server as is: JSONEachRow text (one object per line), or RowBinary with `columns`
   * naming the encoded columns in order. Optional: callers fall back to `insert()` when an
   * adapter lacks it. Same errors as `insert()`.
   */
  insertEncoded?(table: string, format: EncodedFormat, body: string | Uint8Array, columns?: readonly string[], opts?: InsertOptions): Promise<void>;
  /** Formats insertEncoded takes (absent: JSONEachRow only). */
  readonly encodedFormats?: readonly EncodedFormat[];
  /** Run a SELECT in this store's database; rows come back as JSON objects (UInt64 as strings). */
  query<T extends Row = Row>(sql: string, opts?: QueryOptions): Promise<T[]>;
  /** Run a statement that returns no rows (DDL, TRUNCATE, OPTIMIZE). */
  command(sql: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Row encodings for Store.insertEncoded. */
export type EncodedFormat = 'JSONEachRow' | 'RowBinary';

export type StoreErrorCode = 'STORE_UNAVAILABLE' | 'STORE_TIMEOUT' | 'STORE_QUERY' | 'STORE_TOO_MANY_ROWS';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown; serverCode?: number },
  ) {
    super(message, options);
    this.name = 'StoreError';
    this.serverCode = options?.serverCode;
  }
  readonly serverCode: number | undefined;
}

/**
 * ClickHouse error codes (src/Common/ErrorCodes.cpp) that both adapters — HTTP and chDB — map
 * to a StoreError code of their own; every other server code is STORE_QUERY, not retriable.
 */
export const SERVER_CODES: Record<number, { code: StoreErrorCode; retriable: boolean }> = {
  159: { code: 'STORE_TIMEOUT', retriable: true }, // TIMEOUT_EXCEEDED
  158: { code: 'STORE_TOO_MANY_ROWS', retriable: false }, // TOO_MANY_ROWS
  396: { code: 'STORE_TOO_MANY_ROWS', retriable: false }, // TOO_MANY_ROWS_OR_BYTES
  202: { code: 'STORE_UNAVAILABLE', retriable: true }, // TOO_MANY_SIMULTANEOUS_QUERIES
  241: { code: 'STORE_UNAVAILABLE', retriable: true }, // MEMORY_LIMIT_EXCEEDED
  252: { code: 'STORE_UNAVAILABLE', retriable: true }, // TOO_MANY_PARTS
  // Transient server states a writer should wait out (the segment processor retries these and
  // stops a partition on every other code: docs/segment.md, Failures).
  173: { code: 'STORE_UNAVAILABLE', retriable: true }, // CANNOT_ALLOCATE_MEMORY
  203: { code: 'STORE_UNAVAILABLE', retriable: true }, // NO_FREE_CONNECTION
  209: { code: 'STORE_TIMEOUT', retriable: true }, // SOCKET_TIMEOUT
  210: { code: 'STORE_UNAVAILABLE', retriable: true }, // NETWORK_ERROR
  225: { code: 'STORE_UNAVAILABLE', retriable: true }, // NO_ZOOKEEPER
  236: { code: 'STORE_UNAVAILABLE', retriable: true }, // ABORTED
  242: { code: 'STORE_UNAVAILABLE', retriable: true }, // TABLE_IS_READ_ONLY (replica lost its coordinator)
  279: { code: 'STORE_UNAVAILABLE', retriable: true }, // ALL_CONNECTION_TRIES_FAILED
  319: { code: 'STORE_UNAVAILABLE', retriable: true }, // UNKNOWN_STATUS_OF_INSERT
  394: { code: 'STORE_UNAVAILABLE', retriable: true }, // QUERY_WAS_CANCELLED
  439: { code: 'STORE_UNAVAILABLE', retriable: true }, // CANNOT_SCHEDULE_TASK
  999: { code: 'STORE_UNAVAILABLE', retriable: true }, // KEEPER_EXCEPTION
};
