// One catalogue of cabin errors with stable codes (src/errors.ts shape). Every error the
// allocator, the directory or the CLI raises on bad input carries one of these codes; the
// message is written where the error is raised. docs/cabin.md lists the same codes with
// their status; test/errors.test.ts keeps them in step.
import { defineErrors } from '../errors.ts';

const errors = defineErrors('CabinError', {
  CABIN_BAD_OPTION: { status: 400, retriable: false, message: '%s' },
  CABIN_BAD_STATUS_FILE: { status: 400, retriable: false, message: '%s' },
  CABIN_BAD_DEMAND: { status: 400, retriable: false, message: '%s' },
  CABIN_BAD_INSTANCE: { status: 400, retriable: false, message: '%s' },
  CABIN_BAD_GAP_FILE: { status: 400, retriable: false, message: '%s' },
  CABIN_UNKNOWN_CENTRE: { status: 404, retriable: false, message: '%s' },
  CABIN_NO_CENTRES: { status: 409, retriable: false, message: '%s' },
  CABIN_INFEASIBLE: { status: 422, retriable: false, message: '%s' },
  CABIN_SOLVER_FAILED: { status: 500, retriable: false, message: '%s' },
  CABIN_DATA_NOT_FOUND: { status: 404, retriable: false, message: '%s' },
  CABIN_APPLY_FAILED: { status: 500, retriable: true, message: '%s' },
});

export const CABIN_ERRORS = errors.catalogue;

export type CabinErrorCode = keyof typeof CABIN_ERRORS;

export class CabinError extends errors.Base {
  readonly details?: unknown;
  constructor(code: CabinErrorCode, message: string, details?: unknown) {
    super(code, [message]);
    if (details !== undefined) this.details = details;
  }
}

export function badOption(message: string): CabinError {
  return new CabinError('CABIN_BAD_OPTION', message);
}
