// One catalogue of cabin errors with stable codes (STYLE.md "Errors"). Every error the
// allocator, the directory or the CLI raises on bad input carries one of these codes.

export const CABIN_ERRORS = {
  CABIN_BAD_OPTION: 'invalid option',
  CABIN_BAD_STATUS_FILE: 'malformed centre status file',
  CABIN_BAD_DEMAND: 'malformed demand file',
  CABIN_BAD_INSTANCE: 'malformed allocation instance',
  CABIN_BAD_GAP_FILE: 'malformed GAP file',
  CABIN_BAD_PLAN: 'malformed replica plan',
  CABIN_UNKNOWN_CENTRE: 'unknown centre',
  CABIN_NO_CENTRES: 'no centres available',
  CABIN_INFEASIBLE: 'allocation infeasible',
  CABIN_SOLVER_FAILED: 'solver failed',
  CABIN_DATA_NOT_FOUND: 'benchmark data not found',
} as const;

export type CabinErrorCode = keyof typeof CABIN_ERRORS;

export class CabinError extends Error {
  readonly code: CabinErrorCode;
  readonly details?: unknown;
  constructor(code: CabinErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'CabinError';
    this.code = code;
    if (details !== undefined) this.details = details;
  }
}

export function badOption(message: string): CabinError {
  return new CabinError('CABIN_BAD_OPTION', message);
}
