// ClickHouse over HTTP through @clickhouse/client. Works against Debian's 18.16 server and
// current versions. 18.16 has no server-side query parameters ({name:Type}), so callers
// build SQL from parsed structures with quoteString/quoteIdent — never by splicing raw input.
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { ClickHouseEndpoint } from '../topology/index.ts';
import { createDatabaseSql, createTableSql, TABLES, quoteIdent, type TableDef } from './ddl.ts';
import { SERVER_CODES, StoreError, type InsertOptions, type QueryOptions, type Row, type Store } from './types.ts';


const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'UND_ERR_SOCKET', 'ECONNABORTED']);

export function toStoreError(err: unknown, cloud: string): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as Error & { code?: string | number; cause?: unknown };
  const serverCode = serverCodeOf(e);
  if (serverCode !== undefined) {
    const m = SERVER_CODES[serverCode] ?? { code: 'STORE_QUERY' as const, retriable: false };
    const msg = (e.cause as Error | undefined)?.message?.startsWith('Code:') ? (e.cause as Error).message : e.message;
    return new StoreError(m.code, `${cloud}: ${firstLine(msg)}`, m.retriable, { cause: err, serverCode });
  }
  const netCode = typeof e.code === 'string' ? e.code : ((e.cause as { code?: string } | undefined)?.code ?? '');
  if (NETWORK_ERRORS.has(netCode) || /socket hang up|ECONNREFUSED|connect/i.test(e.message)) {
    return new StoreError('STORE_UNAVAILABLE', `${cloud}: ClickHouse unreachable (${netCode || firstLine(e.message)})`, true, { cause: err });
  }
  if (/timeout/i.test(e.message) || e.name === 'AbortError') {
    return new StoreError('STORE_TIMEOUT', `${cloud}: ClickHouse query timed out`, true, { cause: err });
  }
  return new StoreError('STORE_QUERY', `${cloud}: ${firstLine(e.message)}`, false, { cause: err });
}

// The client wraps the server's error (with its numeric code) as the cause of a generic one.
function serverCodeOf(err: unknown): number | undefined {
  for (let e = err as { code?: unknown; cause?: unknown; message?: string } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^\d+$/.test(e.code)) return Number(e.code);
    if (typeof e.code === 'number') return e.code;
    const m = /^Code: (\d+)[,.]/.exec(e.message ?? '');
    if (m) return Number(m[1]);
  }
  return undefined;
}

function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? s;
  // 18.16 formats errors as "Code: N, e.displayText() = DB::Exception: msg, e.what() = …"
  const m = /DB::Exception: (.*?)(?:, e\.what\(\) = .*)?$/.exec(line);
  return m?.[1] ?? line;
}

/**
 * An insert's deadline (InsertOptions.timeoutMs), counted from the call. The body is handed to
 * the connection only if the deadline has not passed at that moment, checked synchronously
 * right before the one chunk and the end of the body are pushed: a request that waited for a
 * socket (or whose process was paused) past its deadline is torn down with an incomplete
 * body, which ClickHouse never inserts. Aborting later does not cancel an insert whose body
 * the server already has (it may still land): that abort is STORE_TIMEOUT, retriable, and
 * the caller re-checks what is stored before trying again.
 */
function insertLimit(o: InsertOptions): { body(bytes: Uint8Array): Readable; params: { abort_signal?: AbortSignal; clickhouse_settings?: Record<string, string> }; expired(): boolean; clear(): void } {
  if (o.timeoutMs === undefined) return { body: (bytes) => Readable.from([bytes], { objectMode: false }), params: {}, expired: () => false, clear() {} };
  const startBy = performance.now() + o.timeoutMs;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error('insert deadline passed')), o.timeoutMs);
  // max_execution_time is in whole seconds: round down so the server gives up no later.
  const settings = o.timeoutMs >= 1000 ? { max_execution_time: String(Math.floor(o.timeoutMs / 1000)) } : undefined;
  const body = (bytes: Uint8Array) => new Readable({
    read() {
      if (performance.now() > startBy) {
        this.destroy(new Error('insert deadline passed before the body was sent'));
        return;
      }
      this.push(bytes);
      this.push(null);
    },
  });
  return {
    body, params: { abort_signal: ctl.signal, ...(settings ? { clickhouse_settings: settings } : {}) },
    expired: () => ctl.signal.aborted || performance.now() > startBy, clear: () => clearTimeout(timer),
  };
}

/**
 * Largest combined RowBinary body. ClickHouse cuts an INSERT's input into blocks of
 * max_insert_block_size (1 048 576) rows, and only rows of one block share a part; a packets
 * row is ≥ 90 bytes, so 16 MB stays a single block and each call's one-month rows one part.
 */
const MAX_COMBINED_BYTES = 16 * 1024 * 1024;

/** One insertEncoded call waiting in a combined INSERT. */
interface Combined {
  bytes: Uint8Array;
  /** performance.now() by which its body must have gone out (Infinity: no deadline). */
  startBy: number;
  done(err?: unknown): void;
}

/**
 * Group commit of combinable inserts (InsertOptions.combine), per INSERT statement: calls made
 * in the same turn of the event loop, or while the previous INSERT of the statement is in
 * flight, go as one INSERT with their bodies concatenated (RowBinary rows have no framing).
 * ClickHouse pays milliseconds of CPU per INSERT (a new part, then merges), so the partitions
 * of a segment that step together cost one INSERT instead of one each (docs/segment.md,
 * Step cadence).
 */
function insertCombiner(cloud: string, send: (query: string, bytes: Uint8Array, o: InsertOptions) => Promise<void>) {
  const forming = new Map<string, Combined[]>();
  const inFlight = new Set<string>();

  async function flush(query: string): Promise<void> {
    const waiting = forming.get(query);
    if (!waiting?.length || inFlight.has(query)) return;
    // A call whose deadline passed while it waited was never sent, so it cannot land: it
    // fails alone instead of taking the others' INSERT down with it.
    const now = performance.now();
    for (const c of waiting.filter((w) => w.startBy <= now)) {
      waiting.splice(waiting.indexOf(c), 1);
      c.done(new StoreError('STORE_TIMEOUT', `${cloud}: insert deadline passed before the body was sent`, true));
    }
    if (waiting.length === 0) {
      forming.delete(query);
      return;
    }
    let size = 0;
    let n = 0;
    while (n < waiting.length && (n === 0 || size + waiting[n]!.bytes.length <= MAX_COMBINED_BYTES)) size += waiting[n++]!.bytes.length;
    const batch = waiting.splice(0, n);
    if (waiting.length === 0) forming.delete(query);
    inFlight.add(query);
    const body = batch.length === 1 ? batch[0]!.bytes : Buffer.concat(batch.map((c) => c.bytes), size);
    const startBy = Math.min(...batch.map((c) => c.startBy));
    const o: InsertOptions = Number.isFinite(startBy) ? { timeoutMs: Math.max(0, startBy - performance.now()) } : {};
    try {
      await send(query, body, o);
      for (const c of batch) c.done();
    } catch (err) {
      for (const c of batch) c.done(err);
    } finally {
      inFlight.delete(query);
      void flush(query);
    }
  }

  return (query: string, bytes: Uint8Array, o: InsertOptions): Promise<void> => new Promise<void>((resolve, reject) => {
    let waiting = forming.get(query);
    if (!waiting) {
      forming.set(query, (waiting = []));
      // After this turn's other steps had their chance to join.
      setImmediate(() => void flush(query));
    }
    waiting.push({
      bytes, startBy: o.timeoutMs === undefined ? Infinity : performance.now() + o.timeoutMs,
      done: (err) => (err === undefined ? resolve() : reject(err)),
    });
  });
}

export interface ClickHouseStoreOptions {
  cloud: string;
  endpoint: ClickHouseEndpoint;
  /** Default request timeout, ms. */
  requestTimeoutMs?: number;
  tables?: TableDef[];
}

export function createClickHouseStore(opts: ClickHouseStoreOptions): Store {
  const { cloud, endpoint } = opts;
  const database = endpoint.database;
  const tables = opts.tables ?? TABLES;
  const client: ClickHouseClient = createClient({
    url: endpoint.url,
    username: endpoint.username ?? 'default',
    password: endpoint.password ?? '',
    database,
    request_timeout: opts.requestTimeoutMs ?? 30_000,
    // Debian's 18.16 server predates some newer defaults; send nothing it does not know.
    compression: { request: false, response: false },
    max_open_connections: 16,
    // Errors reach the caller as StoreError; the client's own console logging is noise.
    log: { level: ClickHouseLogLevel.OFF },
  });
  // The database may not exist before migrate(); DDL runs without the database parameter.
  const admin: ClickHouseClient = createClient({
    url: endpoint.url,
    username: endpoint.username ?? 'default',
    password: endpoint.password ?? '',
    request_timeout: opts.requestTimeoutMs ?? 30_000,
    compression: { request: false, response: false },
    max_open_connections: 2,
    log: { level: ClickHouseLogLevel.OFF },
  });

  /** One INSERT: the statement as the query parameter, the rows as the (gated) request body. */
  async function sendInsert(query: string, bytes: Uint8Array, o: InsertOptions): Promise<void> {
    const limit = insertLimit(o);
    try {
      const r = await client.exec({ query, values: limit.body(bytes), ...limit.params });
      for await (const _ of r.stream) { /* drain the (empty) response */ }
    } catch (err) {
      // Past our own deadline every failure is ours: either the body was cut short (the
      // server then answers a parse error such as code 20 for the truncated rows: nothing
      // landed) or the request was aborted after the server had the body (it may still
      // land). Both are retriable after a re-check, never a non-retriable STORE_QUERY.
      if (limit.expired()) throw new StoreError('STORE_TIMEOUT', `${cloud}: insert not confirmed within its ${o.timeoutMs} ms deadline (it may still land)`, true, { cause: err });
      throw toStoreError(err, cloud);
    } finally {
      limit.clear();
    }
  }

  const combined = insertCombiner(cloud, sendInsert);

  return {
    cloud,
    database,
    async migrate() {
      try {
        await admin.command({ query: createDatabaseSql(database) });
        for (const t of tables) await admin.command({ query: createTableSql(database, t) });
      } catch (err) {
        throw toStoreError(err, cloud);
      }
    },
    async insert(table, rows, o = {}) {
      if (rows.length === 0) return;
      await sendInsert(`INSERT INTO ${quoteIdent(database)}.${quoteIdent(table)} FORMAT JSONEachRow`, Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'), o);
    },
    encodedFormats: ['JSONEachRow', 'RowBinary'],
    async insertEncoded(table, format, body, columns, o = {}) {
      if (format !== 'JSONEachRow' && format !== 'RowBinary') throw new StoreError('STORE_QUERY', `${cloud}: insertEncoded takes JSONEachRow or RowBinary (got ${String(format)})`, false);
      if (format === 'RowBinary' && !columns?.length) throw new StoreError('STORE_QUERY', `${cloud}: insertEncoded RowBinary needs the column list`, false);
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      if (bytes.length === 0) return;
      const cols = columns?.length ? ` (${columns.map(quoteIdent).join(', ')})` : '';
      const query = `INSERT INTO ${quoteIdent(database)}.${quoteIdent(table)}${cols} FORMAT ${format}`;
      await (o.combine && format === 'RowBinary' ? combined(query, bytes, o) : sendInsert(query, bytes, o));
    },
    async query<T extends Row = Row>(sql: string, q: QueryOptions = {}): Promise<T[]> {
      const settings: Record<string, string> = {};
      if (q.timeoutMs !== undefined) settings.max_execution_time = String(Math.max(1, Math.ceil(q.timeoutMs / 1000)));
      if (q.maxRows !== undefined) {
        settings.max_result_rows = String(q.maxRows);
        settings.result_overflow_mode = 'throw';
      }
      if (q.readonly) settings.readonly = '2';
      let timer: NodeJS.Timeout | undefined;
      const ctl = new AbortController();
      if (q.signal) q.signal.addEventListener('abort', () => ctl.abort(q.signal!.reason), { once: true });
      if (q.timeoutMs !== undefined) timer = setTimeout(() => ctl.abort(new Error('timeout')), q.timeoutMs + 250);
      try {
        const rs = await client.query({
          query: sql,
          format: 'JSONEachRow',
          clickhouse_settings: settings as never,
          abort_signal: ctl.signal,
        });
        return (await rs.json()) as T[];
      } catch (err) {
        if (ctl.signal.aborted && !q.signal?.aborted) {
          throw new StoreError('STORE_TIMEOUT', `${cloud}: query exceeded ${q.timeoutMs} ms`, true, { cause: err });
        }
        throw toStoreError(err, cloud);
      } finally {
        if (timer) clearTimeout(timer);
      }
    },
    async command(sql) {
      try {
        await client.command({ query: sql });
      } catch (err) {
        throw toStoreError(err, cloud);
      }
    },
    async ping() {
      const r = await client.ping();
      if (!r.success) throw toStoreError(r.error, cloud);
    },
    async close() {
      await Promise.all([client.close(), admin.close()]);
    },
  };
}
