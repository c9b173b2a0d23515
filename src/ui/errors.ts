// The map server's own error codes (src/errors.ts shape; the federator's pass through with
// theirs). Answered as {"error": {"code", "message"}} with the status below; docs/ui.md lists
// the same codes and test/errors.test.ts keeps them in step.
import { defineErrors } from '../errors.ts';

const errors = defineErrors(
  'UiError',
  {
    UI_BAD_CELL: { status: 400, retriable: false, message: 'cell must be an H3 index in hex (15-16 hex digits), got %s' },
    UI_BAD_WINDOW: { status: 400, retriable: false, message: 'window must be a window start in unix seconds, got %s' },
    UI_BAD_HORIZON: { status: 400, retriable: false, message: 'horizon must be 15, 30 or 60 (minutes), got %s' },
    UI_NOT_FOUND: { status: 404, retriable: false, message: 'no such page or endpoint: %s' },
  },
  { show: (v) => JSON.stringify(v) },
);

export const UI_ERRORS = errors.catalogue;

export type UiErrorCode = keyof typeof UI_ERRORS;

export class UiError extends errors.Base {
  constructor(code: UiErrorCode, detail: string) {
    super(code, [detail]);
  }
}
