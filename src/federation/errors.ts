// The federator's error catalogue: one stable code per failure, a message template and the
// HTTP status the query server answers with (fastify lib/errors.js style). docs/federation.md
// lists the same codes; test/federation/errors.test.ts keeps the two in step.

export const FEDERATION_ERRORS = {
  SQL_PARSE_ERROR: { status: 400, template: 'SQL parse error: %s' },
  UNSUPPORTED_SQL: { status: 400, template: '%s' },
  MULTIPLE_STATEMENTS: { status: 400, template: 'only one statement is allowed per query' },
  NOT_READ_ONLY: { status: 403, template: 'only SELECT is allowed: %s' },
  TABLE_NOT_ALLOWED: { status: 403, template: 'table not allowed: %s' },
  FUNCTION_NOT_ALLOWED: { status: 403, template: 'function not allowed: %s' },
  UNKNOWN_COLUMN: { status: 400, template: 'unknown column %s' },
  INVALID_QUERY: { status: 400, template: '%s' },
  TOO_MANY_ROWS: { status: 422, template: 'result exceeds the row limit (%s)' },
  CLOUD_FAILED: { status: 502, template: '%s' },
  CLOUD_TIMEOUT: { status: 504, template: '%s' },
  BAD_REQUEST: { status: 400, template: 'bad request: %s' },
} as const;

export type FederationErrorCode = keyof typeof FEDERATION_ERRORS;

export class FederationError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: FederationErrorCode,
    detail: string,
    options?: { cause?: unknown; clouds?: string[] },
  ) {
    super(FEDERATION_ERRORS[code].template.replace('%s', detail), options);
    this.name = 'FederationError';
    this.statusCode = FEDERATION_ERRORS[code].status;
    this.clouds = options?.clouds;
  }
  /** Clouds the error is about (CLOUD_FAILED / CLOUD_TIMEOUT). */
  readonly clouds: string[] | undefined;
}

export function fedError(code: FederationErrorCode, detail = ''): FederationError {
  return new FederationError(code, detail);
}
