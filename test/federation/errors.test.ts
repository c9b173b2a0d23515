// Federation errors carry code, status and the templated message; test/errors.test.ts keeps
// the catalogue and docs/federation.md in step.
import { describe, expect, it } from 'vitest';
import { FEDERATION_ERRORS, FederationError, type FederationErrorCode } from '../../src/federation/index.ts';

describe('federator error catalogue', () => {
  it('errors carry code, status and the templated message', () => {
    for (const code of Object.keys(FEDERATION_ERRORS) as FederationErrorCode[]) {
      const e = new FederationError(code, 'detail');
      expect(e.code).toBe(code);
      expect(e.statusCode).toBe(FEDERATION_ERRORS[code].status);
      expect(e.message).toBe(FEDERATION_ERRORS[code].message.replace('%s', 'detail'));
    }
  });
});
