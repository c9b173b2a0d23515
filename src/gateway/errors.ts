// The gateway's error catalogue (src/errors.ts shape): every code is stable, has a message
// template (`%s` placeholders, filled in order) and, for request-level errors, the HTTP
// status. docs/gateway.md lists the same codes; test/gateway/errors.test.ts and
// test/errors.test.ts keep the two in step. Never rename a code: telematics gateways key
// their handling on it.
import { defineErrors, fillTemplate } from '../errors.ts';

/** Rejections of a single packet: the packet is dropped alone, the rest of the request goes on. */
const packetErrors = defineErrors('PacketRejection', {
  NOT_AN_OBJECT: { status: null, retriable: false, message: 'packet must be a JSON object, got %s' },
  MALFORMED_LINE: { status: null, retriable: false, message: 'line is not valid JSON: %s' },
  MISSING_FIELD: { status: null, retriable: false, message: '%s is required' },
  INVALID_TYPE: { status: null, retriable: false, message: '%s must be a %s, got %s' },
  INVALID_VEHICLE_ID: { status: null, retriable: false, message: 'vehicleId must be 1-64 characters of [A-Za-z0-9_.:-], got %s' },
  INVALID_TS: { status: null, retriable: false, message: 'ts must be an integer number of epoch milliseconds, got %s' },
  TS_IN_FUTURE: { status: null, retriable: false, message: 'ts %s is more than %s ahead of the gateway clock' },
  TS_TOO_OLD: { status: null, retriable: false, message: 'ts %s is more than %s behind the gateway clock%s' },
  INVALID_LAT: { status: null, retriable: false, message: 'lat must be a finite number from -90 to 90, got %s' },
  INVALID_LNG: { status: null, retriable: false, message: 'lng must be a finite number from -180 to 180, got %s' },
  INVALID_SEQ: { status: null, retriable: false, message: 'seq must be a non-negative integer up to 2^53-1, got %s' },
  INVALID_SPEED: { status: null, retriable: false, message: 'speedKmh must be a finite number from 0 to 400, got %s' },
  INVALID_HEADING: { status: null, retriable: false, message: 'heading must be a finite number from 0 to 360, got %s' },
  INVALID_EXTRA: { status: null, retriable: false, message: 'extra must be an object of at most %s string values (keys 1-64 chars, values up to %s chars): %s' },
  OUT_OF_AREA: { status: null, retriable: false, message: 'position %s,%s is outside every segment of topology "%s"' },
}, { show });

export const PACKET_ERRORS = packetErrors.catalogue;

export type PacketErrorCode = keyof typeof PACKET_ERRORS;

/** Whole-request errors: nothing of the request was acknowledged. */
const requestErrors = defineErrors('GatewayError', {
  BAD_REQUEST: { status: 400, retriable: false, message: 'bad request: %s' },
  MALFORMED_JSON: { status: 400, retriable: false, message: 'body is not valid JSON: %s' },
  INVALID_BODY: { status: 400, retriable: false, message: 'body must be a JSON array of packets or a single packet object, got %s' },
  EMPTY_BODY: { status: 400, retriable: false, message: 'the request holds no packets' },
  UNAUTHORIZED: { status: 401, retriable: false, message: 'missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"' },
  FORBIDDEN: { status: 403, retriable: false, message: 'API key not recognised' },
  NOT_FOUND: { status: 404, retriable: false, message: 'no route %s %s' },
  BODY_TOO_LARGE: { status: 413, retriable: false, message: 'body exceeds the limit of %s bytes' },
  TOO_MANY_PACKETS: { status: 413, retriable: false, message: 'request holds more than the limit of %s packets' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false, message: 'content type %s is not supported: use application/json or application/x-ndjson' },
  ALL_REJECTED: { status: 422, retriable: false, message: 'every packet of the request was rejected; the first, packet %s: %s %s' },
  RATE_LIMITED: { status: 429, retriable: true, message: 'rate limit of %s requests/s (burst %s) exceeded for gateway "%s"' },
  INTERNAL: { status: 500, retriable: false, message: 'internal error: %s' },
  UNAVAILABLE: { status: 503, retriable: true, message: '%s is unavailable, nothing of this request was acknowledged: %s' },
  OVERLOADED: { status: 503, retriable: true, message: 'in-flight produce bound of %s bytes reached, nothing of this request was acknowledged' },
}, { show });

export const REQUEST_ERRORS = requestErrors.catalogue;

export type RequestErrorCode = keyof typeof REQUEST_ERRORS;

export function format(template: string, args: readonly unknown[]): string {
  return fillTemplate(template, args, show);
}

/** A value as it appears in a message: short, unambiguous, never throws. */
export function show(v: unknown): string {
  if (typeof v === 'string') return v.length > 80 ? `${JSON.stringify(v.slice(0, 80))}…` : v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return typeof v;
}

/** A span of milliseconds in the largest whole unit: 604800000 -> "7 days", 300000 -> "5 minutes". */
export function duration(ms: number): string {
  for (const [unit, size] of [['day', 86_400_000], ['hour', 3_600_000], ['minute', 60_000], ['second', 1_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms === size ? '' : 's'}`;
  }
  return `${ms} ms`;
}

/** A rejected vehicle id as the message shows it: quoted once; a long one cut, with its length. */
export function showVehicleId(v: string): string {
  const quoted = JSON.stringify(v);
  if (v.length <= 64 && quoted.length <= 70) return quoted;
  return `${JSON.stringify(`${v.slice(0, 32)}…`)} (${v.length} characters)`;
}

/** The ALL_REJECTED message, naming the first rejection (code and message). */
export function allRejectedMessage(rejected: readonly PacketRejection[]): string {
  const first = rejected[0];
  // Plain filling: the packet's message is shown whole, not cut like a packet's value.
  return fillTemplate(REQUEST_ERRORS.ALL_REJECTED.message, first ? [first.index, first.code, first.message] : ['?', '', '']);
}

/** Short description of a value's JSON kind, for INVALID_TYPE messages. */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v;
}

export interface PacketRejection {
  index: number;
  code: PacketErrorCode;
  message: string;
}

export function packetError(index: number, code: PacketErrorCode, ...args: unknown[]): PacketRejection {
  return { index, code, message: packetErrors.message(code, args) };
}

export class GatewayError extends requestErrors.Base {
  constructor(
    code: RequestErrorCode,
    args: readonly unknown[] = [],
    readonly retryAfterSec?: number,
    options?: { cause?: unknown },
  ) {
    super(code, args, options);
  }
}
