// What a federated query may touch: the logical tables (from the store's DDL, so the two
// cannot drift) and an allowlist of functions, each with how it is typed, whether it is an
// aggregate, and whether the federator can evaluate it itself after the merge.
import { TABLES } from '../store/index.ts';

/** ClickHouse type names as the federator tracks them. */
export type ChType = string;

export const ALLOWED_TABLES: ReadonlyMap<string, ReadonlyMap<string, ChType>> = new Map(
  TABLES.map((t) => [t.name, new Map(t.columns.map(([n, ty]) => [n, ty] as [string, ChType]))]),
);

export type Kind = 'int' | 'uint' | 'float' | 'string' | 'datetime' | 'date';

/** The value type inside Nullable(…) (and LowCardinality(…)): what values of `t` look like. */
export function baseType(t: ChType): ChType {
  const m = /^(?:Nullable|LowCardinality)\((.*)\)$/.exec(t);
  return m ? baseType(m[1]!) : t;
}

export function isNullable(t: ChType): boolean {
  return /^(?:LowCardinality\()?Nullable\(/.test(t);
}

export function kindOf(type: ChType): Kind {
  const t = baseType(type);
  if (/^UInt/.test(t)) return 'uint';
  if (/^Int/.test(t)) return 'int';
  if (/^Float/.test(t)) return 'float';
  if (t === 'DateTime') return 'datetime';
  if (t === 'Date') return 'date';
  return 'string';
}

export function isInteger(t: ChType): boolean {
  const k = kindOf(t);
  return k === 'int' || k === 'uint';
}

/** ClickHouse's JSON output quotes 64-bit integers; smaller ones are plain numbers. */
export function is64(t: ChType): boolean {
  const b = baseType(t);
  return b === 'UInt64' || b === 'Int64';
}

/** Float32 values travel as their shortest decimal text and are Float32 again on arrival. */
export function isFloat32(t: ChType): boolean {
  return baseType(t) === 'Float32';
}

/** Bits of an integer type (UInt8 → 8 …); 64 for anything else. */
function intBits(t: ChType): number {
  const m = /^U?Int(\d+)$/.exec(baseType(t));
  return m ? Number(m[1]) : 64;
}

/**
 * ClickHouse's least common type of numeric arguments (greatest, least, if): floats stay
 * Float32 only beside Float32 and integers of at most 16 bits, else Float64.
 */
export function commonNumericType(args: ChType[]): ChType {
  if (args.some((t) => kindOf(t) === 'float')) {
    const wide = args.some((t) => (kindOf(t) === 'float' ? !isFloat32(t) : intBits(t) > 16));
    return wide ? 'Float64' : 'Float32';
  }
  return args.every((t) => kindOf(t) === 'uint') ? 'UInt64' : 'Int64';
}

interface ScalarFn {
  /** Canonical ClickHouse spelling (what is rendered into cloud SQL). */
  name: string;
  arity: [min: number, max: number];
  type: (args: ChType[]) => ChType;
}

const same = (a: ChType[]): ChType => a[0] ?? 'Float64';
const fixed = (t: ChType) => (): ChType => t;
const numeric = (a: ChType[]): ChType => (a.some((t) => kindOf(t) === 'float') ? 'Float64' : a.every((t) => kindOf(t) === 'uint') ? 'UInt64' : 'Int64');

// Scalar functions that run in every cloud (ClickHouse 18.16 and current both have them).
// No table functions, nothing that reads files, URLs or other servers, nothing
// non-deterministic (every cloud must compute the same value for the same row).
const SCALARS: ScalarFn[] = [
  { name: 'toStartOfMinute', arity: [1, 1], type: fixed('DateTime') },
  { name: 'toStartOfFiveMinute', arity: [1, 1], type: fixed('DateTime') },
  { name: 'toStartOfFifteenMinutes', arity: [1, 1], type: fixed('DateTime') },
  { name: 'toStartOfHour', arity: [1, 1], type: fixed('DateTime') },
  { name: 'toStartOfDay', arity: [1, 1], type: fixed('DateTime') },
  { name: 'toDate', arity: [1, 1], type: fixed('Date') },
  { name: 'toDateTime', arity: [1, 1], type: fixed('DateTime') },
  { name: 'toHour', arity: [1, 1], type: fixed('UInt8') },
  { name: 'toMinute', arity: [1, 1], type: fixed('UInt8') },
  { name: 'toDayOfWeek', arity: [1, 1], type: fixed('UInt8') },
  { name: 'toYYYYMM', arity: [1, 1], type: fixed('UInt32') },
  { name: 'toYYYYMMDD', arity: [1, 1], type: fixed('UInt32') },
  { name: 'toUnixTimestamp', arity: [1, 1], type: fixed('UInt32') },
  { name: 'toFloat64', arity: [1, 1], type: fixed('Float64') },
  { name: 'toUInt64', arity: [1, 1], type: fixed('UInt64') },
  { name: 'toInt64', arity: [1, 1], type: fixed('Int64') },
  { name: 'toString', arity: [1, 1], type: fixed('String') },
  { name: 'abs', arity: [1, 1], type: same },
  { name: 'round', arity: [1, 2], type: same },
  { name: 'floor', arity: [1, 2], type: same },
  { name: 'ceil', arity: [1, 2], type: same },
  { name: 'intDiv', arity: [2, 2], type: numeric },
  { name: 'greatest', arity: [2, 2], type: commonNumericType },
  { name: 'least', arity: [2, 2], type: commonNumericType },
  { name: 'if', arity: [3, 3], type: (a) => (a[1] === a[2] ? a[1]! : commonNumericType(a.slice(1))) },
  { name: 'length', arity: [1, 1], type: fixed('UInt64') },
  { name: 'lower', arity: [1, 1], type: fixed('String') },
  { name: 'upper', arity: [1, 1], type: fixed('String') },
];

export const SCALAR_FUNCTIONS: ReadonlyMap<string, ScalarFn> = new Map(SCALARS.map((f) => [f.name.toLowerCase(), f]));

/** Scalar functions the federator evaluates itself over merged aggregates (values.ts). */
export const POST_MERGE_FUNCTIONS = new Set(['abs', 'round', 'floor', 'ceil', 'intDiv', 'greatest', 'least', 'if', 'toFloat64']);

export type AggName = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'countIf' | 'sumIf' | 'avgIf';
export const AGGREGATES: ReadonlyMap<string, { name: AggName; arity: [number, number] }> = new Map(
  ([
    ['count', [0, 1]], ['sum', [1, 1]], ['min', [1, 1]], ['max', [1, 1]], ['avg', [1, 1]],
    ['countIf', [1, 1]], ['sumIf', [2, 2]], ['avgIf', [2, 2]],
  ] as [AggName, [number, number]][]).map(([n, a]) => [n.toLowerCase(), { name: n, arity: a }]),
);

/** Functions we know ClickHouse has but refuse on purpose (FUNCTION_NOT_ALLOWED, not "unknown"). */
export const DENIED_FUNCTIONS = new Set([
  'url', 'file', 'remote', 'remotesecure', 'input', 'mysql', 'postgresql', 'jdbc', 'odbc', 'hdfs', 's3', 'numbers', 'cluster', 'merge',
  'dictget', 'sleep', 'sleepeachrow', 'throwif', 'now', 'today', 'rand', 'rand64', 'generateuuidv4', 'currentdatabase', 'hostname', 'version',
  'uniq', 'uniqexact', 'uniqcombined', 'grouparray', 'groupuniqarray', 'quantile', 'median', 'any', 'anylast', 'arrayjoin', 'runningdifference',
  'rownumberinallblocks', 'blocknumber', 'rownumberinblock', 'getsetting', 'executable', 'azureblobstorage', 'gcs', 'mongodb', 'redis', 'sqlite',
]);
