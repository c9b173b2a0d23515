// The federator's error catalogue (src/errors.ts shape): one stable code per failure, the
// HTTP status the query server answers with, whether retrying can help, and a message
// template. docs/federation.md lists the same codes; test/errors.test.ts keeps them in step.
import { defineErrors } from '../errors.ts';

const errors = defineErrors('FederationError', {
  SQL_PARSE_ERROR: { status: 400, retriable: false, message: 'SQL parse error: %s' },
  UNSUPPORTED_SQL: { status: 400, retriable: false, message: '%s' },
  MULTIPLE_STATEMENTS: { status: 400, retriable: false, message: 'only one statement is allowed per query' },
  NOT_READ_ONLY: { status: 403, retriable: false, message: 'only SELECT is allowed: %s' },
  TABLE_NOT_ALLOWED: { status: 403, retriable: false, message: 'table not allowed: %s' },
  FUNCTION_NOT_ALLOWED: { status: 403, retriable: false, message: 'function not allowed: %s' },
  UNKNOWN_COLUMN: { status: 400, retriable: false, message: 'unknown column %s' },
  INVALID_QUERY: { status: 400, retriable: false, message: '%s' },
  TOO_MANY_ROWS: { status: 422, retriable: false, message: 'result exceeds the row limit (%s)' },
  CLOUD_FAILED: { status: 502, retriable: true, message: '%s' },
  CLOUD_TIMEOUT: { status: 504, retriable: true, message: '%s' },
  BAD_REQUEST: { status: 400, retriable: false, message: 'bad request: %s' },
});

export const FEDERATION_ERRORS = errors.catalogue;

export type FederationErrorCode = keyof typeof FEDERATION_ERRORS;

export class FederationError extends errors.Base {
  /** Clouds the error is about (CLOUD_FAILED / CLOUD_TIMEOUT). */
  readonly clouds: string[] | undefined;
  constructor(code: FederationErrorCode, detail: string, options?: { cause?: unknown; clouds?: string[] }) {
    super(code, [detail], options);
    this.clouds = options?.clouds;
  }
}

export function fedError(code: FederationErrorCode, detail = ''): FederationError {
  return new FederationError(code, detail);
}
