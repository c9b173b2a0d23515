// chDB Store for the embedded mode (DESIGN.md §7): the ClickHouse engine in-process (npm
// `chdb`, engine 26.x), one database per cloud, same DDL (ddl.ts) and the same contract suite
// as the HTTP adapter (test/contract/store.contract.ts).
//
// chDB runs one engine per process and one connection per data path, so every cloud's store
// shares one ChdbSession (one data path) and picks its database per statement. A session runs
// its statements one at a time anyway (measured: concurrent queryAsync calls serialise), and
// "the current database" is session state (`USE`), so this module runs every statement
// through one FIFO queue per session: `USE <db>` + the query form one unit that nothing can
// interleave with. Inserts name the table fully and need no USE.
//
// Everything uses the async API (queryAsync / insert): the engine works on a libuv thread and
// the event loop stays free for the rest of the pipeline.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabaseSql, createTableSql, TABLES, quoteIdent, type TableDef } from './ddl.ts';
import { SERVER_CODES, StoreError, type QueryOptions, type Row, type Store } from './types.ts';

type ChdbModule = typeof import('chdb');
type NativeSession = InstanceType<ChdbModule['Session']>;


function cleanMessage(msg: string): string {
  // "Code: 47. DB::Exception: Unknown expression identifier ... (UNKNOWN_IDENTIFIER)"
  const line = msg.split('\n')[0] ?? msg;
  return line.replace(/^Code: \d+\. DB::Exception: /, '').replace(/\s*\([A-Z_]+\)\s*(\(version [^)]*\))?\s*$/, '');
}

export function chdbError(err: unknown, cloud: string): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as Error & { code?: string; clickhouseCode?: number };
  const serverCode = typeof e.clickhouseCode === 'number' ? e.clickhouseCode : undefined;
  if (serverCode !== undefined) {
    const m = SERVER_CODES[serverCode] ?? { code: 'STORE_QUERY' as const, retriable: false };
    return new StoreError(m.code, `${cloud}: ${cleanMessage(e.message)}`, m.retriable, { cause: err, serverCode });
  }
  if (e.code === 'CHDB_TIMEOUT' || /timed? ?out/i.test(e.message ?? '') || e.name === 'AbortError') {
    return new StoreError('STORE_TIMEOUT', `${cloud}: chDB query timed out`, true, { cause: err });
  }
  if (/closed|not open|no connection/i.test(e.message ?? '')) {
    return new StoreError('STORE_UNAVAILABLE', `${cloud}: chDB session is closed`, false, { cause: err });
  }
  return new StoreError('STORE_QUERY', `${cloud}: ${cleanMessage(e.message ?? String(err))}`, false, { cause: err });
}

/** A handle on this process's chDB session (one data path per process, shared by every cloud). */
export interface ChdbSession {
  readonly path: string;
  readonly isTemp: boolean;
  /** Run `fn` alone on the session (FIFO). */
  exclusive<T>(fn: (s: NativeSession) => Promise<T>): Promise<T>;
  /** True once this handle is closed. */
  readonly closed: boolean;
  /** Release this handle; the engine session closes with the last handle. */
  close(): Promise<void>;
}

export interface ChdbSessionOptions {
  /** Data directory; default a fresh temp directory, removed when the last handle closes. */
  path?: string;
}

let chdbModule: Promise<ChdbModule> | undefined;
const loadChdb = (): Promise<ChdbModule> => (chdbModule ??= import('chdb'));

interface Core {
  native: NativeSession;
  path: string;
  isTemp: boolean;
  refs: number;
  tail: Promise<unknown>;
}

// chDB allows one active data directory per process: every handle shares this one core.
let core: Promise<Core> | undefined;
let corePath: string | undefined;

async function openCore(path: string | undefined): Promise<Core> {
  const { Session } = await loadChdb();
  const isTemp = !path;
  const dir = path ?? mkdtempSync(join(tmpdir(), 'iov-chdb-'));
  const native = new Session(dir, {
    // UInt64 as JSON strings, like the HTTP adapter (cells and ms timestamps exceed 2^53).
    connectionArgs: ['--output_format_json_quote_64bit_integers=1'],
  });
  // Belt and braces in case a build ignores the connection argument: the session setting too.
  await native.queryAsync('SET output_format_json_quote_64bit_integers = 1');
  return { native, path: dir, isTemp, refs: 0, tail: Promise.resolve() };
}

export async function openChdbSession(opts: ChdbSessionOptions = {}): Promise<ChdbSession> {
  if (core && opts.path !== undefined && corePath !== opts.path) {
    const c = await core;
    if (c.path !== opts.path) {
      throw new StoreError('STORE_UNAVAILABLE', `chDB already runs on ${c.path} in this process (one data path per process)`, false);
    }
  }
  if (!core) {
    corePath = opts.path;
    core = openCore(opts.path).catch((err) => {
      core = undefined;
      throw err;
    });
  }
  const c = await core;
  c.refs++;
  let closed = false;
  return {
    path: c.path,
    isTemp: c.isTemp,
    get closed() {
      return closed;
    },
    exclusive<T>(fn: (s: NativeSession) => Promise<T>): Promise<T> {
      if (closed) return Promise.reject(new Error('chDB session is closed'));
      const run = c.tail.then(() => fn(c.native));
      c.tail = run.catch(() => undefined);
      return run;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (--c.refs > 0) return;
      await c.tail;
      if (c.refs > 0) return; // reopened meanwhile
      core = undefined;
      corePath = undefined;
      c.native.close();
      if (c.isTemp) rmSync(c.path, { recursive: true, force: true });
    },
  };
}

export interface ChdbStoreOptions {
  cloud: string;
  /** Database of this cloud; default `iov_<cloud>` with non-identifier characters as `_`. */
  database?: string;
  /** Borrow a session handle (its owner closes it); default: a handle of its own, closed with the store. */
  session?: ChdbSession;
  /** Data path of the process's chDB session (only when `session` is not given). */
  path?: string;
  tables?: TableDef[];
}

const READONLY_START = /^\s*(\(\s*)*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXPLAIN|EXISTS)\b/i;

export function defaultChdbDatabase(cloud: string): string {
  return `iov_${cloud.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

export function createChdbStore(opts: ChdbStoreOptions): Store {
  const { cloud } = opts;
  const database = opts.database ?? defaultChdbDatabase(cloud);
  if (!/^[A-Za-z0-9_]+$/.test(database)) {
    throw new StoreError('STORE_QUERY', `options.database must match [A-Za-z0-9_]+ (got ${JSON.stringify(database)})`, false);
  }
  const tables = opts.tables ?? TABLES;
  const own = !opts.session;
  let sessionP: Promise<ChdbSession> | undefined = opts.session ? Promise.resolve(opts.session) : undefined;
  let closed = false;
  const session = (): Promise<ChdbSession> => {
    if (closed) return Promise.reject(new StoreError('STORE_UNAVAILABLE', `${cloud}: store is closed`, false));
    sessionP ??= openChdbSession(opts.path !== undefined ? { path: opts.path } : {});
    return sessionP;
  };
  const run = async <T>(fn: (s: NativeSession) => Promise<T>): Promise<T> => {
    const s = await session();
    try {
      return await s.exclusive(fn);
    } catch (err) {
      throw chdbError(err, cloud);
    }
  };
  const qualified = (table: string) => `${database}.${table}`;

  return {
    cloud,
    database,
    async migrate() {
      await run(async (s) => {
        await s.queryAsync(createDatabaseSql(database));
        for (const t of tables) await s.queryAsync(createTableSql(database, t));
      });
    },
    async insert(table, rows) {
      if (rows.length === 0) return;
      if (!/^[A-Za-z0-9_]+$/.test(table)) throw new StoreError('STORE_QUERY', `${cloud}: invalid table name ${JSON.stringify(table)}`, false);
      let body = '';
      for (const r of rows) body += `${JSON.stringify(r)}\n`;
      // Raw passthrough: the engine parses the JSONEachRow bytes; rows never become SQL text.
      await run((s) => s.insert({ table: qualified(table), values: Buffer.from(body), format: 'JSONEachRow' }));
    },
    encodedFormats: ['JSONEachRow'],
    async insertEncoded(table, format, body) {
      // chDB takes the data inside the SQL text: no binary formats.
      if (format !== 'JSONEachRow') throw new StoreError('STORE_QUERY', `${cloud}: insertEncoded takes JSONEachRow only here (got ${String(format)})`, false);
      if (!/^[A-Za-z0-9_]+$/.test(table)) throw new StoreError('STORE_QUERY', `${cloud}: invalid table name ${JSON.stringify(table)}`, false);
      const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      if (bytes.length === 0) return;
      await run((s) => s.insert({ table: qualified(table), values: bytes, format: 'JSONEachRow' }));
    },
    async query<T extends Row = Row>(sql: string, q: QueryOptions = {}): Promise<T[]> {
      const text = sql.replace(/[\s;]+$/, '');
      if (q.readonly && !READONLY_START.test(text)) {
        throw new StoreError('STORE_QUERY', `${cloud}: read-only query must be a SELECT`, false);
      }
      const settings: string[] = [];
      if (q.timeoutMs !== undefined) settings.push(`max_execution_time = ${Math.max(1, Math.ceil(q.timeoutMs / 1000))}`);
      if (q.maxRows !== undefined) settings.push(`max_result_rows = ${Math.max(1, Math.floor(q.maxRows))}`, `result_overflow_mode = 'throw'`);
      if (q.readonly) settings.push('readonly = 2');
      // A query-level SETTINGS clause after the statement (valid even when the SELECT has its own).
      const full = settings.length ? `${text}\nSETTINGS ${settings.join(', ')}` : text;
      if (q.signal?.aborted) throw new StoreError('STORE_TIMEOUT', `${cloud}: query aborted`, true);
      const out = await run(async (s) => {
        await s.queryAsync(`USE ${quoteIdent(database)}`);
        const r = await s.queryAsync(full, {
          format: 'JSONEachRow',
          ...(q.signal ? { signal: q.signal } : {}),
          ...(q.timeoutMs !== undefined ? { timeout: q.timeoutMs + 1000 } : {}),
        });
        return r.text();
      });
      if (!out) return [];
      const rows: T[] = [];
      for (const line of out.split('\n')) if (line) rows.push(JSON.parse(line) as T);
      return rows;
    },
    async command(sql) {
      await run(async (s) => {
        await s.queryAsync(`USE ${quoteIdent(database)}`);
        await s.queryAsync(sql);
      });
    },
    async ping() {
      await run((s) => s.queryAsync('SELECT 1'));
    },
    async close() {
      if (closed) return;
      closed = true;
      if (own && sessionP) {
        const s = await sessionP.catch(() => undefined);
        await s?.close();
      }
    },
  };
}
