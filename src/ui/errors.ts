// The map server's own error codes (the federator's pass through with theirs). Answered as
// {"error": {"code", "message"}} with the status below; docs/ui.md lists them.
export const UI_ERRORS = {
  UI_BAD_CELL: { status: 400, message: (v: string) => `cell must be an H3 index in hex (15-16 hex digits), got ${JSON.stringify(v)}` },
  UI_BAD_WINDOW: { status: 400, message: (v: string) => `window must be a window start in unix seconds, got ${JSON.stringify(v)}` },
  UI_BAD_HORIZON: { status: 400, message: (v: string) => `horizon must be 15, 30 or 60 (minutes), got ${JSON.stringify(v)}` },
  UI_NOT_FOUND: { status: 404, message: (v: string) => `no such page or endpoint: ${v}` },
} as const;

export type UiErrorCode = keyof typeof UI_ERRORS;

export class UiError extends Error {
  readonly code: UiErrorCode;
  readonly statusCode: number;
  constructor(code: UiErrorCode, detail: string) {
    super(UI_ERRORS[code].message(detail));
    this.name = 'UiError';
    this.code = code;
    this.statusCode = UI_ERRORS[code].status;
  }
}
