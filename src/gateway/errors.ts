// The gateway's error catalogue (fastify lib/errors.js style): every code is stable, has a
// message template (`%s` placeholders, filled in order) and, for request-level errors, the
// HTTP status. docs/gateway.md lists the same codes; test/gateway/errors.test.ts keeps the
// two in step. Never rename a code: telematics gateways key their handling on it.

/** Rejections of a single packet: the packet is dropped alone, the rest of the request goes on. */
export const PACKET_ERRORS = {
  NOT_AN_OBJECT: 'packet must be a JSON object, got %s',
  MALFORMED_LINE: 'line is not valid JSON: %s',
  MISSING_FIELD: '%s is required',
  INVALID_TYPE: '%s must be a %s, got %s',
  INVALID_VEHICLE_ID: 'vehicleId must be 1-64 characters of [A-Za-z0-9_.:-], got %s',
  INVALID_TS: 'ts must be an integer number of epoch milliseconds, got %s',
  TS_IN_FUTURE: 'ts %s is more than %s ms ahead of the gateway clock',
  TS_TOO_OLD: 'ts %s is more than %s ms behind the gateway clock (epoch seconds instead of milliseconds?)',
  INVALID_LAT: 'lat must be a finite number from -90 to 90, got %s',
  INVALID_LNG: 'lng must be a finite number from -180 to 180, got %s',
  INVALID_SEQ: 'seq must be a non-negative integer up to 2^53-1, got %s',
  INVALID_SPEED: 'speedKmh must be a finite number from 0 to 400, got %s',
  INVALID_HEADING: 'heading must be a finite number from 0 to 360, got %s',
  INVALID_EXTRA: 'extra must be an object of at most %s string values (keys 1-64 chars, values up to %s chars): %s',
  OUT_OF_AREA: 'position %s,%s is outside every segment of topology "%s"',
} as const;

export type PacketErrorCode = keyof typeof PACKET_ERRORS;

/** Whole-request errors: nothing of the request was acknowledged. */
export const REQUEST_ERRORS = {
  BAD_REQUEST: { status: 400, message: 'bad request: %s' },
  MALFORMED_JSON: { status: 400, message: 'body is not valid JSON: %s' },
  INVALID_BODY: { status: 400, message: 'body must be a JSON array of packets or a single packet object, got %s' },
  EMPTY_BODY: { status: 400, message: 'the request holds no packets' },
  UNAUTHORIZED: { status: 401, message: 'missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"' },
  FORBIDDEN: { status: 403, message: 'API key not recognised' },
  NOT_FOUND: { status: 404, message: 'no route %s %s' },
  BODY_TOO_LARGE: { status: 413, message: 'body exceeds the limit of %s bytes' },
  TOO_MANY_PACKETS: { status: 413, message: 'request holds more than the limit of %s packets' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'content type %s is not supported: use application/json or application/x-ndjson' },
  ALL_REJECTED: { status: 422, message: 'every packet of the request was rejected' },
  RATE_LIMITED: { status: 429, message: 'rate limit of %s requests/s (burst %s) exceeded for gateway "%s"' },
  INTERNAL: { status: 500, message: 'internal error: %s' },
  UNAVAILABLE: { status: 503, message: '%s is unavailable, nothing of this request was acknowledged: %s' },
  OVERLOADED: { status: 503, message: 'in-flight produce bound of %s bytes reached, nothing of this request was acknowledged' },
} as const;

export type RequestErrorCode = keyof typeof REQUEST_ERRORS;

export function format(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => show(args[i++]));
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
  return { index, code, message: format(PACKET_ERRORS[code], args) };
}

export class GatewayError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: RequestErrorCode,
    args: readonly unknown[] = [],
    readonly retryAfterSec?: number,
    options?: { cause?: unknown },
  ) {
    super(format(REQUEST_ERRORS[code].message, args), options);
    this.name = 'GatewayError';
    this.statusCode = REQUEST_ERRORS[code].status;
  }
  /** Worth retrying later (503 and 429). */
  get retriable(): boolean {
    return this.statusCode === 503 || this.statusCode === 429;
  }
}
